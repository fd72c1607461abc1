/* SPDX-License-Identifier: ISC */
/* release: an app's state folder: lock, versions, release files, recovery. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appconf.h"
#include "diag.h"
#include "envfile.h"
#include "logclient.h"
#include "names.h"
#include "num.h"
#include "procfile.h"
#include "state.h"
#include "uuid.h"

#include "release.h"

static void
whoami(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)getuid());
}

int
app_open(struct app *a, const struct conf *c, const char *name,
    int must_exist)
{
	const char *why;
	struct stat st;

	memset(a, 0, sizeof(*a));
	a->lockfd = -1;
	a->conf = c;
	a->name = name;
	if ((why = names_check_app(name)) != NULL) {
		diag_error("%s: bad app name: %s", name, why);
		return EXIT_USAGE;
	}
	if (state_pathf(a->dir, sizeof(a->dir), "%s/apps/%s", c->root,
	    name) == -1) {
		diag_error_errno("%s/apps/%s", c->root, name);
		return EXIT_USAGE;
	}
	if (must_exist && stat(a->dir, &st) == -1) {
		if (errno == ENOENT) {
			diag_error("%s: no such app", name);
			return EXIT_NOINPUT;
		}
		diag_error_errno("%s", a->dir);
		return diag_exit_for_errno(errno);
	}
	whoami(a->user, sizeof(a->user));
	a->lc = logclient_open(c->rundir);
	return 0;
}

void
app_close(struct app *a)
{
	if (a->lockfd != -1)
		close(a->lockfd);
	a->lockfd = -1;
	logclient_close(a->lc);
	a->lc = NULL;
}

/* The lock file's fd still names path (app_forget_new may have removed
 * it while we waited): 1, else 0. */
static int
lock_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The app's lock file, locked (waiting for another holder); -1 with
 * errno. */
static int
lock_file(struct app *a, const char *path)
{
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		if (state_mkdirs(a->dir, 0755) == -1)
			return -1;
		if ((fd = state_lock(path, 0)) == -1 && errno == EWOULDBLOCK) {
			if (isatty(STDERR_FILENO) && tries == 0)
				diag_warn("%s: waiting for another release "
				    "command", a->name);
			fd = state_lock(path, 1);
		}
		if (fd == -1 || lock_current(fd, path))
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/*
 * Every read-modify-write of the app holds this lock (dyno-manager's scale
 * takes it too).  Waiting is right: the other holder finishes in bounded
 * time (at worst a release phase, capped by release_timeout).
 */
int
app_lock(struct app *a)
{
	char path[PATH_MAX];

	if (a->lockfd != -1)
		return 0;
	if (state_pathf(path, sizeof(path), "%s/lock", a->dir) == -1)
		return EXIT_SOFTWARE;
	if ((a->lockfd = lock_file(a, path)) == -1) {
		diag_error_errno("%s", path);
		return diag_exit_for_errno(errno);
	}
	return app_recover(a);
}

/* a->dir holds nothing but its lock file: 1, else 0. */
static int
only_lock(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int only = 1;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (only && (de = readdir(d)) != NULL)
		only = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name,
		    "..") == 0 || strcmp(de->d_name, "lock") == 0;
	closedir(d);
	return only;
}

/*
 * A command that failed on an app it was to make (its folder did not
 * exist before) leaves nothing: the folder goes while it holds no more
 * than the lock and an empty releases/.  The lock file goes while held,
 * so a command waiting on it takes a new one (lock_file).
 */
void
app_forget_new(struct app *a)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s/releases", a->dir) == -1)
		return;
	(void)rmdir(path);
	if (!only_lock(a->dir) || state_pathf(path, sizeof(path), "%s/lock",
	    a->dir) == -1)
		return;
	if (unlink(path) == -1 && errno != ENOENT)
		return;
	if (rmdir(a->dir) == -1 && errno != ENOENT)
		diag_warn_errno("removing %s", a->dir);
}

