/* SPDX-License-Identifier: ISC */
/*
 * release on a cluster (dyno.conf [cluster] etcd, dyno-agent(8)): the
 * versions of an app are the cluster's, not one host's.  A command that
 * makes a release holds the app's release lock in etcd (a key on a lease
 * of its own, renewed while it works), builds on the cluster's current
 * release (made here first when this host lacks it), takes its version
 * with a create-if-absent txn on releases/vN before anything is written
 * here, and moves current forward after its release phase.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "diag.h"
#include "envfile.h"
#include "etcd.h"
#include "procfile.h"
#include "state.h"
#include "release.h"

#define LOCK_TTL	10	/* s: a dead holder frees the lock in this */
#define LOCK_RENEW	3	/* s between renewals */
#define LOCK_POLL_MS	200
#define ALLOC_TRIES	16	/* versions taken by releases that failed */

/* The release lock this process holds (one app per process). */
static struct {
	struct etcd	*e;		/* this thread's calls */
	struct etcd	*ke;		/* the renewing thread's */
	int64_t		 lease;
	char		 lockkey[160];
	char		 curkey[160];
	unsigned	 cur;		/* the cluster's current version */
	int64_t		 cur_mod;	/* current's mod revision (0: none) */
	json_t		*rec;		/* the record cluster_allocate put */
	char		 reckey[160];
	pthread_t	 th;
	pid_t		 owner;		/* a forked child has no lock to free */
	int		 th_on;
	int		 stop;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
} cl = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Renew the lock's lease every LOCK_RENEW s until told to stop. */
static void *
renew(void *arg)
{
	struct timespec ts;
	long ttl;
	int rc;

	(void)arg;
	pthread_mutex_lock(&cl.mu);
	while (!cl.stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += LOCK_RENEW;
		rc = 0;
		while (!cl.stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&cl.cv, &cl.mu, &ts);
		if (cl.stop)
			break;
		pthread_mutex_unlock(&cl.mu);
		rc = etcd_lease_keepalive(cl.ke, cl.lease, &ttl, NULL, 0);
		pthread_mutex_lock(&cl.mu);
		/* lost: the txns that compare the lock's lease say so */
		if (rc == 0 && ttl == 0)
			break;
	}
	pthread_mutex_unlock(&cl.mu);
	return NULL;
}

/* At exit: stop renewing and free the lock at once (revoke). */
static void
unlock_at_exit(void)
{
	if (getpid() != cl.owner)
		return;
	if (cl.th_on) {
		pthread_mutex_lock(&cl.mu);
		cl.stop = 1;
		pthread_cond_signal(&cl.cv);
		pthread_mutex_unlock(&cl.mu);
		pthread_join(cl.th, NULL);
		cl.th_on = 0;
	}
	if (cl.lease != 0)
		(void)etcd_lease_revoke(cl.e, cl.lease, NULL, 0);
	cl.lease = 0;
	etcd_close(cl.ke);
	etcd_close(cl.e);
	cl.e = cl.ke = NULL;
	json_decref(cl.rec);
	cl.rec = NULL;
}

/* The renewing thread started: 0, or an error number. */
static int
start_renewing(void)
{
	pthread_condattr_t ca;
	int rc;

	if ((rc = pthread_condattr_init(&ca)) != 0)
		return rc;
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0 &&
	    (rc = pthread_cond_init(&cl.cv, &ca)) == 0 &&
	    (rc = pthread_create(&cl.th, NULL, renew, NULL)) == 0)
		cl.th_on = 1;
	pthread_condattr_destroy(&ca);
	return rc;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * apps/APP/lock created on our lease, waiting (bounded: a holder runs at
 * most a release phase, capped by release_timeout) while another command
 * of any host holds it.  0, or -1 with err.
 */
