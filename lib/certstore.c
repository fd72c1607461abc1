/* SPDX-License-Identifier: ISC */
/* An app's custom domains and TLS certificates: checks, atomic store, reads. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "certstore.h"
#include "names.h"
#include "state.h"

/* The domains file: names of 253 bytes and a newline each. */
#define DOMAINS_FILE_MAX	(CERTSTORE_MAX_DOMAINS * (CERTSTORE_DOMAIN_MAX + 1))

/* One label of a host name: [a-z0-9-]{1,63}, no dash at either end. */
static const char *
check_label(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return "has an empty label";
	if (n > 63)
		return "has a label over 63 characters";
	if (p[0] == '-' || p[n - 1] == '-')
		return "has a label starting or ending with '-'";
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)p[i]) && isascii(p[i])) &&
		    !isdigit((unsigned char)p[i]) && p[i] != '-')
			return "may hold only a-z, 0-9, '-', '.' and a leading "
			    "'*.'";
	return NULL;
}

const char *
certstore_check_domain(const char *name)
{
	const char *p = name, *dot, *why;
	size_t len = strlen(name), labels = 0;

	if (len == 0)
		return "is empty";
	if (len > CERTSTORE_DOMAIN_MAX)
		return "is longer than 253 characters";
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	for (;;) {
		dot = strchr(p, '.');
		if ((why = check_label(p, dot ? (size_t)(dot - p) :
		    strlen(p))) != NULL)
			return strchr(p, '*') ? "may have a wildcard only as "
			    "its whole first label" : why;
		labels++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (labels < 2)
		return "needs at least two labels (example.com)";
	return NULL;
}

const char *
certstore_check_name(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CERTSTORE_NAME_MAX)
		return "must be 1 to 255 characters";
	if (!isalnum((unsigned char)name[0]) || !isascii(name[0]))
		return "must start with a letter or digit";
	for (i = 0; i < len; i++)
		if (!((islower((unsigned char)name[i]) ||
		    isdigit((unsigned char)name[i])) && isascii(name[i])) &&
		    strchr("._-", name[i]) == NULL)
			return "may hold only a-z, 0-9, '.', '_' and '-'";
	return NULL;
}

int
certstore_covers(const char *pattern, const char *host)
{
	const char *dot;

	if (strcasecmp(pattern, host) == 0)
		return 1;
	/* "*.b.c" stands for one label: "a.b.c", never "b.c" or "x.a.b.c". */
	if (strncmp(pattern, "*.", 2) != 0 || host[0] == '*' ||
	    (dot = strchr(host, '.')) == NULL || dot == host)
		return 0;
	return strcasecmp(pattern + 1, dot) == 0;
}

/* ---- the app's folder ---- */

static int
app_dir(const char *root, const char *app, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *why;
	int fd;

	if ((why = names_check_app(app)) != NULL) {
		snprintf(err, errlen, "%s: %s", app, why);
		errno = EINVAL;
		return -1;
	}
	if (state_pathf(path, sizeof(path), "%s/apps/%s", root, app) == -1 ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, errno == ENOENT ? "%s: no such app" :
		    "%s: %s", errno == ENOENT ? app : path, strerror(errno));
		return -1;
	}
	return fd;
}

static int
lock_root(const char *root, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if (state_pathf(path, sizeof(path), "%s/%s", root,
	    CERTSTORE_LOCK_FILE) == -1 || (fd = state_lock(path, 1)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", root, CERTSTORE_LOCK_FILE,
		    strerror(errno));
		return -1;
	}
	return fd;
}

/* ---- domains ---- */

