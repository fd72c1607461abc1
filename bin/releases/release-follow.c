/* SPDX-License-Identifier: ISC */
/*
 * release follow APP, and the versions a command needs from the cluster:
 * a release made on this host from its record in etcd and its slug
 * fetched from a host that serves it.  The record is another host's word:
 * every field is checked before anything is fetched or written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "diag.h"
#include "envfile.h"
#include "etcd.h"
#include "names.h"
#include "slugstore.h"
#include "state.h"
#include "release.h"

/* What a record says of a release, checked (borrowed from its JSON). */
struct record {
	json_t		*j;
	const char	*hex;		/* the slug's sha256 */
	const char	*desc;
	const char	*status;	/* NULL: a record older than statuses */
	struct env	 env;
};

static void
record_free(struct record *r)
{
	json_decref(r->j);
	r->j = NULL;
	env_free(&r->env);
}

/* One value of etcd, NULL when absent (malloc'd, NUL-terminated). */
static char *
get_value(struct etcd *e, const char *key, size_t *len, char *err,
    size_t errlen)
{
	struct etcd_range r;
	char *v = NULL;

	if (etcd_range(e, key, 0, &r, err, errlen) == -1)
		return NULL;
	if (r.n == 1 && (v = malloc(r.kvs[0].vlen + 1)) != NULL) {
		memcpy(v, r.kvs[0].value, r.kvs[0].vlen + 1);
		*len = r.kvs[0].vlen;
	} else if (r.n == 1)
		diag_die_errno(EXIT_OSERR, "malloc");
	else
		snprintf(err, errlen, "%s: not in etcd", key);
	etcd_range_free(&r);
	return v;
}

/* The config vars of a record: release format, names a user could set,
 * within config_max.  0, or -1 with err. */
