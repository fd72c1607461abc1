/* SPDX-License-Identifier: ISC */
/* dyno-route: the apps' own certificates, chosen by the SNI host name. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certstore.h"
#include "diag.h"
#include "dyno-route.h"

/*
 * Bounds on what tenants can make a worker hold: every app at most
 * CERTSTORE_MAX_CERTS certificates and CERTSTORE_MAX_DOMAINS domains
 * (lib/certstore), and the whole table at most these.  A P-256 pair
 * costs a worker about 0.6 ms to load and 11 KB to keep (OpenSSL 3.0):
 * 5000 are 3 s at start and 55 MB.
 */
#define SNI_MAX_CERTS		5000
#define SNI_MAX_HOSTS		100000

/*
 * A certificate and its key, ready for SSL_use_cert_and_key(); an SSL
 * that took them holds its own references, so a reload may free these.
 */
struct sni_key {
	X509		*x;
	STACK_OF(X509)	*chain;
	EVP_PKEY	*k;
};

/* A certificate folder, loaded; kept while its folder is unchanged. */
struct sni_cert {
	char		 app[32];
	char		 name[CERTSTORE_NAME_MAX + 1];
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 ctime;
	struct sni_key	*key;
	struct certstore_cert info;
	int		 seen;
};

struct sni_ent {
	const char	*host;		/* the app's domain string */
	const struct app *app;
	struct sni_key	*key;		/* NULL: the app has none for it */
};

struct sni {
	struct sni_cert	*certs;
	size_t		 ncerts;
	struct sni_ent	*v;		/* sorted by host */
	size_t		 n, cap;
	time_t		 next;		/* a validity bound passes: reload */
};

struct sni *
sni_new(void)
{
	return calloc(1, sizeof(struct sni));
}

static void
key_free(struct sni_key *k)
{
	if (k == NULL)
		return;
	X509_free(k->x);
	sk_X509_pop_free(k->chain, X509_free);
	EVP_PKEY_free(k->k);
	free(k);
}

static void
cert_drop(struct sni_cert *c)
{
	/* Connections in flight hold their own references. */
	key_free(c->key);
	certstore_cert_free(&c->info);
}