static int
take_lock(struct app *a, char *err, size_t errlen)
{
	struct etcd_cmp free_ = { ETCD_CREATE, ETCD_EQUAL, cl.lockkey, 0,
	    NULL };
	struct etcd_op put = { ETCD_OP_PUT, cl.lockkey, NULL, 0, 0 };
	long granted, limit = (long)a->conf->release_timeout_ms + 60000,
	    start = now_ms();
	int won = 0, said = 0, rc;
	json_t *j;
	char *val;

	if (etcd_lease_grant(cl.e, LOCK_TTL, &cl.lease, &granted, err,
	    errlen) == -1)
		return -1;
	put.lease = cl.lease;
	if ((rc = start_renewing()) != 0) {
		snprintf(err, errlen, "pthread: %s", strerror(rc));
		errno = rc;
		return -1;
	}
	/* who holds it, for whoever looks (etcdctl get) */
	j = json_pack("{s:s, s:I}", "host", a->conf->cluster_host, "pid",
	    (json_int_t)getpid());
	if (j == NULL || (val = json_dumps(j, JSON_COMPACT)) == NULL)
		diag_die_errno(EXIT_OSERR, "json");
	json_decref(j);
	put.value = val;
	for (;;) {
		rc = etcd_txn(cl.e, &free_, 1, &put, 1, NULL, 0, &won, NULL,
		    err, errlen);
		if (rc == -1 || won) {
			free(val);
			return rc;
		}
		if (now_ms() - start >= limit) {
			free(val);
			snprintf(err, errlen, "%s: held by another release "
			    "command for over %ld s", cl.lockkey, limit / 1000);
			errno = ETIMEDOUT;
			return -1;
		}
		if (!said++ && isatty(STDERR_FILENO))
			diag_warn("%s: waiting for a release command on "
			    "another host", a->name);
		usleep(LOCK_POLL_MS * 1000);
	}
}

int
cluster_parse_version(const char *s, unsigned *out)
{
	/* a folder name here: no "../v1", no "01" beside "1", no "V1" */
	if (s[0] != 'v' || s[1] < '1' || s[1] > '9' || strlen(s) > 10 ||
	    strspn(s + 1, "0123456789") != strlen(s + 1))
		return -1;
	return app_parse_version(s, out);
}

/* current's version and mod revision (0 and 0 when there is none). */
static int
read_current(char *err, size_t errlen)
{
	struct etcd_range r;
	json_t *j;
	int rc = 0;

	cl.cur = 0;
	cl.cur_mod = 0;
	if (etcd_range(cl.e, cl.curkey, 0, &r, err, errlen) == -1)
		return -1;
	if (r.n == 1) {
		cl.cur_mod = r.kvs[0].mod_rev;
		j = json_loads(r.kvs[0].value, JSON_DECODE_ANY, NULL);
		if (!json_is_string(j) || cluster_parse_version(
		    json_string_value(j), &cl.cur) != 0) {
			snprintf(err, errlen, "%s: not a version", cl.curkey);
			errno = EBADMSG;
			rc = -1;
		}
		json_decref(j);
	}
	etcd_range_free(&r);
	return rc;
}

/* After a refused allocation: still our lock, and current is still the
 * base?  0 (then vN was taken: the next one), or -1 with err. */
static int
lock_still_ours(char *err, size_t errlen)
{
	struct etcd_range r;
	int64_t lease = 0, mod = cl.cur_mod;

	if (etcd_range(cl.e, cl.lockkey, 0, &r, err, errlen) == -1)
		return -1;
	if (r.n == 1)
		lease = r.kvs[0].lease;
	etcd_range_free(&r);
	if (lease != cl.lease) {
		snprintf(err, errlen, "%s: the release lock was lost",
		    cl.lockkey);
		return -1;
	}
	if (read_current(err, errlen) == -1)
		return -1;
	if (cl.cur_mod != mod) {
		snprintf(err, errlen, "%s moved while we held the lock",
		    cl.curkey);
		return -1;
	}
	return 0;
}

/*
 * Before a command builds a release, under the app lock: the cluster's
 * release lock, and the cluster's current release as the base (made here
 * from its record when this host lacks it), so no host builds on a stale
 * release.  0 (nothing to do off a cluster), or an exit status having
 * said why: no release is made without the cluster.
 */