void
certstore_domains_free(struct certstore_domains *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

static int
domains_push(struct certstore_domains *d, const char *name)
{
	char **nv, *s;

	if ((s = strdup(name)) == NULL ||
	    (nv = reallocarray(d->v, d->n + 1, sizeof(*nv))) == NULL) {
		free(s);
		return -1;
	}
	d->v = nv;
	d->v[d->n++] = s;
	return 0;
}

/* The domains file of the app folder afd; bad and duplicate lines skipped. */
static int
domains_read_fd(int afd, struct certstore_domains *d)
{
	char *text, *line, *save;
	size_t i;

	d->v = NULL;
	d->n = 0;
	if (beneath_read(afd, CERTSTORE_DOMAINS_FILE, DOMAINS_FILE_MAX, &text,
	    NULL) == -1)
		return errno == ENOENT ? 0 : -1;
	for (line = strtok_r(text, "\n", &save); line != NULL &&
	    d->n < CERTSTORE_MAX_DOMAINS; line = strtok_r(NULL, "\n", &save)) {
		if (certstore_check_domain(line) != NULL)
			continue;
		for (i = 0; i < d->n && strcmp(d->v[i], line) != 0; i++)
			;
		if (i == d->n && domains_push(d, line) == -1) {
			free(text);
			certstore_domains_free(d);
			return -1;
		}
	}
	free(text);
	return 0;
}

int
certstore_domains_read(const char *root, const char *app,
    struct certstore_domains *d, char *err, size_t errlen)
{
	int afd, rc;

	d->v = NULL;
	d->n = 0;
	if ((afd = app_dir(root, app, err, errlen)) == -1)
		return -1;
	if ((rc = domains_read_fd(afd, d)) == -1)
		snprintf(err, errlen, "%s/apps/%s/%s: %s", root, app,
		    CERTSTORE_DOMAINS_FILE, beneath_strerror(errno));
	close(afd);
	return rc;
}

static int
domains_write(const char *root, const char *app,
    const struct certstore_domains *d, char *err, size_t errlen)
{
	char path[PATH_MAX], *text;
	size_t i, len = 0;
	int rc;

	if ((text = malloc(d->n * (CERTSTORE_DOMAIN_MAX + 1) + 1)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < d->n; i++)
		len += (size_t)sprintf(text + len, "%s\n", d->v[i]);
	if ((rc = state_pathf(path, sizeof(path), "%s/apps/%s/%s", root, app,
	    CERTSTORE_DOMAINS_FILE)) == 0)
		rc = state_replace(path, text, len, 0644, STATE_FSYNC);
	if (rc == -1)
		snprintf(err, errlen, "%s/apps/%s/%s: %s", root, app,
		    CERTSTORE_DOMAINS_FILE, strerror(errno));
	free(text);
	return rc;
}

/* Which app lists name; the caller holds the lock when it must be sure. */
static int
owner_scan(const char *root, const char *name, const char *skip, char *app,
    size_t applen, char *err, size_t errlen)
{
	struct certstore_domains d;
	char path[PATH_MAX], e[64];
	struct dirent *de;
	int found = 0, afd;
	size_t i;
	DIR *dir;

	if (state_pathf(path, sizeof(path), "%s/apps", root) == -1 ||
	    (dir = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s/apps: %s", root, strerror(errno));
		return -1;
	}
	while (!found && (de = readdir(dir)) != NULL) {
		if (names_check_app(de->d_name) != NULL ||
		    (skip != NULL && strcmp(de->d_name, skip) == 0) ||
		    (afd = app_dir(root, de->d_name, e, sizeof(e))) == -1)
			continue;
		if (domains_read_fd(afd, &d) == 0) {
			for (i = 0; i < d.n && !found; i++)
				found = strcmp(d.v[i], name) == 0;
			certstore_domains_free(&d);
		}
		close(afd);
		if (found)
			snprintf(app, applen, "%s", de->d_name);
	}
	closedir(dir);
	return found;
}

int
certstore_domain_owner(const char *root, const char *name, char *app,
    size_t applen, char *err, size_t errlen)
{
	return owner_scan(root, name, NULL, app, applen, err, errlen);
}

/* name lower-cased into out and checked. */
static int
domain_norm(const char *name, char *out, size_t size, char *err,
    size_t errlen)
{
	const char *why;
	size_t i, n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;	/* "example.com." is the same name */
	if (n >= size) {
		snprintf(err, errlen, "%.64s...: is longer than 253 characters",
		    name);
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
	if ((why = certstore_check_domain(out)) != NULL) {
		snprintf(err, errlen, "%s: %s", out, why);
		return -1;
	}
	return 0;
}

static int
domain_add_locked(const char *root, const char *app, const char *dom,
    char *owner, size_t ownerlen, char *err, size_t errlen)
{
	struct certstore_domains d;
	char other[64];
	size_t i;
	int afd, rc;

	if ((afd = app_dir(root, app, err, errlen)) == -1)
		return -1;
	rc = domains_read_fd(afd, &d);
	close(afd);
	if (rc == -1) {
		snprintf(err, errlen, "%s/apps/%s/%s: %s", root, app,
		    CERTSTORE_DOMAINS_FILE, beneath_strerror(errno));
		return -1;
	}
	for (i = 0; i < d.n; i++)
		if (strcmp(d.v[i], dom) == 0) {
			certstore_domains_free(&d);
			return 1;
		}
	if ((rc = owner_scan(root, dom, app, other, sizeof(other), err,
	    errlen)) == 1) {
		snprintf(err, errlen, "%s: already added to app %s", dom, other);
		if (owner != NULL)
			snprintf(owner, ownerlen, "%s", other);
		errno = EEXIST;
		rc = -1;
	} else if (rc == 0 && d.n >= CERTSTORE_MAX_DOMAINS) {
		snprintf(err, errlen, "%s: app %s has %d domains, the most "
		    "allowed", dom, app, CERTSTORE_MAX_DOMAINS);
		errno = ENOSPC;
		rc = -1;
	} else if (rc == 0) {
		if ((rc = domains_push(&d, dom)) == -1)
			snprintf(err, errlen, "%s", strerror(errno));
		else
			rc = domains_write(root, app, &d, err, errlen);
	}
	certstore_domains_free(&d);
	return rc;
}

int
certstore_domain_add(const char *root, const char *app, const char *name,
    char *owner, size_t ownerlen, char *err, size_t errlen)
{
	char dom[CERTSTORE_DOMAIN_MAX + 1];
	int lfd, rc;

	if (domain_norm(name, dom, sizeof(dom), err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((lfd = lock_root(root, err, errlen)) == -1)
		return -1;
	rc = domain_add_locked(root, app, dom, owner, ownerlen, err, errlen);
	close(lfd);
	return rc;
}

int
certstore_domain_remove(const char *root, const char *app, const char *name,
    char *err, size_t errlen)
{
	struct certstore_domains d;
	char dom[CERTSTORE_DOMAIN_MAX + 1];
	size_t i, j;
	int lfd, rc;

	if (domain_norm(name, dom, sizeof(dom), err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((lfd = lock_root(root, err, errlen)) == -1)
		return -1;
	if ((rc = certstore_domains_read(root, app, &d, err, errlen)) == 0) {
		for (i = j = 0; i < d.n; i++)
			if (strcmp(d.v[i], dom) == 0)
				free(d.v[i]);
			else
				d.v[j++] = d.v[i];
		rc = j == d.n ? 1 : 0;
		d.n = j;
		if (rc == 0)
			rc = domains_write(root, app, &d, err, errlen);
		certstore_domains_free(&d);
	}
	close(lfd);
	return rc;
}

/* ---- certificates: parsing and checks ---- */

void
certstore_cert_free(struct certstore_cert *c)
{
	size_t i;

	for (i = 0; i < c->nsans; i++)
		free(c->sans[i]);
	c->nsans = 0;
}

static void
ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0 || ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		snprintf(buf, size, "no PEM data found");
	else
		snprintf(buf, size, "%s", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "unreadable");
	ERR_clear_error();
}

/* A password prompt would read the terminal: encrypted keys are refused. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void
add_san(struct certstore_cert *c, const char *p, int len)
{
	char *s;

	int i;

	/*
	 * A DNS name is printable ASCII; one with a NUL (a forged SAN) or a
	 * control character (a terminal escape for dyno-certs' table) is no
	 * name at all.
	 */
	if (len <= 0 || len > CERTSTORE_DOMAIN_MAX ||
	    c->nsans == CERTSTORE_MAX_SANS)
		return;
	for (i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return;
	if ((s = strndup(p, (size_t)len)) != NULL)
		c->sans[c->nsans++] = s;
}

/* DNS SANs, else (no SAN extension at all) the subject's CN. */
static void
leaf_names(X509 *x, struct certstore_cert *c)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	X509_NAME_ENTRY *ne;
	ASN1_STRING *s;
	int i, idx;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) != NULL) {
		for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			g = sk_GENERAL_NAME_value(gens, i);
			if (g->type == GEN_DNS)
				add_san(c, (const char *)ASN1_STRING_get0_data(
				    g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
		}
		GENERAL_NAMES_free(gens);
		return;
	}
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x),
	    NID_commonName, -1);
	if (idx >= 0 && (ne = X509_NAME_get_entry(X509_get_subject_name(x),
	    idx)) != NULL && (s = X509_NAME_ENTRY_get_data(ne)) != NULL)
		add_san(c, (const char *)ASN1_STRING_get0_data(s),
		    ASN1_STRING_length(s));
}

static void
name_line(X509_NAME *n, char *buf, size_t size, int cn_only)
{
	BIO *b;
	int len, idx;

	buf[0] = '\0';
	if (cn_only && (idx = X509_NAME_get_text_by_NID(n, NID_commonName,
	    buf, (int)size)) > 0)
		return;
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_read(b, buf, (int)size - 1);
	buf[len > 0 ? len : 0] = '\0';
	BIO_free(b);
}

/* Control characters of a tenant's names become '?': they get printed. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

static void
leaf_info(X509 *x, const char *name, struct certstore_cert *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	name_line(X509_get_subject_name(x), c->subject, sizeof(c->subject), 0);
	name_line(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer), 1);
	printable(c->subject);
	printable(c->issuer);
	c->not_before = asn1_time(X509_get0_notBefore(x));
	c->not_after = asn1_time(X509_get0_notAfter(x));
	c->self_signed = X509_check_issued(x, x) == X509_V_OK;
	leaf_names(x, c);
}

/* Up to max certificates of a PEM text, in order.  Count, or -1 with err. */
static int
chain_parse(const char *pem, size_t len, X509 **v, int max, char *err,
    size_t errlen)
{
	unsigned long e;
	X509 *x;
	BIO *b;
	int n = 0;

	if (len > CERTSTORE_PEM_MAX) {
		snprintf(err, errlen, "the chain is over %d bytes",
		    CERTSTORE_PEM_MAX);
		return -1;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
		if (n == max) {
			X509_free(x);
			snprintf(err, errlen, "the chain has more than %d "
			    "certificates", max);
			goto bad;
		}
		v[n++] = x;
	}
	/* The end of the text is "no start line"; anything else is broken. */
	e = ERR_peek_last_error();
	if (e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		snprintf(err, errlen, "certificate %d of the chain is "
		    "unreadable: %s", n + 1, ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "bad PEM");
		goto bad;
	}
	if (n == 0) {
		snprintf(err, errlen, "the chain holds no PEM certificate");
		goto bad;
	}
	ERR_clear_error();
	BIO_free(b);
	return n;
bad:
	ERR_clear_error();
	while (n > 0)
		X509_free(v[--n]);
	BIO_free(b);
	return -1;
}

static EVP_PKEY *
key_parse(const char *pem, size_t len, char *err, size_t errlen)
{
	char why[128];
	EVP_PKEY *k;
	BIO *b;

	if (len > CERTSTORE_PEM_MAX) {
		snprintf(err, errlen, "the key is over %d bytes",
		    CERTSTORE_PEM_MAX);
		return NULL;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL)) == NULL) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "the key is no unencrypted PEM private "
		    "key: %s", why);
	}
	BIO_free(b);
	return k;
}