void
sni_free(struct sni *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncerts; i++)
		cert_drop(&s->certs[i]);
	free(s->certs);
	free(s->v);
	free(s);
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The chain (leaf, then the rest) and its key, from memory; or NULL. */
static struct sni_key *
key_load(const char *chain, size_t clen, const char *key, size_t klen)
{
	struct sni_key *sk;
	X509 *x;
	BIO *b;
	int n = 0, ok = 0;

	if ((sk = calloc(1, sizeof(*sk))) == NULL ||
	    (sk->chain = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_mem_buf(chain, (int)clen)) == NULL)
		goto out;
	while (n < CERTSTORE_MAX_CHAIN &&
	    (x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
		if (n++ == 0)
			sk->x = x;
		else if (sk_X509_push(sk->chain, x) == 0) {
			X509_free(x);
			break;
		}
	}
	BIO_free(b);
	if (sk->x != NULL && (b = BIO_new_mem_buf(key, (int)klen)) != NULL) {
		sk->k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
		BIO_free(b);
		/* Checked when stored; again here, as the files are read. */
		ok = sk->k != NULL && X509_check_private_key(sk->x, sk->k) == 1;
	}
out:
	ERR_clear_error();
	if (!ok) {
		key_free(sk);
		return NULL;
	}
	return sk;
}

/* The pair of certs/NAME of app, or NULL (warned). */
static struct sni_key *
cert_key(const char *root, const char *app, const char *name,
    struct certstore_cert *info)
{
	char err[PATH_MAX + 256], *chain, *key;
	struct sni_key *sk = NULL;
	size_t clen, klen;

	if (certstore_read(root, app, name, &chain, &clen, &key, &klen, err,
	    sizeof(err)) == -1) {
		diag_warn("%s", err);
		return NULL;
	}
	if (certstore_leaf_parse(chain, clen, info, err, sizeof(err)) == -1)
		diag_warn("app %s certificate %s: %s", app, name, err);
	else if ((sk = key_load(chain, clen, key, klen)) == NULL) {
		diag_warn("app %s certificate %s: unusable chain or key",
		    app, name);
		certstore_cert_free(info);
	}
	explicit_bzero(key, klen);
	free(key);
	free(chain);
	return sk;
}

/* The cached context of the folder, if its inode and ctime still match. */
static struct sni_cert *
cert_find(struct sni *s, const char *app, const char *name,
    const struct stat *st)
{
	size_t i;

	for (i = 0; i < s->ncerts; i++) {
		struct sni_cert *c = &s->certs[i];
		if (strcmp(c->app, app) == 0 && strcmp(c->name, name) == 0 &&
		    c->dev == st->st_dev && c->ino == st->st_ino &&
		    c->ctime.tv_sec == st->st_ctim.tv_sec &&
		    c->ctime.tv_nsec == st->st_ctim.tv_nsec)
			return c;
	}
	return NULL;
}

static void
cert_add(struct sni *s, const char *root, const char *app, const char *name,
    const struct stat *st)
{
	struct sni_cert *c, *nv;

	if ((c = cert_find(s, app, name, st)) != NULL) {
		c->seen = 1;
		return;
	}
	if (s->ncerts >= SNI_MAX_CERTS) {
		diag_warn_ratelimited(0, 60000, "more than %d certificates: "
		    "the rest are not served", SNI_MAX_CERTS);
		return;
	}
	if ((nv = reallocarray(s->certs, s->ncerts + 1, sizeof(*nv))) == NULL)
		return;
	s->certs = nv;
	c = &s->certs[s->ncerts];
	memset(c, 0, sizeof(*c));
	if ((c->key = cert_key(root, app, name, &c->info)) == NULL)
		return;
	snprintf(c->app, sizeof(c->app), "%s", app);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	c->ctime = st->st_ctim;
	c->seen = 1;
	s->ncerts++;
}

/* Every certificate folder of app, made or kept. */
static void
app_certs(struct sni *s, const char *root, const char *app)
{
	char err[PATH_MAX + 256], dir[PATH_MAX], path[PATH_MAX], **names;
	struct stat st;
	size_t n, i;

	if (certstore_list(root, app, &names, &n, err, sizeof(err)) == -1) {
		diag_warn("%s", err);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/apps/%s/%s", root, app,
	    CERTSTORE_CERTS_DIR);
	for (i = 0; i < n; i++) {
		if (i < CERTSTORE_MAX_CERTS && snprintf(path, sizeof(path),
		    "%s/%s", dir, names[i]) < (int)sizeof(path) &&
		    lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			cert_add(s, root, app, names[i], &st);
		free(names[i]);
	}
	free(names);
}

/* Drop the contexts whose folders are gone or replaced. */
static void
certs_sweep(struct sni *s)
{
	size_t i, j;

	for (i = j = 0; i < s->ncerts; i++) {
		if (!s->certs[i].seen) {
			cert_drop(&s->certs[i]);
			continue;
		}
		s->certs[i].seen = 0;
		s->certs[j++] = s->certs[i];
	}
	s->ncerts = j;
}

static int
ent_cmp(const void *x, const void *y)
{
	const struct sni_ent *a = x, *b = y;
	int c = strcmp(a->host, b->host);

	if (c != 0)
		return c;
	return (a->app > b->app) - (a->app < b->app);
}

static int
cert_cmp(const void *x, const void *y)
{
	const struct sni_cert *a = x, *b = y;
	int c = strcmp(a->app, b->app);

	return c != 0 ? c : strcmp(a->name, b->name);
}

/* The app's certificates: a run of s->certs (sorted by app). */
static size_t
app_range(struct sni *s, const char *app, size_t *first)
{
	size_t lo = 0, hi = s->ncerts, mid, n = 0;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(s->certs[mid].app, app) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < s->ncerts && strcmp(s->certs[lo + n].app, app) == 0)
		n++;
	return n;
}

static int
ent_push(struct sni *s, const char *host, const struct app *app,
    struct sni_key *key)
{
	struct sni_ent *nv;

	if (s->n == s->cap) {
		if (s->cap >= SNI_MAX_HOSTS || (nv = reallocarray(s->v,
		    s->cap + 1024, sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap += 1024;
	}
	s->v[s->n].host = host;
	s->v[s->n].app = app;
	s->v[s->n++].key = key;
	return 0;
}

/*
 * Each domain of the app with the app's own certificate for it, by
 * certstore_pick; a domain with none is listed too (key NULL), so that no
 * other app's wildcard certificate ever answers for it.
 */
static void
app_entries(struct sni *s, const struct app *app, time_t now)
{
	struct certstore_cert *v;
	size_t first, n, i;
	int k;

	n = app_range(s, app->name, &first);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = s->certs[first + i].info;	/* a shallow view */
	for (i = 0; i < app->domains.n; i++) {
		k = certstore_pick(v, n, app->domains.v[i], now);
		if (ent_push(s, app->domains.v[i], app, k >= 0 ?
		    s->certs[first + (size_t)k].key : NULL) == -1) {
			diag_warn_ratelimited(2, 60000, "more than %d "
			    "domains: the rest get the default certificate",
			    SNI_MAX_HOSTS);
			break;
		}
	}
	free(v);
}

/* Host names listed by two apps belong to neither: drop every copy. */
static void
drop_shared(struct sni *s)
{
	size_t i, j, k;

	for (i = k = 0; i < s->n; i = j) {
		for (j = i + 1; j < s->n &&
		    strcmp(s->v[j].host, s->v[i].host) == 0; j++)
			;
		if (j - i > 1) {
			diag_warn_ratelimited(1, 60000, "%s: a domain of both "
			    "%s and %s: served by neither", s->v[i].host,
			    s->v[i].app->name, s->v[i + 1].app->name);
			continue;
		}
		s->v[k++] = s->v[i];
	}
	s->n = k;
}

/* The first not_before or not_after still to come: the pick may change. */
static time_t
next_bound(const struct sni *s, time_t now)
{
	time_t next = 0, t;
	size_t i;
	int k;

	for (i = 0; i < s->ncerts; i++)
		for (k = 0; k < 2; k++) {
			t = k ? s->certs[i].info.not_after :
			    s->certs[i].info.not_before;
			if (t > now && (next == 0 || t < next))
				next = t;
		}
	return next;
}

void
sni_reload(struct sni *s, struct apps *a, const char *root)
{
	struct app **apps;
	time_t now = time(NULL);
	size_t napps, i;

	apps = apps_list(a, &napps);
	for (i = 0; i < napps; i++)
		if (apps[i]->present)
			app_certs(s, root, apps[i]->name);
	certs_sweep(s);
	if (s->ncerts > 0)
		qsort(s->certs, s->ncerts, sizeof(*s->certs), cert_cmp);
	s->n = 0;
	for (i = 0; i < napps; i++)
		if (apps[i]->present)
			app_entries(s, apps[i], now);
	if (s->n > 0)
		qsort(s->v, s->n, sizeof(*s->v), ent_cmp);
	drop_shared(s);
	s->next = next_bound(s, now);
}

int
sni_due(const struct sni *s, time_t now)
{
	return s->next != 0 && now >= s->next;
}

static struct sni_ent *
find(struct sni *s, const char *host)
{
	struct sni_ent key = { host, NULL, NULL };
	size_t lo = 0, hi = s->n, mid;
	int c;

	/* The first entry for host (ent_cmp also orders by app). */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(s->v[mid].host, key.host)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && strcmp(s->v[lo].host, host) == 0 ? &s->v[lo] :
	    NULL;
}

/* The entry of an SNI host name: exact, then a "*." domain; or NULL. */
static struct sni_ent *
lookup(struct sni *s, const char *name)
{
	char host[CERTSTORE_DOMAIN_MAX + 3];
	struct sni_ent *e;
	const char *dot;
	size_t i, n = strlen(name);

	if (n == 0 || n > CERTSTORE_DOMAIN_MAX + 1)
		return NULL;
	if (name[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		host[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] - 'A' + 'a' : name[i]);
	host[n] = '\0';
	if ((e = find(s, host)) != NULL)
		return e;
	/* A wildcard domain stands for exactly one more label. */
	if ((dot = strchr(host, '.')) == NULL || dot == host)
		return NULL;
	host[0] = '*';
	memmove(host + 1, dot, strlen(dot) + 1);
	return find(s, host);
}

int
sni_use(struct sni *s, void *ssl, const char *name)
{
	struct sni_ent *e;
	struct sni_key *k;

	if (s == NULL || (e = lookup(s, name)) == NULL)
		return -1;
	if ((k = e->key) == NULL)
		return 0;
	/*
	 * Only this certificate: the default one, loaded from the context,
	 * must not stay beside it for OpenSSL to choose by key type.
	 */
	SSL_certs_clear(ssl);
	if (SSL_use_cert_and_key(ssl, k->x, k->k, k->chain, 1) != 1) {
		ERR_clear_error();
		return -2;
	}
	return 1;
}
