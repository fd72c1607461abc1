/* SPDX-License-Identifier: ISC */
/* release follow APP: the cluster's current release made on this host from
 * its record in etcd and its slug fetched from a host that serves it. */
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
#include "slugstore.h"
#include "state.h"
#include "release.h"

/* One value of etcd, NULL when absent (malloc'd, NUL-terminated). */
static char *
get_value(struct etcd *e, const char *key, char *err, size_t errlen)
{
	struct etcd_range r;
	char *v = NULL;

	if (etcd_range(e, key, 0, &r, err, errlen) == -1)
		return NULL;
	if (r.n == 1)
		v = strdup(r.kvs[0].value);
	else
		snprintf(err, errlen, "%s: not in etcd", key);
	etcd_range_free(&r);
	return v;
}

/* The slug store has sha256-HEX.tgz, or a host's slug_url gives it. */
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
		j = json_loads(r.kvs[i].value, 0, NULL);
		s = json_string_value(json_object_get(j, "slug_url"));
		/* the URL is another host's word: release fetch checks the sha */
		if (s != NULL && slugstore_url(url, sizeof(url), s, hex) == 0)
			rc = slug_fetch(a->conf, url, hex, path,
			    sizeof(path));
		json_decref(j);
	}
	etcd_range_free(&r);
	if (rc != 0)
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

/* vN of etcd's record into a new release of this host, at that version. */
static int
follow_make(struct app *a, struct etcd *e, unsigned version, json_t *rec)
{
	const char *hex = json_string_value(json_object_get(json_object_get(rec,
	    "slug"), "sha256")), *env = json_string_value(json_object_get(rec,
	    "env")), *desc = json_string_value(json_object_get(rec,
	    "description"));
	char slug[PATH_MAX], from[PATH_MAX], sha[65] = "", err[512];
	struct newrel nr;
	unsigned v;
	int rc, have;

	if (hex == NULL || !slugstore_hex_valid(hex, strlen(hex))) {
		diag_error("%s: v%u: no slug sha256 in etcd", a->name, version);
		return EXIT_DATAERR;
	}
	have = local_slug(a, hex, from, sizeof(from));
	if ((!have && (rc = fetch_slug(a, e, hex)) != 0) ||
	    (rc = newrel_begin(a, &nr)) != 0)
		return rc;
	if (state_pathf(slug, sizeof(slug), "%s/slug", nr.staging) == -1)
		rc = EXIT_SOFTWARE;
	if (rc == 0 && env != NULL && envfile_parse_release("etcd", env,
	    strlen(env), &nr.env, err, sizeof(err)) == -1) {
		diag_error("%s: v%u: %s", a->name, version, err);
		rc = EXIT_DATAERR;
	}
	if (rc != 0 || (rc = follow_slug(a, have ? from : NULL, hex, slug,
	    sha)) != 0)
		goto out;
	newrel_describe(&nr, desc ? desc : "Deploy", sha, NULL);
	nr.logline = "Deploy";
	nr.follow = version;
	rc = app_commit(a, &nr, &v);
out:
	newrel_abort(&nr);
	return rc;
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

int
follow_version(struct app *a, struct etcd *e, unsigned version)
{
	char key[160], err[256], *val;
	json_t *j = NULL;
	int rc = EXIT_UNAVAILABLE;

	snprintf(key, sizeof(key), "/dyno/apps/%s/releases/v%u", a->name,
	    version);
	if ((val = get_value(e, key, err, sizeof(err))) == NULL ||
	    !json_is_object(j = json_loads(val, 0, NULL)))
		diag_error("%s", val ? "not a release record" : err);
	else
		rc = follow_make(a, e, version, j);
	json_decref(j);
	free(val);
	return rc;
}

int
cmd_follow(struct app *a)
{
	char key[160], err[256], *cur = NULL, path[PATH_MAX];
	unsigned version;
	struct etcd *e;
	json_t *j = NULL;
	int rc = EXIT_UNAVAILABLE;

	if (a->conf->cluster_etcd[0] == '\0') {
		diag_error("no etcd in [cluster]: this host is not in a cluster");
		return EXIT_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e = etcd_open(a->conf->cluster_etcd, err, sizeof(err))) == NULL) {
		diag_error("[cluster] etcd: %s", err);
		return EXIT_CONFIG;
	}
	snprintf(key, sizeof(key), "/dyno/apps/%s/current", a->name);
	if ((cur = get_value(e, key, err, sizeof(err))) == NULL) {
		diag_error("%s", err);
		goto out;
	}
	j = json_loads(cur, JSON_DECODE_ANY, NULL);
	if (!json_is_string(j) || app_parse_version(json_string_value(j),
	    &version) != 0) {
		diag_error("%s: not a version", key);
		rc = EXIT_DATAERR;
		goto out;
	}
	json_decref(j);
	j = NULL;
	/* made here already (here or by an earlier follow): nothing to do */
	if (state_pathf(path, sizeof(path), "%s/releases/v%u", a->dir, version)
	    == 0 && access(path, F_OK) == 0) {
		printf("v%u\n", version);
		rc = 0;
		goto out;
	}
	if ((rc = follow_version(a, e, version)) == 0)
		printf("v%u\n", version);
out:
	json_decref(j);
	free(cur);
	etcd_close(e);
	return rc;
}