int
cluster_begin(struct app *a)
{
	char err[256];
	int errnum;

	if (a->conf->cluster_etcd[0] == '\0' || cl.e != NULL)
		return 0;
	snprintf(cl.lockkey, sizeof(cl.lockkey), "/dyno/apps/%s/lock",
	    a->name);
	snprintf(cl.curkey, sizeof(cl.curkey), "/dyno/apps/%s/current",
	    a->name);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((cl.e = etcd_open(a->conf->cluster_etcd, err, sizeof(err))) ==
	    NULL || (cl.ke = etcd_open(a->conf->cluster_etcd, err,
	    sizeof(err))) == NULL) {
		diag_error("[cluster] etcd: %s", err);
		return EXIT_CONFIG;
	}
	cl.owner = getpid();
	atexit(unlock_at_exit);
	if (take_lock(a, err, sizeof(err)) == -1 ||
	    read_current(err, sizeof(err)) == -1) {
		errnum = errno;
		diag_error("%s: no release made (the cluster's versions are in "
		    "etcd): %s", a->name, err);
		/* a current that is not vN is bad data, not etcd's absence */
		return errnum == ETIMEDOUT ? EXIT_TEMPFAIL : errnum == EBADMSG ?
		    EXIT_DATAERR : EXIT_UNAVAILABLE;
	}
	a->cluster_base = cl.cur;
	return 0;
}

/* The connection of the lock's holder (NULL before cluster_begin). */
struct etcd *
cluster_etcd(void)
{
	return cl.e;
}

/*
 * The config vars of the cluster's current release from its record in
 * etcd (a new slug needs no more of the base).  0, or an exit status.
 */
int
cluster_base_env(struct app *a, struct env *e)
{
	char key[160], err[256];
	struct etcd_range r;
	const char *env;
	json_t *j = NULL;
	int rc = EXIT_UNAVAILABLE;

	if (cl.e == NULL || cl.cur == 0)
		return EXIT_SOFTWARE;
	snprintf(key, sizeof(key), "/dyno/apps/%s/releases/v%u", a->name,
	    cl.cur);
	if (etcd_range(cl.e, key, 0, &r, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return rc;
	}
	if (r.n != 1 || (j = json_loads(r.kvs[0].value, 0, NULL)) == NULL ||
	    (env = json_string_value(json_object_get(j, "env"))) == NULL) {
		diag_error("%s: not a release record", key);
		rc = EXIT_DATAERR;
	} else if (envfile_parse_release("etcd", env, strlen(env), e, err,
	    sizeof(err)) == -1) {
		diag_error("%s: %s", key, err);
		rc = EXIT_DATAERR;
	} else
		rc = 0;
	json_decref(j);
	etcd_range_free(&r);
	return rc;
}

/*
 * {slug:{sha256}, env, process_types, release_cmd, description, created,
 * status}: status is pending until cluster_publish makes it succeeded (a
 * failed release phase or a dead maker leaves it pending).
 */
static json_t *
release_json(struct newrel *nr)
{
	char path[PATH_MAX], err[256], *env;
	const struct procfile_entry *e;
	struct procfile pf;
	json_t *j, *types;
	size_t i, len;

	types = json_object();
	if (state_pathf(path, sizeof(path), "%s/slug", nr->staging) == 0 &&
	    procfile_load_beneath(path, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < pf.n; i++) {
			e = &pf.entries[i];
			json_object_set_new(types, e->type, json_string(e->command));
		}
		procfile_free(&pf);
	}
	if ((env = envfile_format_release(&nr->env, &len)) == NULL) {
		json_decref(types);
		return NULL;
	}
	j = json_pack("{s:{s:s}, s:s%, s:o, s:s, s:s, s:s, s:s}", "slug",
	    "sha256", nr->info.slug_sha256, "env", env, len, "process_types",
	    types, "release_cmd", json_string_value(json_object_get(types,
	    "release")) ?: "", "description", nr->info.description, "created",
	    nr->info.created, "status", "pending");
	free(env);
	return j;
}

/* The highest vN under apps/APP/releases/ in etcd (0: none). */
static int
highest(struct app *a, unsigned *max, char *err, size_t errlen)
{
	char prefix[160];
	struct etcd_range r;
	unsigned v;
	size_t i, plen;

	*max = 0;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "/dyno/apps/%s/"
	    "releases/", a->name);
	if (etcd_range_keys(cl.e, prefix, &r, err, errlen) == -1)
		return -1;
	for (i = 0; i < r.n; i++)
		if (cluster_parse_version(r.kvs[i].key + plen, &v) == 0 &&
		    v > *max)
			*max = v;
	etcd_range_free(&r);
	return 0;
}