int
certstore_leaf_parse(const char *pem, size_t len, struct certstore_cert *info,
    char *err, size_t errlen)
{
	char why[128];
	X509 *x;
	BIO *b;

	memset(info, 0, sizeof(*info));
	if (len > CERTSTORE_PEM_MAX) {
		snprintf(err, errlen, "the chain is over %d bytes",
		    CERTSTORE_PEM_MAX);
		return -1;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ERR_clear_error();
	x = PEM_read_bio_X509(b, NULL, no_password, NULL);
	BIO_free(b);
	if (x == NULL) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "the chain's first certificate is "
		    "unreadable: %s", why);
		return -1;
	}
	leaf_info(x, "", info);
	X509_free(x);
	return 0;
}

/* 2 exact, 1 by a wildcard, 0 not covered. */
static int
cover_rank(const struct certstore_cert *c, const char *host)
{
	int best = 0;
	size_t i;

	for (i = 0; i < c->nsans && best < 2; i++)
		if (certstore_covers(c->sans[i], host))
			best = strcasecmp(c->sans[i], host) == 0 ? 2 : 1;
	return best;
}

int
certstore_pick(const struct certstore_cert *v, size_t n, const char *host,
    time_t now)
{
	int best = -1, bscore = 0, score, rank;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((rank = cover_rank(&v[i], host)) == 0)
			continue;
		score = (v[i].not_before <= now && now < v[i].not_after) * 4 +
		    rank;
		if (best == -1 || score > bscore || (score == bscore &&
		    v[i].not_after > v[best].not_after)) {
			best = (int)i;
			bscore = score;
		}
	}
	return best;
}

