/* SPDX-License-Identifier: ISC */
/* dyno-agent: the placer (one per cluster): formations x hosts -> assign/. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cluster.h"
#include "diag.h"
#include "names.h"
#include "dyno-agent.h"

#define OPS_PER_TXN	100	/* under etcd's --max-txn-ops (128) */

struct phost {
	char		 name[64];
	unsigned	 cap, load;
	int		 drain;
};

/* One assignment: assign/<host>/<app>/<dyno> = {release, gen}. */
struct pasg {
	char		 host[64], app[32], dyno[80], release[16];
	long		 gen;
	int		 keep;
};

struct place {
	struct agent	*a;
	struct phost	*hosts;
	size_t		 nhosts;
	struct pasg	*asg;
	size_t		 nasg, asgcap;
	struct etcd_range status;
	struct etcd_op	*ops;
	size_t		 nops, opcap;
	int		 lost;		/* a guarded txn failed: deposed */
};

static struct phost *
find_host(struct place *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		if (strcmp(p->hosts[i].name, name) == 0)
			return &p->hosts[i];
	return NULL;
}

/* The live hosts, their capacity, and the drained ones. */
static int
load_hosts(struct place *p)
{
	struct etcd_range r, d;
	struct phost *h;
	size_t i;
	const char *name;

	if (agent_range(p->a, AGENT_PREFIX "hosts/", 1, &r) == -1)
		return -1;
	if (agent_range(p->a, AGENT_PREFIX "drain/", 1, &d) == -1) {
		etcd_range_free(&r);
		return -1;
	}
	p->hosts = calloc(r.n + 1, sizeof(*p->hosts));
	for (i = 0; p->hosts != NULL && i < r.n; i++) {
		name = r.kvs[i].key + strlen(AGENT_PREFIX "hosts/");
		if (strlen(name) >= sizeof(h->name))
			continue;
		h = &p->hosts[p->nhosts++];
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->cap = (unsigned)json_int_field(r.kvs[i].value, "capacity", 100);
	}
	for (i = 0; i < d.n; i++)
		if ((h = find_host(p, d.kvs[i].key + strlen(AGENT_PREFIX
		    "drain/"))) != NULL)
			h->drain = 1;
	etcd_range_free(&r);
	etcd_range_free(&d);
	return p->hosts != NULL ? 0 : -1;
}

static struct pasg *
add_asg(struct place *p)
{
	struct pasg *n;

	if (p->nasg == p->asgcap) {
		p->asgcap = p->asgcap ? p->asgcap * 2 : 64;
		if ((n = realloc(p->asg, p->asgcap * sizeof(*n))) == NULL)
			return NULL;
		p->asg = n;
	}
	memset(&p->asg[p->nasg], 0, sizeof(*p->asg));
	return &p->asg[p->nasg++];
}

/* assign/<host>/<app>/<dyno>: the three names, each checked. */
static int
parse_asg_key(const char *key, struct pasg *g)
{
	const char *s = key + strlen(AGENT_PREFIX "assign/");
	int n;

	n = sscanf(s, "%63[^/]/%31[^/]/%79[^/]", g->host, g->app, g->dyno);
	return n == 3 && names_check_app(g->app) == NULL &&
	    names_check_dyno(g->dyno, NULL, NULL) == NULL ? 0 : -1;
}

static int
load_assignments(struct place *p)
{
	struct etcd_range r;
	struct pasg *g;
	size_t i;

	if (agent_range(p->a, AGENT_PREFIX "assign/", 1, &r) == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		if ((g = add_asg(p)) == NULL)
			break;
		if (parse_asg_key(r.kvs[i].key, g) == -1) {
			p->nasg--;
			continue;
		}
		json_str_field(r.kvs[i].value, "release", g->release,
		    sizeof(g->release));
		g->gen = (long)json_int_field(r.kvs[i].value, "gen", 1);
		if (find_host(p, g->host) != NULL)
			find_host(p, g->host)->load++;
	}
	etcd_range_free(&r);
	return 0;
}