static int
record_env(struct app *a, const char *text, struct env *env, char *err,
    size_t errlen)
{
	const char *why;
	size_t i;

	if (envfile_parse_release("env", text, strlen(text), env, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < env->n; i++)
		if ((why = names_check_configvar(env->vars[i].key)) != NULL) {
			snprintf(err, errlen, "env: bad config var name: %s",
			    why);
			return -1;
		}
	if (env_total_size(env) > a->conf->config_max) {
		snprintf(err, errlen, "env: %zu bytes, over the %llu-byte "
		    "limit", env_total_size(env),
		    (unsigned long long)a->conf->config_max);
		return -1;
	}
	return 0;
}

/* Check the record's fields into r.  0, or -1 with err. */
static int
record_check(struct app *a, struct record *r, char *err, size_t errlen)
{
	json_t *st = json_object_get(r->j, "status"), *d;
	const char *env;

	r->hex = json_string_value(json_object_get(json_object_get(r->j,
	    "slug"), "sha256"));
	if (r->hex == NULL || !slugstore_hex_valid(r->hex, strlen(r->hex))) {
		snprintf(err, errlen, "slug: no sha256");
		return -1;
	}
	if ((env = json_string_value(json_object_get(r->j, "env"))) == NULL) {
		snprintf(err, errlen, "env: not a string");
		return -1;
	}
	d = json_object_get(r->j, "description");
	if ((r->desc = json_string_value(d)) == NULL && d != NULL) {
		snprintf(err, errlen, "description: not a string");
		return -1;
	}
	/* absent in the records of releases made before statuses */
	r->status = json_string_value(st);
	if (st != NULL && (r->status == NULL || (strcmp(r->status, "pending")
	    != 0 && strcmp(r->status, "succeeded") != 0 && strcmp(r->status,
	    "failed") != 0))) {
		snprintf(err, errlen, "status: not pending, succeeded or "
		    "failed");
		return -1;
	}
	return record_env(a, env, &r->env, err, errlen);
}

/* vN's record from etcd into r, checked.  0, or an exit status (66: no
 * such record). */
static int
record_load(struct app *a, struct etcd *e, unsigned version,
    struct record *r)
{
	char key[160], err[512];
	struct etcd_range er;
	size_t n;

	memset(r, 0, sizeof(*r));
	env_init(&r->env);
	snprintf(key, sizeof(key), "/dyno/apps/%s/releases/v%u", a->name,
	    version);
	if (etcd_range(e, key, 0, &er, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_UNAVAILABLE;
	}
	if ((n = er.n) == 1)
		r->j = json_loadb(er.kvs[0].value, er.kvs[0].vlen, 0, NULL);
	etcd_range_free(&er);
	if (n != 1) {
		diag_error("%s: no release v%u, here or in the cluster",
		    a->name, version);
		return EXIT_NOINPUT;
	}
	if (!json_is_object(r->j)) {
		diag_error("%s: not a release record", key);
		return EXIT_DATAERR;
	}
	if (record_check(a, r, err, sizeof(err)) == -1) {
		diag_error("%s: not a release record: %s", key, err);
		return EXIT_DATAERR;
	}
	return 0;
}

/* The store has sha256-HEX.tgz, or a host's slug_url gives it. */
static int
fetch_slug(struct app *a, struct etcd *e, const char *hex)
{
	char url[1024], err[256], path[PATH_MAX];
	struct etcd_range r;
	const char *s;
	json_t *j;
	size_t i;
	int rc = EXIT_UNAVAILABLE;

	if (slugstore_has(a->conf->root, hex))
		return 0;
	if (etcd_range(e, "/dyno/hosts/", 1, &r, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_UNAVAILABLE;
	}
	for (i = 0; i < r.n && rc != 0; i++) {
		j = json_loadb(r.kvs[i].value, r.kvs[i].vlen, 0, NULL);
		s = json_string_value(json_object_get(j, "slug_url"));
		/* another host's word: http(s) only, and the sha is checked */
		if (s != NULL && slugstore_url(url, sizeof(url), s, hex) == 0)
			rc = slug_fetch(a->conf, url, hex, path,
			    sizeof(path));
		json_decref(j);
	}
	etcd_range_free(&r);
	/* R17 said why for a host that served other bytes */
	if (rc != 0 && rc != EXIT_DATAERR)
		diag_error("%s: no host serves slug sha256:%s", a->name, hex);
	return rc;
}

/*
 * A release of this host whose slug has that sha256 (a config change made
 * on another host): its sealed slug is shared, nothing is downloaded.  1
 * with its slug folder in from, else 0.
 */
static int
local_slug(struct app *a, const char *hex, char *from, size_t size)
{
	struct relinfo r;
	unsigned *v;
	size_t n, i;
	int found = 0;

	if (app_versions(a, &v, &n) != 0)
		return 0;
	for (i = n; i-- > 0 && !found;)
		found = app_read_release(a, v[i], &r) == 0 &&
		    strcmp(r.slug_sha256, hex) == 0 && state_pathf(from, size,
		    "%s/releases/v%u/slug", a->dir, v[i]) == 0 &&
		    access(from, F_OK) == 0;
	free(v);
	return found;
}

/* The slug of vN into staging's slug: shared with a local release, or
 * from the store (fetched first when missing), checked and sealed. */
static int
follow_slug(struct app *a, const char *from, const char *hex,
    const char *slug, char sha[65])
{
	char src[80];
	int rc, web, rel;

	if (from != NULL) {
		snprintf(sha, 65, "%s", hex);
		if ((rc = slug_link(from, slug)) != 0)
			return rc;
		return slug_seal(slug);
	}
	snprintf(src, sizeof(src), "sha256:%s", hex);
	if ((rc = slug_import(a->conf, src, slug, sha)) != 0 ||
	    (rc = slug_check_procfile(slug, &web, &rel)) != 0)
		return rc;
	return slug_seal(slug);
}

/*
 * The status vN keeps here: the cluster's current succeeded; another
 * version what its record says, where pending means its maker was
 * interrupted (it would hold the release lock the caller holds).
 */
static const char *
record_status(const struct record *r, int deploy)
{
	if (deploy || r->status == NULL)
		return "succeeded";
	return strcmp(r->status, "pending") == 0 ? "failed" : r->status;
}

/*
 * vN of the checked record r made here at that version: deploy, it
 * becomes current and the manager hears of it (follow); else it is only
 * stored (a version a command needs).  0, or an exit status.
 */
static int
make_version(struct app *a, struct etcd *e, unsigned version,
    struct record *r, int deploy)
{
	char slug[PATH_MAX], from[PATH_MAX], sha[65] = "";
	struct newrel nr;
	unsigned v;
	int rc, have;

	have = local_slug(a, r->hex, from, sizeof(from));
	if ((!have && (rc = fetch_slug(a, e, r->hex)) != 0) ||
	    (rc = newrel_begin(a, &nr)) != 0)
		return rc;
	nr.env = r->env;	/* the new release takes over the record's */
	env_init(&r->env);
	if (state_pathf(slug, sizeof(slug), "%s/slug", nr.staging) == -1)
		rc = EXIT_SOFTWARE;
	if (rc != 0 || (rc = follow_slug(a, have ? from : NULL, r->hex, slug,
	    sha)) != 0)
		goto out;
	newrel_describe(&nr, r->desc ? r->desc : "Deploy", sha, NULL);
	nr.logline = "Deploy";
	nr.follow = version;
	nr.store_only = !deploy;
	snprintf(nr.info.status, sizeof(nr.info.status), "%s",
	    record_status(r, deploy));
	rc = app_commit(a, &nr, &v);
out:
	newrel_abort(&nr);
	return rc;
}

/* vN of etcd's record made here, current or only stored. */
static int
make_from_etcd(struct app *a, struct etcd *e, unsigned version, int deploy)
{
	struct record r;
	int rc;

	if ((rc = record_load(a, e, version, &r)) == 0)
		rc = make_version(a, e, version, &r, deploy);
	record_free(&r);
	return rc;
}

int
follow_version(struct app *a, struct etcd *e, unsigned version)
{
	return make_from_etcd(a, e, version, 1);
}

int
follow_store(struct app *a, unsigned version)
{
	char path[PATH_MAX];

	if (cluster_etcd() == NULL || (state_pathf(path, sizeof(path),
	    "%s/releases/v%u", a->dir, version) == 0 && access(path, F_OK)
	    == 0))
		return 0;
	return make_from_etcd(a, cluster_etcd(), version, 0);
}

int
cluster_begin_base(struct app *a)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = cluster_begin(a)) != 0 || a->cluster_base == 0)
		return rc;
	if (state_pathf(path, sizeof(path), "%s/releases/v%u", a->dir,
	    a->cluster_base) == 0 && access(path, F_OK) == 0)
		return 0;
	return follow_version(a, cluster_etcd(), a->cluster_base);
}