/* "v12" or "12" into 12; versions start at 1. */
int
app_parse_version(const char *s, unsigned *out)
{
	if (*s == 'v' || *s == 'V')
		s++;
	return num_parse_uint(s, 1, 999999999, out);
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The versions under releases/, ascending, malloc'd (NULL when none). */
int
app_versions(struct app *a, unsigned **v, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned *nv, ver;
	size_t cap = 0;
	DIR *d;

	*v = NULL;
	*n = 0;
	if (state_pathf(path, sizeof(path), "%s/releases", a->dir) == -1)
		return EXIT_SOFTWARE;
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		diag_error_errno("%s", path);
		return EXIT_OSERR;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != 'v' || app_parse_version(de->d_name,
		    &ver) == -1)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = reallocarray(*v, cap, sizeof(**v))) == NULL) {
				closedir(d);
				diag_die_errno(EXIT_OSERR, "reallocarray");
			}
			*v = nv;
		}
		(*v)[(*n)++] = ver;
	}
	closedir(d);
	if (*n > 0)
		qsort(*v, *n, sizeof(**v), cmp_uint);
	return 0;
}

/* The version `current` names, 0 when there is none (or it is garbage). */
unsigned
app_current(struct app *a)
{
	char path[PATH_MAX], target[PATH_MAX];
	unsigned ver;
	ssize_t n;

	if (state_pathf(path, sizeof(path), "%s/current", a->dir) == -1)
		return 0;
	if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
		return 0;
	target[n] = '\0';
	if (strncmp(target, "releases/v", 10) != 0 ||
	    app_parse_version(target + 9, &ver) == -1)
		return 0;
	return ver;
}

static int
ini_release(void *arg, const char *section, const char *name,
    const char *value)
{
	struct relinfo *r = arg;
	char *dst = NULL;
	size_t size = 0;

	if (strcmp(section, "release") != 0)
		return 1;
#define F(f) else if (strcmp(name, #f) == 0) { dst = r->f; size = sizeof(r->f); }
	if (strcmp(name, "version") == 0)
		return num_parse_uint(value, 1, 999999999, &r->version) == 0;
	F(description) F(created) F(user) F(slug_sha256) F(status) F(commit)
#undef F
	if (dst != NULL)
		snprintf(dst, size, "%s", value);
	return 1;
}

int
app_read_release(struct app *a, unsigned version, struct relinfo *r)
{
	char path[PATH_MAX];
	int rc;

	memset(r, 0, sizeof(*r));
	if (state_pathf(path, sizeof(path), "%s/releases/v%u/release", a->dir,
	    version) == -1)
		return EXIT_SOFTWARE;
	if ((rc = ini_parse(path, ini_release, r)) < 0) {
		if (access(path, F_OK) == -1) {
			diag_error("%s: no release v%u", a->name, version);
			return EXIT_NOINPUT;
		}
		diag_error_errno("%s", path);
		return EXIT_OSERR;
	}
	if (rc > 0 || r->version != version) {
		diag_error("%s:%d: bad release file", path, rc);
		return EXIT_DATAERR;
	}
	return 0;
}

int
app_write_release(const char *path, const struct relinfo *r)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "[release]\nversion=%u\n"
	    "description=%s\ncreated=%s\nuser=%s\nslug_sha256=%s\n"
	    "status=%s\ncommit=%s\n", r->version, r->description, r->created,
	    r->user, r->slug_sha256, r->status, r->commit);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return EXIT_SOFTWARE;
	/* Releases are durable: fsync the file and its folder. */
	if (state_replace(path, buf, (size_t)n, 0644, STATE_FSYNC) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	return 0;
}

int
app_read_env(struct app *a, unsigned version, struct env *e)
{
	char path[PATH_MAX], err[512];

	if (state_pathf(path, sizeof(path), "%s/releases/v%u/env", a->dir,
	    version) == -1)
		return EXIT_SOFTWARE;
	if (envfile_load_release(path, e, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return errno == ENOENT ? EXIT_NOINPUT : EXIT_DATAERR;
	}
	return 0;
}

static int
staging_alive(const char *pidstr)
{
	unsigned pid;

	if (num_parse_uint(pidstr, 1, INT_MAX, &pid) == -1)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Remove staging folders whose maker died (their flock is free). */
static void
recover_staging(struct app *a)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	if (state_pathf(path, sizeof(path), "%s/releases", a->dir) == -1 ||
	    (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".staging-", 9) != 0 ||
		    state_pathf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) == -1)
			continue;
		/*
		 * Its maker holds a flock from just after mkdir(2); a live
		 * pid covers that short window.
		 */
		if (staging_alive(de->d_name + 9))
			continue;
		fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
			if (fd != -1)
				close(fd);
			continue;
		}
		if (slug_remove(sub) == -1)
			diag_warn_errno("removing %s", sub);
		close(fd);
	}
	closedir(d);
}