static void
add_op(struct place *p, enum etcd_optype type, char *key, char *value)
{
	struct etcd_op *n;

	if (key == NULL || (type == ETCD_OP_PUT && value == NULL))
		goto fail;
	if (p->nops == p->opcap) {
		p->opcap = p->opcap ? p->opcap * 2 : 64;
		if ((n = realloc(p->ops, p->opcap * sizeof(*n))) == NULL)
			goto fail;
		p->ops = n;
	}
	p->ops[p->nops++] = (struct etcd_op){ .type = type, .key = key,
	    .value = value };
	return;
fail:
	free(key);
	free(value);
}

static char *keyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* asprintf that returns the string (NULL when out of memory). */
static char *
keyf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n == -1 ? NULL : s;
}

static void
put_asg(struct place *p, const struct pasg *g)
{
	char *v = NULL;

	if (asprintf(&v, "{\"release\":\"%s\",\"gen\":%ld}", g->release,
	    g->gen) == -1)
		v = NULL;
	add_op(p, ETCD_OP_PUT, keyf(AGENT_PREFIX "assign/%s/%s/%s", g->host,
	    g->app, g->dyno), v);
}

/* The dynos of app's type on host h, kept or new. */
static unsigned
type_load(const struct place *p, const char *host, const char *app,
    const char *type)
{
	size_t i, tl = strlen(type);
	unsigned n = 0;

	for (i = 0; i < p->nasg; i++)
		if (strcmp(p->asg[i].host, host) == 0 &&
		    strcmp(p->asg[i].app, app) == 0 &&
		    strncmp(p->asg[i].dyno, type, tl) == 0 &&
		    p->asg[i].dyno[tl] == '.')
			n++;
	return n;
}

/* Spread: the host with the fewest of this type, then fewest dynos. */
static struct phost *
pick_host(struct place *p, const char *app, const char *type)
{
	struct phost *best = NULL, *h;
	unsigned bt = 0, t;
	size_t i;

	for (i = 0; i < p->nhosts; i++) {
		h = &p->hosts[i];
		if (h->drain || h->load >= h->cap)
			continue;
		t = type_load(p, h->name, app, type);
		if (best == NULL || t < bt || (t == bt && h->load < best->load)) {
			best = h;
			bt = t;
		}
	}
	return best;
}

/* Whether web dyno `dyno` of app runs up on host (the preboot is over). */
static int
up_on(const struct place *p, const char *app, const char *dyno,
    const char *host)
{
	char key[256], h[64], st[16];
	size_t i;

	snprintf(key, sizeof(key), AGENT_PREFIX "status/%s/%s", app, dyno);
	for (i = 0; i < p->status.n; i++)
		if (strcmp(p->status.kvs[i].key, key) == 0) {
			json_str_field(p->status.kvs[i].value, "host", h, sizeof(h));
			json_str_field(p->status.kvs[i].value, "state", st,
			    sizeof(st));
			return strcmp(h, host) == 0 && strcmp(st, "up") == 0;
		}
	return 0;
}

/*
 * One dyno name of the formation.  It stays where it is on a live host
 * that is not drained; else it goes to the best host with gen + 1.  On a
 * drained host a web dyno keeps running until its successor is up (the
 * preboot); on a dead host it is simply dropped.
 */
static void
place_dyno(struct place *p, const char *app, const char *type,
    const char *dyno, const char *release)
{
	struct pasg *g, *best = NULL;
	struct phost *h;
	size_t i, n = p->nasg;
	long gen = 0;
	int web = strcmp(type, "web") == 0;

	for (i = 0; i < n; i++) {
		g = &p->asg[i];
		if (strcmp(g->app, app) || strcmp(g->dyno, dyno))
			continue;
		gen = g->gen > gen ? g->gen : gen;
		if ((h = find_host(p, g->host)) != NULL && !h->drain &&
		    (best == NULL || g->gen > best->gen))
			best = g;
	}
	if (best == NULL && (h = pick_host(p, app, type)) != NULL &&
	    (best = add_asg(p)) != NULL) {
		snprintf(best->host, sizeof(best->host), "%s", h->name);
		snprintf(best->app, sizeof(best->app), "%s", app);
		snprintf(best->dyno, sizeof(best->dyno), "%s", dyno);
		best->gen = gen + 1;
		best->release[0] = '\0';	/* written below */
		h->load++;
	}
	for (i = 0; i < p->nasg; i++) {
		g = &p->asg[i];
		if (strcmp(g->app, app) || strcmp(g->dyno, dyno))
			continue;
		if (g == best)
			g->keep = 1;
		else if (web && best != NULL && (h = find_host(p, g->host)) &&
		    h->drain && !up_on(p, app, dyno, best->host))
			g->keep = 1;	/* preboot: serves until best is up */
		else if (best == NULL && find_host(p, g->host) != NULL)
			g->keep = 1;	/* nowhere to go: stays */
	}
	if (best != NULL && strcmp(best->release, release) != 0) {
		snprintf(best->release, sizeof(best->release), "%s", release);
		put_asg(p, best);
	}
}

