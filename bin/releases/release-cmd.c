/* SPDX-License-Identifier: ISC */
/* release: create, list, show and rollback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "num.h"
#include "procfile.h"
#include "state.h"

#include "release.h"

/* The env of the release new ones build on, under the lock. */
static int
base_env(struct app *a, struct env *e)
{
	char path[PATH_MAX];
	unsigned base;
	int rc;

	if ((rc = app_lock(a)) != 0 || (rc = release_base(a, &base)) != 0)
		return rc;
	/* on a cluster a base another host made, not made here */
	if (base != 0 && base == a->cluster_base && (state_pathf(path,
	    sizeof(path), "%s/releases/v%u", a->dir, base) == -1 ||
	    access(path, F_OK) == -1))
		return cluster_base_env(a, e);
	return base == 0 ? 0 : app_read_env(a, base, e);
}

int
cmd_create(struct app *a, const struct opts *o)
{
	struct newrel nr;
	char slug[PATH_MAX], sha[65] = "", deploy[32];
	int rc, web, rel;
	unsigned v;

	/* on a cluster: its lock and its current here, before our staging */
	if (a->conf->cluster_etcd[0] != '\0' && ((rc = app_lock(a)) != 0 ||
	    (rc = cluster_begin(a)) != 0))
		return rc;
	if ((rc = newrel_begin(a, &nr)) != 0)
		return rc;
	if (state_pathf(slug, sizeof(slug), "%s/slug", nr.staging) == -1)
		rc = EXIT_SOFTWARE;
	if (rc != 0 || (rc = slug_import(a->conf, o->slug, slug, sha)) != 0 ||
	    (rc = slug_check_procfile(slug, &web, &rel)) != 0 ||
	    (rc = slug_seal(slug)) != 0 || (o->images != NULL &&
	    (rc = release_images_copy(o->images, nr.staging)) != 0))
		goto out;
	snprintf(deploy, sizeof(deploy), "Deploy %.8s", o->commit ?
	    o->commit : sha);
	newrel_describe(&nr, o->description ? o->description : deploy, sha,
	    o->commit);
	nr.logline = deploy;
	if ((rc = base_env(a, &nr.env)) == 0 &&
	    (rc = app_commit(a, &nr, &v)) == 0)
		printf("v%u\n", v);
out:
	/* a refused first slug leaves no app behind: main's app_forget_new */
	newrel_abort(&nr);
	return rc;
}