/* The cluster's current version from etcd.  0, or an exit status. */
static int
etcd_current(struct app *a, struct etcd *e, unsigned *version)
{
	char key[160], err[256], *cur;
	size_t len = 0;
	json_t *j;
	int rc = 0;

	snprintf(key, sizeof(key), "/dyno/apps/%s/current", a->name);
	if ((cur = get_value(e, key, &len, err, sizeof(err))) == NULL) {
		diag_error("%s", err);
		return EXIT_UNAVAILABLE;
	}
	j = json_loadb(cur, len, JSON_DECODE_ANY, NULL);
	if (!json_is_string(j) || cluster_parse_version(json_string_value(j),
	    version) != 0) {
		diag_error("%s: not a version", key);
		rc = EXIT_DATAERR;
	}
	json_decref(j);
	free(cur);
	return rc;
}

int
cmd_follow(struct app *a)
{
	char err[256], path[PATH_MAX];
	unsigned version;
	struct etcd *e;
	int rc;

	if (a->conf->cluster_etcd[0] == '\0') {
		diag_error("no etcd in [cluster]: this host is not in a cluster");
		return EXIT_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e = etcd_open(a->conf->cluster_etcd, err, sizeof(err))) == NULL) {
		diag_error("[cluster] etcd: %s", err);
		return EXIT_CONFIG;
	}
	if ((rc = etcd_current(a, e, &version)) == 0) {
		/* made here already (here or by an earlier follow) */
		if (state_pathf(path, sizeof(path), "%s/releases/v%u",
		    a->dir, version) == -1 || access(path, F_OK) == -1)
			rc = follow_version(a, e, version);
		if (rc == 0)
			printf("v%u\n", version);
	}
	etcd_close(e);
	return rc;
}