static void
fmt_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Every certificate valid at now; each issued by the next. */
static int
chain_check(X509 **v, int n, time_t now, char *err, size_t errlen)
{
	char when[64];
	int i;

	for (i = 0; i < n; i++) {
		if (X509_cmp_time(X509_get0_notAfter(v[i]), &now) <= 0) {
			fmt_time(asn1_time(X509_get0_notAfter(v[i])), when,
			    sizeof(when));
			snprintf(err, errlen, "certificate %d of the chain "
			    "expired on %s", i + 1, when);
			return -1;
		}
		if (X509_cmp_time(X509_get0_notBefore(v[i]), &now) > 0) {
			fmt_time(asn1_time(X509_get0_notBefore(v[i])), when,
			    sizeof(when));
			snprintf(err, errlen, "certificate %d of the chain is "
			    "not valid before %s", i + 1, when);
			return -1;
		}
		if (i + 1 < n && X509_check_issued(v[i + 1], v[i]) !=
		    X509_V_OK) {
			snprintf(err, errlen, "chain out of order: certificate "
			    "%d did not issue certificate %d (leaf first, then "
			    "each issuer)", i + 2, i + 1);
			return -1;
		}
	}
	return 0;
}

/* Append s to a malloc'd comma list. */
static int
list_add(char **list, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *nl;

	if ((nl = realloc(*list, *len + n + 3)) == NULL)
		return -1;
	*len += (size_t)sprintf(nl + *len, "%s%s", *len ? ", " : "", s);
	*list = nl;
	return 0;
}

