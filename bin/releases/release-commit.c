/* SPDX-License-Identifier: ISC */
/* release: stage a release, then give it a version and make it current. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "envfile.h"
#include "logclient.h"
#include "procfile.h"
#include "state.h"

#include "release.h"

/*
 * The staging folder is flock'd by its maker, so a later run knows a
 * folder without a live lock holder is debris from a killed run.
 */
int
newrel_begin(struct app *a, struct newrel *nr)
{
	char dir[PATH_MAX];

	memset(nr, 0, sizeof(*nr));
	env_init(&nr->env);
	nr->stagefd = -1;
	if (state_pathf(dir, sizeof(dir), "%s/releases", a->dir) == -1 ||
	    state_pathf(nr->staging, sizeof(nr->staging), "%s/.staging-%ld",
	    dir, (long)getpid()) == -1)
		return EXIT_SOFTWARE;
	if (state_mkdirs(dir, 0755) == -1) {
		diag_error_errno("%s", dir);
		return EXIT_CANTCREAT;
	}
	/* A folder of our pid is left by a dead process that had it before. */
	(void)slug_remove(nr->staging);
	if (mkdir(nr->staging, 0755) == -1 || (nr->stagefd = open(nr->staging,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(nr->stagefd, LOCK_EX | LOCK_NB) == -1) {
		diag_error_errno("%s", nr->staging);
		nr->staging[0] = '\0';
		return EXIT_CANTCREAT;
	}
	return 0;
}

void
newrel_abort(struct newrel *nr)
{
	if (nr->staging[0] != '\0' && slug_remove(nr->staging) == -1)
		diag_warn_errno("removing %s", nr->staging);
	nr->staging[0] = '\0';
	if (nr->stagefd != -1)
		close(nr->stagefd);
	nr->stagefd = -1;
	env_free(&nr->env);
}

/*
 * One line in the release file: control characters become spaces, and
 * ';' (inih's inline comment) a ','; cut at REL_DESC_MAX bytes, never in
 * the middle of a UTF-8 character.
 */
static void
set_description(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i < REL_DESC_MAX; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < 0x20 || ch == 0x7f ? ' ' : ch == ';' ? ',' :
		    (char)ch;
	}
	if (src[i] != '\0')
		while (i > 0 && ((unsigned char)src[i] & 0xc0) == 0x80)
			i--;
	dst[i] = '\0';
}

void
newrel_describe(struct newrel *nr, const char *desc, const char *sha,
    const char *commit)
{
	set_description(nr->info.description, desc);
	snprintf(nr->info.slug_sha256, sizeof(nr->info.slug_sha256), "%s",
	    sha);
	snprintf(nr->info.commit, sizeof(nr->info.commit), "%s",
	    commit ? commit : "");
}

/* The release new ones build on: current, else the newest (0: none). */
int
release_base(struct app *a, unsigned *version)
{
	unsigned *v;
	size_t n;
	int rc;

	/* on a cluster: its current, made here by cluster_begin_base */
	if ((*version = a->cluster_base) != 0 ||
	    (*version = app_current(a)) != 0)
		return 0;
	if ((rc = app_versions(a, &v, &n)) != 0)
		return rc;
	*version = n > 0 ? v[n - 1] : 0;
	free(v);
	return 0;
}

static unsigned
next_version(struct app *a)
{
	unsigned *v, next = 1;
	size_t n;

	if (app_versions(a, &v, &n) == 0 && n > 0)
		next = v[n - 1] + 1;
	free(v);
	return next;
}

static void
now_rfc3339(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Write env and release into the staging folder and flush it all. */
static int
stage_files(struct newrel *nr)
{
	char path[PATH_MAX], *text;
	size_t len;
	int rc = 0;

	if ((text = envfile_format_release(&nr->env, &len)) == NULL)
		diag_die_errno(EXIT_OSERR, "envfile_format_release");
	/* Config vars are secrets: only the owner (root) reads them. */
	if (state_pathf(path, sizeof(path), "%s/env", nr->staging) == -1 ||
	    state_replace(path, text, len, 0600, STATE_FSYNC) == -1) {
		diag_error_errno("%s", path);
		rc = EXIT_CANTCREAT;
	}
	free(text);
	if (rc == 0 && (state_pathf(path, sizeof(path), "%s/release",
	    nr->staging) == -1 || (rc = app_write_release(path, &nr->info))))
		return rc ? rc : EXIT_SOFTWARE;
	/* One syncfs instead of an fsync per slug file. */
	if (rc == 0 && syncfs(nr->stagefd) == -1) {
		diag_error_errno("syncfs %s", nr->staging);
		rc = EXIT_OSERR;
	}
	return rc;
}

/* rename(2) the staging folder to releases/vN, durably. */
static int
publish(struct app *a, struct newrel *nr, char *reldir, size_t size)
{
	char dir[PATH_MAX];

	if (state_pathf(dir, sizeof(dir), "%s/releases", a->dir) == -1 ||
	    state_pathf(reldir, size, "%s/v%u", dir, nr->info.version) == -1)
		return EXIT_SOFTWARE;
	if (rename(nr->staging, reldir) == -1 || state_fsync_dir(dir) == -1) {
		diag_error_errno("%s", reldir);
		return EXIT_CANTCREAT;
	}
	nr->staging[0] = '\0';
	close(nr->stagefd);
	nr->stagefd = -1;
	return 0;
}

static int
set_status(struct app *a, const char *reldir, struct relinfo *r,
    const char *status)
{
	char path[PATH_MAX];

	(void)a;
	snprintf(r->status, sizeof(r->status), "%s", status);
	if (state_pathf(path, sizeof(path), "%s/release", reldir) == -1)
		return EXIT_SOFTWARE;
	return app_write_release(path, r);
}

/* The release phase if the slug's Procfile has a release type. */
static int
maybe_phase(struct app *a, const char *reldir, struct relinfo *r)
{
	struct procfile pf;
	const struct procfile_entry *e;
	char path[PATH_MAX], err[512];
	int rc = 0;

	if (state_pathf(path, sizeof(path), "%s/slug", reldir) == -1)
		return EXIT_SOFTWARE;
	if (procfile_load_beneath(path, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	if ((e = procfile_find(&pf, "release")) != NULL) {
		logclient_sendf(a->lc, a->name, "app", "api",
		    "Running release v%u commands by user %s", r->version,
		    a->user);
		if ((rc = phase_run(a, r->version, e->command)) != 0)
			logclient_sendf(a->lc, a->name, "app", "api",
			    "Release v%u command failed by user %s",
			    r->version, a->user);
	}
	procfile_free(&pf);
	return rc;
}

static void
notify_manager(struct app *a)
{
	char path[PATH_MAX];
	pid_t pid;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/manager.pid",
	    a->conf->rundir, a->name) == -1)
		return;
	if ((pid = state_read_pid(path)) > 0 && kill(pid, SIGHUP) == -1)
		diag_warn_errno("signalling dyno-manager (pid %ld)", (long)pid);
}

/* Point current at vN: the moment the release is deployed. */
static int
deploy(struct app *a, const char *reldir, struct relinfo *r)
{
	char link[PATH_MAX], target[64];
	int rc;

	/*
	 * Status first, so current only ever names a succeeded release; a
	 * kill between the two leaves a succeeded release newer than
	 * current, which app_recover marks failed.
	 */
	if ((rc = set_status(a, reldir, r, "succeeded")) != 0)
		return rc;
	snprintf(target, sizeof(target), "releases/v%u", r->version);
	if (state_pathf(link, sizeof(link), "%s/current", a->dir) == -1)
		return EXIT_SOFTWARE;
	if (state_symlink_replace(target, link) == -1) {
		diag_error_errno("%s", link);
		(void)set_status(a, reldir, r, "failed");
		return EXIT_CANTCREAT;
	}
	if (state_pathf(link, sizeof(link), "%s/slug", reldir) == -1)
		return EXIT_SOFTWARE;
	return app_ensure_files(a, link);
}

/*
 * Under the app lock: the next version, its files, the rename that makes
 * releases/vN, the release phase, then `current`.  Killed at any point,
 * current still names a complete release (app_recover tidies up).  A
 * store_only release (follow_store) stops after the rename.
 */
int
app_commit(struct app *a, struct newrel *nr, unsigned *version)
{
	char reldir[PATH_MAX];
	unsigned prev;
	int rc;

	if ((rc = app_lock(a)) != 0)
		return rc;
	prev = app_current(a);
	nr->info.version = nr->follow ? nr->follow : next_version(a);
	now_rfc3339(nr->info.created, sizeof(nr->info.created));
	snprintf(nr->info.user, sizeof(nr->info.user), "%s", a->user);
	if (!nr->store_only)
		snprintf(nr->info.status, sizeof(nr->info.status), "pending");
	/* on a cluster the version is etcd's, taken before a file is written */
	if ((rc = cluster_allocate(a, nr, &nr->info.version)) != 0 ||
	    (rc = stage_files(nr)) != 0 ||
	    (rc = publish(a, nr, reldir, sizeof(reldir))) != 0)
		return rc;
	/* another host's vN a command needs here: not deployed */
	if (nr->store_only) {
		*version = nr->info.version;
		return 0;
	}
	/* a follower's vN: logged, and its release phase run, where it was made */
	if (!nr->follow)
		logclient_sendf(a->lc, a->name, "app", "api", "%s by user %s",
		    nr->logline, a->user);
	if (!nr->follow && (rc = maybe_phase(a, reldir, &nr->info)) != 0) {
		(void)set_status(a, reldir, &nr->info, "failed");
		return rc;
	}
	if ((rc = deploy(a, reldir, &nr->info)) != 0)
		return rc;
	/* on a cluster: the release phase ran here, once; the hosts follow */
	if (!nr->follow && (rc = cluster_publish(a, nr->info.version)) != 0)
		return rc;
	*version = nr->info.version;
	if (!nr->follow)
		logclient_sendf(a->lc, a->name, "app", "api",
		    "Release v%u created by user %s", *version, a->user);
	notify_manager(a);
	app_prune(a, *version, prev);
	return 0;
}