/* "(~ 3m ago)" for an RFC 3339 UTC time. */
static void
age(const char *created, char *buf, size_t size)
{
	struct tm tm;
	char d[32];
	time_t t, now = time(NULL);

	memset(&tm, 0, sizeof(tm));
	if (strptime(created, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
		snprintf(buf, size, "(?)");
		return;
	}
	t = timegm(&tm);
	num_format_duration(now > t ? (uint64_t)(now - t) * 1000 : 0, d,
	    sizeof(d));
	snprintf(buf, size, "(~ %s ago)", d);
}

static int
load_infos(struct app *a, unsigned num, struct relinfo **out, size_t *nout)
{
	unsigned *v;
	size_t n, i;
	int rc;

	if ((rc = app_versions(a, &v, &n)) != 0)
		return rc;
	*nout = 0;
	if ((*out = calloc(n ? n : 1, sizeof(**out))) == NULL)
		diag_die_errno(EXIT_OSERR, "calloc");
	for (i = n; i-- > 0 && *nout < num;)
		if (app_read_release(a, v[i], &(*out)[*nout]) == 0)
			(*nout)++;
	free(v);
	return 0;
}

int
cmd_list(struct app *a, const struct opts *o)
{
	struct relinfo *r;
	unsigned cur = app_current(a);
	size_t n, i, dw = 11, uw = 4;
	char when[64];
	int rc;

	if ((rc = load_infos(a, o->num, &r, &n)) != 0)
		return rc;
	if (cur)
		printf("=== %s Releases - Current: v%u\n\n", a->name, cur);
	else
		printf("=== %s Releases - Current: none\n\n", a->name);
	for (i = 0; i < n; i++) {
		dw = strlen(r[i].description) > dw ? strlen(r[i].description) :
		    dw;
		uw = strlen(r[i].user) > uw ? strlen(r[i].user) : uw;
	}
	for (i = 0; i < n; i++) {
		age(r[i].created, when, sizeof(when));
		printf("v%-5u %-*s  %-*s  %s %-14s %s%s\n", r[i].version,
		    (int)dw, r[i].description, (int)uw, r[i].user,
		    r[i].created, when, r[i].status,
		    r[i].version == cur ? " (current)" : "");
	}
	free(r);
	return 0;
}

/* The release to show: vN, else current, else the newest. */
static int
pick_version(struct app *a, const char *arg, unsigned *v)
{
	if (arg != NULL) {
		if (app_parse_version(arg, v) == -1) {
			diag_error("%s: bad version", arg);
			return EXIT_USAGE;
		}
		return 0;
	}
	if (release_base(a, v) != 0 || *v == 0) {
		diag_error("%s: no releases", a->name);
		return EXIT_NOINPUT;
	}
	return 0;
}

static void
show_types(struct app *a, unsigned v)
{
	struct procfile pf;
	char dir[PATH_MAX], err[512];
	size_t i;

	if (state_pathf(dir, sizeof(dir), "%s/releases/v%u/slug", a->dir,
	    v) == -1 || access(dir, F_OK) == -1) {
		printf("Slug:        removed (keep_slugs)\n");
		return;
	}
	printf("Slug:        present\n");
	/* The slug's Procfile, never a file a link of it points out to. */
	if (procfile_load_beneath(dir, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1) {
		diag_warn("%s", err);
		return;
	}
	printf("Process types:");
	for (i = 0; i < pf.n; i++)
		printf("%s%s", i ? ", " : " ", pf.entries[i].type);
	printf("\n");
	procfile_free(&pf);
}

/*
 * The output of the build that made vN, as dyno-build keeps it
 * (dyno-build(1) FILES): a release made from a slug has none.
 */
static int
show_build_output(struct app *a, unsigned v)
{
	char path[PATH_MAX], *data;
	size_t len;

	printf("=== Build output\n");
	fflush(stdout);
	if (state_pathf(path, sizeof(path), "%s/builds/v%u.log", a->dir, v)
	    == -1 || state_read(path, 32U << 20, &data, &len) == -1) {
		if (errno != ENOENT) {
			diag_error_errno("%s", path);
			return EXIT_OSERR;
		}
		printf("(none: not built from source by dyno-build)\n");
		return 0;
	}
	fwrite(data, 1, len, stdout);
	free(data);
	return 0;
}

int
cmd_show(struct app *a, const char *arg, int output)
{
	struct relinfo r;
	struct env e;
	unsigned v;
	size_t i;
	int rc;

	if ((rc = pick_version(a, arg, &v)) != 0 ||
	    (rc = app_read_release(a, v, &r)) != 0)
		return rc;
	printf("=== %s Release v%u\n", a->name, v);
	printf("Change:      %s\nBy:          %s\nWhen:        %s\n"
	    "Status:      %s\nCurrent:     %s\nCommit:      %s\n"
	    "Slug sha256: %s\n", r.description, r.user, r.created, r.status,
	    v == app_current(a) ? "yes" : "no", r.commit, r.slug_sha256);
	show_types(a, v);
	env_init(&e);
	if (app_read_env(a, v, &e) == 0) {
		env_sort(&e);
		printf("Config vars:");
		for (i = 0; i < e.n; i++)
			printf("%s%s", i ? ", " : " ", e.vars[i].key);
		printf("\n");
	}
	env_free(&e);
	return output ? show_build_output(a, v) : 0;
}

/* The newest succeeded release of this host before current (0: none). */
static int
local_default(struct app *a, unsigned *target)
{
	unsigned cur = app_current(a), *v;
	struct relinfo r;
	size_t n, i;
	int rc;

	if ((rc = app_versions(a, &v, &n)) != 0)
		return rc;
	for (*target = 0, i = n; i-- > 0 && *target == 0;)
		if (v[i] < cur && app_read_release(a, v[i], &r) == 0 &&
		    strcmp(r.status, "succeeded") == 0)
			*target = v[i];
	free(v);
	return 0;
}

/* Rollback's default: the newest succeeded release before current, on a
 * cluster among its versions, not only those this host has. */
static int
rollback_target(struct app *a, const char *arg, unsigned *target)
{
	int rc;

	if (arg != NULL)
		return pick_version(a, arg, target);
	if ((rc = a->cluster_base != 0 ? cluster_rollback_default(a, target) :
	    local_default(a, target)) != 0)
		return rc;
	if (*target == 0) {
		diag_error("%s: no earlier release to roll back to", a->name);
		return EXIT_NOINPUT;
	}
	return 0;
}

/* releases/vN/images of the release whose slug path is in buf (reused). */
static const char *
images_of(struct app *a, unsigned v, char *buf)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s/releases/v%u/images", a->dir,
	    v) == -1)
		return "";
	return strcpy(buf, path);
}

int
cmd_rollback(struct app *a, const char *arg)
{
	struct newrel nr;
	struct relinfo r;
	char from[PATH_MAX], to[PATH_MAX], desc[64];
	unsigned t, v;
	int rc;

	if ((rc = app_lock(a)) != 0 || (rc = cluster_begin_base(a)) != 0 ||
	    (rc = rollback_target(a, arg, &t)) ||
	    (rc = follow_store(a, t)) != 0 ||
	    (rc = app_read_release(a, t, &r)) != 0)
		return rc;
	if (strcmp(r.status, "pending") == 0) {
		diag_error("%s: v%u is still pending", a->name, t);
		return EXIT_DATAERR;
	}
	if (state_pathf(from, sizeof(from), "%s/releases/v%u/slug", a->dir,
	    t) == -1 || access(from, F_OK) == -1) {
		diag_error("%s: the slug of v%u was removed (keep_slugs)",
		    a->name, t);
		return EXIT_NOINPUT;
	}
	if ((rc = newrel_begin(a, &nr)) != 0)
		return rc;
	snprintf(desc, sizeof(desc), "Rollback to v%u", t);
	newrel_describe(&nr, desc, r.slug_sha256, r.commit[0] ? r.commit : NULL);
	nr.logline = desc;
	if (state_pathf(to, sizeof(to), "%s/slug", nr.staging) == -1)
		rc = EXIT_SOFTWARE;
	if (rc == 0 && (rc = slug_link(from, to)) == 0 &&
	    (rc = slug_seal(to)) == 0 &&
	    (rc = release_images_copy(images_of(a, t, from), nr.staging)) == 0 &&
	    (rc = app_read_env(a, t, &nr.env)) == 0 &&
	    (rc = app_commit(a, &nr, &v)) == 0)
		printf("v%u\n", v);
	newrel_abort(&nr);
	return rc;
}