/* Which of the app's domains the leaf's names cover; -1 with err if none. */
static int
cover_check(const struct certstore_domains *d, const struct certstore_cert *c,
    const char *app, char **uncovered, char *err, size_t errlen)
{
	char *miss = NULL, *names = NULL;
	size_t i, j, nmiss = 0, nnames = 0, covered = 0;
	int rc = 0;

	for (i = 0; i < d->n; i++) {
		for (j = 0; j < c->nsans; j++)
			if (certstore_covers(c->sans[j], d->v[i]))
				break;
		if (j < c->nsans)
			covered++;
		else if (list_add(&miss, &nmiss, d->v[i]) == -1)
			rc = -1;
	}
	if (covered == 0) {
		for (j = 0; j < c->nsans && j < 8; j++)
			(void)list_add(&names, &nnames, c->sans[j]);
		snprintf(err, errlen, "the certificate's names (%s) cover none "
		    "of app %s's domains (%.200s%s)", names ? names : "none",
		    app, d->n ? miss : "none: add one with dyno-domains",
		    miss && strlen(miss) > 200 ? ", ..." : "");
		rc = -1;
	}
	free(names);
	if (rc == 0 && uncovered != NULL)
		*uncovered = miss != NULL ? miss : strdup("");
	else
		free(miss);
	return rc;
}