/* formation {"web":2,"worker":1} of one app at release `release`. */
static void
place_app(struct place *p, const char *app, const char *formation,
    const char *release)
{
	json_t *f = json_loads(formation, 0, NULL), *v;
	const char *type;
	char dyno[80];
	long long n, count;

	json_object_foreach(f, type, v) {
		count = json_is_integer(v) ? json_integer_value(v) : 0;
		if (names_check_proctype(type) != NULL || strcmp(type, "release")
		    == 0 || count < 0 || count > 1000)
			continue;
		for (n = 1; n <= count; n++) {
			snprintf(dyno, sizeof(dyno), "%s.%lld", type, n);
			place_dyno(p, app, type, dyno, release);
		}
	}
	json_decref(f);
}

/* apps/<app>/loghost: a live host, chosen once and kept while it lives. */
static void
place_loghost(struct place *p, const char *app, const char *loghost)
{
	struct phost *h;
	unsigned sum = 0;
	const char *c;

	if (p->nhosts == 0 || (loghost != NULL && (h = find_host(p, loghost))
	    != NULL && !h->drain))
		return;
	for (c = app; *c; c++)
		sum = sum * 31 + (unsigned char)*c;
	h = &p->hosts[sum % p->nhosts];
	add_op(p, ETCD_OP_PUT, keyf(AGENT_PREFIX "apps/%s/loghost", app),
	    keyf("\"%s\"", h->name));
}

/* A value of apps/<app>/<what> in the range, or NULL. */
static const char *
app_value(const struct etcd_range *r, const char *app, const char *what)
{
	char key[256];
	size_t i;

	snprintf(key, sizeof(key), AGENT_PREFIX "apps/%s/%s", app, what);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->kvs[i].key, key) == 0)
			return r->kvs[i].value;
	return NULL;
}

static void
place_apps(struct place *p, const struct etcd_range *apps)
{
	char app[32], *release, *loghost;
	const char *formation, *cur, *k;
	size_t i;

	for (i = 0; i < apps->n; i++) {
		k = apps->kvs[i].key + strlen(AGENT_PREFIX "apps/");
		if (sscanf(k, "%31[^/]/formation", app) != 1 ||
		    strcmp(k + strlen(app), "/formation") != 0)
			continue;
		formation = apps->kvs[i].value;
		if ((cur = app_value(apps, app, "current")) == NULL)
			continue;	/* no release yet: nothing to run */
		release = json_text(cur);
		loghost = app_value(apps, app, "loghost") ? json_text(
		    app_value(apps, app, "loghost")) : NULL;
		if (release != NULL && strlen(release) < 16)
			place_app(p, app, formation, release);
		place_loghost(p, app, loghost);
		free(release);
		free(loghost);
	}
}

/* Every write guarded by our election: a deposed placer's fail whole. */
static void
commit(struct place *p)
{
	struct etcd_cmp c = { ETCD_CREATE, ETCD_EQUAL, AGENT_PREFIX "placer",
	    p->a->placer_rev, NULL };
	size_t i, n;
	char err[256];
	int64_t rev;
	int ok;

	for (i = 0; i < p->nops && !p->lost; i += n) {
		n = p->nops - i < OPS_PER_TXN ? p->nops - i : OPS_PER_TXN;
		if (etcd_txn(p->a->etcd, &c, 1, p->ops + i, n, NULL, 0, &ok,
		    &rev, err, sizeof(err)) == -1) {
			diag_warn("placer: %s", err);
			return;
		}
		p->a->writes++;
		if (ok) {
			p->a->wait_rev = rev;
			p->a->wait_since = cluster_now_ms();
		}
		if (!ok) {
			diag_warn("%s: no longer the placer", p->a->host);
			p->a->placer_rev = 0;
			p->lost = 1;
		}
	}
}