/*
 * The release's version, taken in etcd: releases/vN created with its
 * record if no one has it, while we hold the lock and current is still
 * the base we built on; the next N when vN is taken.  *version comes in
 * as this host's next version.  0, or an exit status having said why.
 */
int
cluster_allocate(struct app *a, struct newrel *nr, unsigned *version)
{
	char err[256], *rec;
	struct etcd_cmp cmp[3] = {
		{ ETCD_LEASE, ETCD_EQUAL, cl.lockkey, cl.lease, NULL },
		{ ETCD_MOD, ETCD_EQUAL, cl.curkey, cl.cur_mod, NULL },
		{ ETCD_CREATE, ETCD_EQUAL, cl.reckey, 0, NULL } };
	struct etcd_op put = { ETCD_OP_PUT, cl.reckey, NULL, 0, 0 };
	unsigned n, max;
	int tries, won = 0;

	if (a->conf->cluster_etcd[0] == '\0' || nr->follow)
		return 0;
	if (cl.e == NULL)	/* every maker calls cluster_begin first */
		return EXIT_SOFTWARE;
	if ((cl.rec = release_json(nr)) == NULL ||
	    (rec = json_dumps(cl.rec, JSON_COMPACT)) == NULL)
		diag_die_errno(EXIT_OSERR, "release record");
	put.value = rec;
	if (highest(a, &max, err, sizeof(err)) == -1)
		goto fail;
	n = *version;
	if (n <= max)
		n = max + 1;
	if (n <= cl.cur)
		n = cl.cur + 1;
	for (tries = 0; tries < ALLOC_TRIES && !won; tries++, n++) {
		snprintf(cl.reckey, sizeof(cl.reckey), "/dyno/apps/%s/"
		    "releases/v%u", a->name, n);
		if (etcd_txn(cl.e, cmp, 3, &put, 1, NULL, 0, &won, NULL, err,
		    sizeof(err)) == -1)
			goto fail;
		if (!won && lock_still_ours(err, sizeof(err)) == -1)
			goto fail;
	}
	free(rec);
	if (!won) {
		diag_error("%s: no free version in etcd after v%u", a->name,
		    n - 1);
		return EXIT_TEMPFAIL;
	}
	*version = n - 1;
	return 0;
fail:
	free(rec);
	diag_error("%s: no release made (the cluster's versions are in "
	    "etcd): %s", a->name, err);
	return EXIT_UNAVAILABLE;
}

/* The record cluster_allocate put, now succeeded (malloc'd). */
static char *
record_succeeded(void)
{
	char *s;

	if (json_object_set_new(cl.rec, "status", json_string("succeeded"))
	    == -1 || (s = json_dumps(cl.rec, JSON_COMPACT)) == NULL)
		diag_die_errno(EXIT_OSERR, "release record");
	return s;
}

/*
 * After the release phase: current = vN in etcd and vN's record
 * succeeded, in one txn, if we still hold the lock and no one moved
 * current; when the cluster has no formation yet, web=1 if the Procfile
 * declares web, else none (as app_ensure_files scales a new app here).
 * 0, or an exit status having said why (vN stands on this host).
 */