/* The key is the leaf's; when it is another one's, the order is wrong. */
static int
key_check(X509 **v, int n, EVP_PKEY *k, char *err, size_t errlen)
{
	int i;

	if (X509_check_private_key(v[0], k) == 1)
		return 0;
	for (i = 1; i < n; i++)
		if (X509_check_private_key(v[i], k) == 1)
			break;
	ERR_clear_error();
	if (i < n)
		snprintf(err, errlen, "chain out of order: the key is "
		    "certificate %d's; the leaf comes first, then each "
		    "issuer", i + 1);
	else
		snprintf(err, errlen, "the key does not match the certificate "
		    "(the first of the chain)");
	return -1;
}

int
certstore_check(const char *root, const char *app, const char *chain_pem,
    size_t chainlen, const char *key_pem, size_t keylen, time_t now,
    struct certstore_cert *info, char **uncovered, char *err, size_t errlen)
{
	struct certstore_domains d = { NULL, 0 };
	struct certstore_cert c;
	X509 *v[CERTSTORE_MAX_CHAIN];
	EVP_PKEY *k = NULL;
	int n, rc = -1;

	memset(&c, 0, sizeof(c));
	if ((n = chain_parse(chain_pem, chainlen, v, CERTSTORE_MAX_CHAIN, err,
	    errlen)) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((k = key_parse(key_pem, keylen, err, errlen)) == NULL)
		goto out;
	if (key_check(v, n, k, err, errlen) == -1 ||
	    chain_check(v, n, now, err, errlen) == -1)
		goto out;
	if (certstore_domains_read(root, app, &d, err, errlen) == -1)
		goto sys;
	leaf_info(v[0], "", &c);
	if (cover_check(&d, &c, app, uncovered, err, errlen) == -1)
		goto out;
	rc = 0;
	goto sys;
out:
	errno = EINVAL;
sys:
	if (rc == 0 && info != NULL)
		*info = c;
	else
		certstore_cert_free(&c);
	certstore_domains_free(&d);
	EVP_PKEY_free(k);
	while (n > 0)
		X509_free(v[--n]);
	return rc;
}

/* ---- certificates: the store ---- */

/* Write a whole file beneath dfd, synced. */
static int
write_at(int dfd, const char *name, const char *data, size_t len,
    mode_t mode)
{
	ssize_t w;
	int fd;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return -1;
	while (len > 0) {
		if ((w = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto bad;
		}
		data += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto bad;
	return close(fd);
bad:
	w = errno;
	close(fd);
	errno = (int)w;
	return -1;
}

/* Count the certificate folders of certs/ (temp folders not counted). */
static int
count_certs(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		n += certstore_check_name(de->d_name) == NULL;
	closedir(d);
	return n;
}

/*
 * Remove the temp folders a crashed add or remove left in certs/: called
 * under the store's lock, so none of them is in use.
 */
static void
sweep_temps(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".tmp-", 5) != 0 ||
		    state_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == -1)
			continue;
		(void)state_remove_tree(path);
	}
	closedir(d);
}