/*
 * Under the lock nobody else is making a release, so a "pending" one was
 * interrupted, and so was a "succeeded" one newer than current (killed
 * between its status and the move of current): neither was deployed, both
 * become "failed".  A pending release that current names (an older
 * version of this tool) did get deployed and becomes "succeeded".
 */
int
app_recover(struct app *a)
{
	char path[PATH_MAX];
	struct relinfo r;
	unsigned *v, cur = app_current(a);
	size_t n, i;
	int rc;

	recover_staging(a);
	if ((rc = app_versions(a, &v, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (app_read_release(a, v[i], &r) != 0 || (strcmp(r.status,
		    "pending") != 0 && (strcmp(r.status, "succeeded") != 0 ||
		    v[i] <= cur)))
			continue;
		snprintf(r.status, sizeof(r.status), "%s",
		    v[i] == cur ? "succeeded" : "failed");
		if (v[i] != cur)
			diag_warn("%s: v%u was interrupted; marked failed",
			    a->name, v[i]);
		if (state_pathf(path, sizeof(path), "%s/releases/v%u/release",
		    a->dir, v[i]) == 0 && (rc = app_write_release(path, &r)))
			break;
	}
	free(v);
	return rc;
}

/*
 * Keep the slugs of the keep_slugs newest releases, and always those of
 * keep1 and keep2 (current and the one it replaced: its dynos may still
 * be stopping).  The release and env files of every release stay.
 */
void
app_prune(struct app *a, unsigned keep1, unsigned keep2)
{
	char path[PATH_MAX];
	unsigned *v;
	size_t n, i, kept = 0;

	if (app_versions(a, &v, &n) != 0)
		return;
	for (i = n; i-- > 0;) {
		if (kept++ < a->conf->keep_slugs || v[i] == keep1 ||
		    v[i] == keep2)
			continue;
		if (state_pathf(path, sizeof(path), "%s/releases/v%u/slug",
		    a->dir, v[i]) == -1 || access(path, F_OK) == -1)
			continue;
		diag_verbose("%s: removing the slug of v%u", a->name, v[i]);
		if (slug_remove(path) == -1)
			diag_warn_errno("removing %s", path);
	}
	free(v);
}

static int
write_new(const char *path, const char *text, int flags)
{
	if (access(path, F_OK) == 0)
		return 0;
	if (state_replace(path, text, strlen(text), 0644, flags) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	return 0;
}

/*
 * app.conf with its defaults, and on the first release a formation of
 * web=1 when the Procfile declares web (other types start at 0), as
 * Heroku scales a new app.
 */
int
app_ensure_files(struct app *a, const char *slugdir)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct appconf ac;
	int web = 0, rel = 0;

	/*
	 * An empty size follows dyno.conf's [dyno] size, even as it changes;
	 * the id is the app's for good (HEROKU_APP_ID).
	 */
	appconf_init(&ac);
	if (uuid_new(ac.id) == -1)
		diag_die_errno(EXIT_OSERR, "getrandom");
	if (state_pathf(path, sizeof(path), "%s/%s", a->dir, APPCONF_FILE)
	    == -1)
		return EXIT_SOFTWARE;
	if (access(path, F_OK) == -1 && appconf_write(path, &ac, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_CANTCREAT;
	}
	if (state_pathf(path, sizeof(path), "%s/formation", a->dir) == -1)
		return EXIT_SOFTWARE;
	if (access(path, F_OK) == 0)
		return 0;
	if (slug_check_procfile(slugdir, &web, &rel) != 0)
		web = 0;
	return write_new(path, web ? "web=1\n" : "", STATE_FSYNC);
}