/* -v: what one round cost (the benchmark reads it). */
static void
say_round(const struct agent *a, const struct timespec *t0, size_t nkeys,
    const struct place *p)
{
	struct timespec t1;
	size_t keys, bytes;

	if (diag_verbosity == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	watch_size(a, &keys, &bytes);
	diag_verbose("placer: round %.3f ms: %zu apps/ keys read, %zu "
	    "assignments, %zu writes; watched copy %zu keys, %zu bytes",
	    (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec -
	    t0->tv_nsec) / 1e6, nkeys, p->nasg, p->nops, keys, bytes);
}

/* What placement reads of apps/: formation, current, loghost. */
static int
placement_key(const char *key)
{
	const char *leaf = strrchr(key, '/') + 1;

	return !strcmp(leaf, "formation") || !strcmp(leaf, "current") ||
	    !strcmp(leaf, "loghost");
}

static void
place_once(struct agent *a)
{
	struct place p = { .a = a };
	struct etcd_range apps;
	struct timespec t0;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (load_hosts(&p) == -1 || load_assignments(&p) == -1 ||
	    agent_range(a, AGENT_PREFIX "status/", 1, &p.status) == -1)
		goto out;
	if (agent_range_if(a, AGENT_PREFIX "apps/", 1, placement_key,
	    &apps) == 0) {
		place_apps(&p, &apps);
		for (i = 0; i < p.nasg; i++)
			if (!p.asg[i].keep)
				add_op(&p, ETCD_OP_DELETE, keyf(AGENT_PREFIX
				    "assign/%s/%s/%s", p.asg[i].host, p.asg[i].app,
				    p.asg[i].dyno), NULL);
		commit(&p);
		say_round(a, &t0, apps.n, &p);
		etcd_range_free(&apps);
	}
out:
	for (i = 0; i < p.nops; i++) {
		free((char *)p.ops[i].key);
		free((char *)p.ops[i].value);
	}
	free(p.ops);
	free(p.asg);
	free(p.hosts);
	etcd_range_free(&p.status);
}

/* Create-if-absent on /dyno/placer with our lease; or find it ours. */
static void
elect(struct agent *a)
{
	struct etcd_cmp c = { ETCD_CREATE, ETCD_EQUAL, AGENT_PREFIX "placer", 0,
	    NULL };
	struct etcd_op put = { ETCD_OP_PUT, AGENT_PREFIX "placer", NULL,
	    a->lease, 0 };
	struct etcd_range r;
	char me[80], *who;
	int won = 0, held;

	/* another's placer key in the watched copy: no txn to lose */
	if (agent_range(a, AGENT_PREFIX "placer", 0, &r) == -1)
		return;
	held = r.n == 1 && r.kvs[0].lease != a->lease;
	etcd_range_free(&r);
	if (held && a->watch != NULL)
		return;
	snprintf(me, sizeof(me), "\"%s\"", a->host);
	put.value = me;
	if (etcd_txn(a->etcd, &c, 1, &put, 1, NULL, 0, &won, NULL, NULL,
	    0) == -1 || etcd_range(a->etcd, AGENT_PREFIX "placer", 0, &r,
	    NULL, 0) == -1)
		return;
	/* ours if it names us on our lease (after a restart: adopted) */
	if (r.n == 1 && r.kvs[0].lease == a->lease &&
	    (who = json_text(r.kvs[0].value)) != NULL) {
		if (strcmp(who, a->host) == 0) {
			a->placer_rev = r.kvs[0].create_rev;
			diag_warn("%s: placer (revision %" PRId64 ")", a->host,
			    a->placer_rev);
		}
		free(who);
	}
	etcd_range_free(&r);
}

void
place_tick(struct agent *a)
{
	if (!host_live(a))
		return;
	if (a->placer_rev == 0)
		elect(a);
	/*
	 * Not again on a copy without our last writes (it would place the
	 * same dynos twice); 2 s at most, should the revision never show.
	 */
	if (a->placer_rev != 0 && a->watch != NULL && a->wait_rev != 0 &&
	    watch_revision(a) < a->wait_rev && cluster_now_ms() -
	    a->wait_since < 2000)
		return;
	if (a->placer_rev != 0)
		place_once(a);
}