/* The pair into a fresh temp folder tmp inside certs. */
static int
write_temp(const char *certs, char *tmp, size_t tmplen, const char *chain,
    size_t chainlen, const char *key, size_t keylen)
{
	uint32_t r = 0;
	int dfd, rc = -1;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == -1)
		r = (uint32_t)time(NULL);
	if (state_pathf(tmp, tmplen, "%s/.tmp-%ld-%08x", certs, (long)getpid(),
	    r) == -1 || mkdir(tmp, 0755) == -1)
		return -1;
	if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1 &&
	    write_at(dfd, CERTSTORE_CHAIN_FILE, chain, chainlen, 0644) == 0 &&
	    write_at(dfd, CERTSTORE_KEY_FILE, key, keylen, 0600) == 0 &&
	    fsync(dfd) == 0)
		rc = 0;
	if (dfd != -1)
		close(dfd);
	if (rc == -1) {
		int e = errno;
		(void)state_remove_tree(tmp);
		errno = e;
	}
	return rc;
}

/*
 * tmp becomes certs/NAME in one step: renamed when new, else exchanged
 * with the old folder (RENAME_EXCHANGE), which is then removed.  A reader
 * sees the old pair or the new one.
 */
static int
swap_in(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST ||
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == -1)
		return -1;
	(void)state_remove_tree(tmp);
	return 0;
}