int
cluster_publish(struct app *a, unsigned version)
{
	char fkey[160], cur[32], err[256], slug[PATH_MAX];
	struct etcd_cmp cmp[2] = {
		{ ETCD_LEASE, ETCD_EQUAL, cl.lockkey, cl.lease, NULL },
		{ ETCD_MOD, ETCD_EQUAL, cl.curkey, cl.cur_mod, NULL } };
	struct etcd_cmp none = { ETCD_CREATE, ETCD_EQUAL, fkey, 0, NULL };
	struct etcd_op op[2] = { { ETCD_OP_PUT, cl.curkey, cur, 0, 0 },
		{ ETCD_OP_PUT, cl.reckey, NULL, 0, 0 } };
	struct etcd_op fop = { ETCD_OP_PUT, fkey, "{\"web\":1}", 0, 0 };
	int won = 0, web = 0, rel = 0, rc;

	if (a->conf->cluster_etcd[0] == '\0')
		return 0;
	if (cl.e == NULL || cl.rec == NULL)
		return EXIT_SOFTWARE;
	if (state_pathf(slug, sizeof(slug), "%s/releases/v%u/slug", a->dir,
	    version) == -1 || slug_check_procfile(slug, &web, &rel) != 0)
		web = 0;
	if (!web)
		fop.value = "{}";
	snprintf(fkey, sizeof(fkey), "/dyno/apps/%s/formation", a->name);
	snprintf(cur, sizeof(cur), "\"v%u\"", version);
	op[1].value = record_succeeded();
	rc = etcd_txn(cl.e, cmp, 2, op, 2, NULL, 0, &won, NULL, err,
	    sizeof(err));
	free((char *)op[1].value);
	if (rc == -1 || (won && etcd_txn(cl.e, &none, 1, &fop, 1, NULL, 0,
	    NULL, NULL, err, sizeof(err)) == -1)) {
		diag_error("%s: v%u stands on this host but is not current in "
		    "the cluster: %s", a->name, version, err);
		return EXIT_UNAVAILABLE;
	}
	if (!won) {
		diag_error("%s: v%u stands on this host but is not current in "
		    "the cluster: its release lock was lost", a->name, version);
		return EXIT_TEMPFAIL;
	}
	cl.cur = version;
	return 0;
}

/* vN's record in etcd says succeeded (or predates statuses): 1, else 0. */
static int
record_succeeded_in_etcd(struct app *a, unsigned v)
{
	char key[160], err[256];
	struct etcd_range r;
	const char *st;
	json_t *j = NULL;
	int ok = 0;

	snprintf(key, sizeof(key), "/dyno/apps/%s/releases/v%u", a->name, v);
	if (etcd_range(cl.e, key, 0, &r, err, sizeof(err)) == -1)
		return 0;
	if (r.n == 1 && json_is_object(j = json_loadb(r.kvs[0].value,
	    r.kvs[0].vlen, 0, NULL)))
		ok = (st = json_string_value(json_object_get(j, "status"))) ==
		    NULL || strcmp(st, "succeeded") == 0;
	json_decref(j);
	etcd_range_free(&r);
	return ok;
}

int
cluster_rollback_default(struct app *a, unsigned *version)
{
	char prefix[160], err[256];
	struct etcd_range r;
	unsigned v, x, best = 0;
	size_t i, plen;

	*version = 0;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "/dyno/apps/%s/"
	    "releases/", a->name);
	if (etcd_range_keys(cl.e, prefix, &r, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_UNAVAILABLE;
	}
	/* newest first, each record read once at most */
	for (;;) {
		for (i = 0, v = best, best = 0; i < r.n; i++)
			if (cluster_parse_version(r.kvs[i].key + plen, &x) == 0 &&
			    x < cl.cur && (v == 0 || x < v) && x > best)
				best = x;
		if (best == 0 || record_succeeded_in_etcd(a, best))
			break;
	}
	etcd_range_free(&r);
	*version = best;
	return 0;
}