static int
install_locked(const char *root, const char *app, const char *name,
    const char *chain, size_t chainlen, const char *key, size_t keylen,
    char *err, size_t errlen)
{
	char certs[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int n;

	if (state_pathf(certs, sizeof(certs), "%s/apps/%s/%s", root, app,
	    CERTSTORE_CERTS_DIR) == -1 ||
	    state_pathf(path, sizeof(path), "%s/%s", certs, name) == -1) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	sweep_temps(certs);
	if (lstat(path, &st) == -1 && (n = count_certs(certs)) >= 0 &&
	    n >= CERTSTORE_MAX_CERTS) {
		snprintf(err, errlen, "app %s has %d certificates, the most "
		    "allowed", app, n);
		errno = ENOSPC;
		return -1;
	}
	if ((mkdir(certs, 0755) == -1 && errno != EEXIST) ||
	    write_temp(certs, tmp, sizeof(tmp), chain, chainlen, key,
	    keylen) == -1 || swap_in(tmp, path) == -1 ||
	    state_fsync_dir(certs) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
certstore_install(const char *root, const char *app, const char *name,
    const char *chain_pem, size_t chainlen, const char *key_pem,
    size_t keylen, char *err, size_t errlen)
{
	const char *why;
	int lfd, rc;

	if ((why = certstore_check_name(name)) != NULL) {
		snprintf(err, errlen, "%s: %s", name, why);
		errno = EINVAL;
		return -1;
	}
	if (certstore_check(root, app, chain_pem, chainlen, key_pem, keylen,
	    time(NULL), NULL, NULL, err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((lfd = lock_root(root, err, errlen)) == -1)
		return -1;
	rc = install_locked(root, app, name, chain_pem, chainlen, key_pem,
	    keylen, err, errlen);
	close(lfd);
	return rc;
}

int
certstore_remove(const char *root, const char *app, const char *name,
    char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *why;
	int lfd, afd, rc = 0;

	if ((why = certstore_check_name(name)) != NULL) {
		snprintf(err, errlen, "%s: %s", name, why);
		errno = EINVAL;
		return -1;
	}
	if ((afd = app_dir(root, app, err, errlen)) == -1)
		return -1;
	close(afd);
	if ((lfd = lock_root(root, err, errlen)) == -1)
		return -1;
	/* Out of the readers' sight in one rename, then removed. */
	if (state_pathf(path, sizeof(path), "%s/apps/%s/%s/%s", root, app,
	    CERTSTORE_CERTS_DIR, name) == -1 ||
	    state_pathf(tmp, sizeof(tmp), "%s/apps/%s/%s/.tmp-rm-%ld", root,
	    app, CERTSTORE_CERTS_DIR, (long)getpid()) == -1 ||
	    rename(path, tmp) == -1) {
		rc = errno == ENOENT ? 1 : -1;
		if (rc == -1)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else
		(void)state_remove_tree(tmp);
	if (rc != -1 && state_pathf(path, sizeof(path), "%s/apps/%s/%s", root,
	    app, CERTSTORE_CERTS_DIR) == 0)
		sweep_temps(path);
	close(lfd);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
certstore_list(const char *root, const char *app, char ***names, size_t *n,
    char *err, size_t errlen)
{
	char path[PATH_MAX], **v = NULL, **nv;
	struct dirent *de;
	size_t k = 0;
	DIR *d;
	int afd, dfd;

	*names = NULL;
	*n = 0;
	if ((afd = app_dir(root, app, err, errlen)) == -1)
		return -1;
	dfd = beneath_open(afd, CERTSTORE_CERTS_DIR, O_RDONLY | O_DIRECTORY);
	close(afd);
	snprintf(path, sizeof(path), "%s/apps/%s/%s", root, app,
	    CERTSTORE_CERTS_DIR);
	if (dfd == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, beneath_strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && k < CERTSTORE_MAX_CERTS * 2) {
		if (certstore_check_name(de->d_name) != NULL)
			continue;
		if ((nv = reallocarray(v, k + 1, sizeof(*v))) == NULL ||
		    (nv[k] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				v = nv;
			break;
		}
		v = nv;
		k++;
	}
	closedir(d);
	if (k > 0)
		qsort(v, k, sizeof(*v), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

int
certstore_read(const char *root, const char *app, const char *name,
    char **chain, size_t *chainlen, char **key, size_t *keylen, char *err,
    size_t errlen)
{
	char sub[CERTSTORE_NAME_MAX + 8];
	const char *why;
	int afd, cfd = -1, rc = -1, e;

	*chain = NULL;
	if (key != NULL)
		*key = NULL;
	if ((why = certstore_check_name(name)) != NULL) {
		snprintf(err, errlen, "%s: %s", name, why);
		errno = EINVAL;
		return -1;
	}
	if ((afd = app_dir(root, app, err, errlen)) == -1)
		return -1;
	snprintf(sub, sizeof(sub), "%s/%s", CERTSTORE_CERTS_DIR, name);
	/* One folder fd: the chain and the key of the same install. */
	if ((cfd = beneath_open(afd, sub, O_RDONLY | O_DIRECTORY)) != -1 &&
	    beneath_read(cfd, CERTSTORE_CHAIN_FILE, CERTSTORE_PEM_MAX, chain,
	    chainlen) == 0 && (key == NULL || beneath_read(cfd,
	    CERTSTORE_KEY_FILE, CERTSTORE_PEM_MAX, key, keylen) == 0))
		rc = 0;
	e = errno;
	if (rc == -1) {
		snprintf(err, errlen, "%s/apps/%s/%s: %s", root, app, sub,
		    beneath_strerror(e));
		free(*chain);
		*chain = NULL;
	}
	if (cfd != -1)
		close(cfd);
	close(afd);
	errno = e;
	return rc;
}

int
certstore_info(const char *root, const char *app, const char *name,
    struct certstore_cert *info, char *err, size_t errlen)
{
	char *chain, e[256];
	size_t len;
	int rc;

	memset(info, 0, sizeof(*info));
	if (certstore_read(root, app, name, &chain, &len, NULL, NULL, err,
	    errlen) == -1)
		return -1;
	if ((rc = certstore_leaf_parse(chain, len, info, e, sizeof(e))) == -1)
		snprintf(err, errlen, "%s: %s", name, e);
	else
		snprintf(info->name, sizeof(info->name), "%s", name);
	free(chain);
	return rc;
}
