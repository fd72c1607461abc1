/* SPDX-License-Identifier: ISC */
/* dyno-build: one build, from a source to a release (build_run). */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "diag.h"
#include "dyno-build.h"
#include "envfile.h"
#include "logclient.h"
#include "names.h"
#include "procfile.h"
#include "state.h"
#include "userns.h"

/* The default buildpacks: dyno.conf, else share/ beside the binary. */
static void
default_packs(const struct conf *c, char *buf, size_t size)
{
	static const char *const rel[] = { "../share/dyno/buildpacks",
	    "../share/buildpacks" };
	char self[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	if (c->build_buildpacks[0] != '\0') {
		snprintf(buf, size, "%s", c->build_buildpacks);
		return;
	}
	snprintf(buf, size, "/usr/share/dyno/buildpacks");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (state_pathf(buf, size, "%s/%s", self, rel[i]) == 0 &&
		    access(buf, F_OK) == 0)
			return;
}

/*
 * Who the build dynos run as, on the host: dyno.conf's user, shifted
 * into the app's range when its dynos have a user namespace (as
 * dyno-run decides: dyno.conf's userns, auto by the kernel).  The build
 * folder is given to those ids, so the build writes nothing else's and
 * nothing of it is anyone else's; dyno-run is told the same choice.
 */
static int
resolve_ids(struct build *b)
{
	const struct conf *c = b->conf;
	struct passwd *pw = getpwnam(c->user);
	uint32_t base = 0, size = 0;
	char err[512];

	if (pw == NULL || pw->pw_uid == 0) {
		diag_error("user %s: %s", c->user, pw ? "builds never run as "
		    "root" : "no such user");
		return EXIT_CONFIG;
	}
	b->userns = c->userns == -1 ? userns_usable() : c->userns;
	if (b->userns && userns_app_range(c, b->app, &base, &size, err,
	    sizeof(err)) == -1) {
		diag_error("userns: app %s: %s", b->app, err);
		return errno == ENOSPC || errno == ERANGE ? EXIT_CONFIG :
		    EXIT_CANTCREAT;
	}
	if (b->userns && (pw->pw_uid >= size || pw->pw_gid >= size)) {
		diag_error("userns: user %s: ids above %u are not mapped",
		    c->user, (unsigned)size - 1);
		return EXIT_CONFIG;
	}
	source_set_ids((uid_t)(base + pw->pw_uid), (gid_t)(base + pw->pw_gid));
	return 0;
}

/* The current release's config vars, if there is one. */
static int
load_config(struct build *b)
{
	char path[PATH_MAX], err[512];

	env_init(&b->config);
	if (state_pathf(path, sizeof(path), "%s/current/env", b->appdir) == -1
	    || access(path, F_OK) == -1)
		return 0;
	if (envfile_load_release(path, &b->config, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	return 0;
}

/* ENV_DIR: one file per config var, the value exactly, readable by the
 * build user's group only. */
static int
write_env_dir(struct build *b)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const struct envvar *v;
	uid_t uid;
	gid_t gid;
	size_t i;
	int fd;

	source_ids(&uid, &gid);
	(void)state_pathf(dir, sizeof(dir), "%s/env", b->work);
	if (mkdir(dir, 0750) == -1 || chown(dir, 0, gid) == -1)
		return -1;
	for (i = 0; i < b->config.n; i++) {
		v = &b->config.vars[i];
		if (names_check_configvar(v->key) != NULL ||
		    state_pathf(path, sizeof(path), "%s/%s", dir, v->key) == -1)
			continue;
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0640)) == -1)
			return -1;
		if (fchown(fd, 0, gid) == -1 || write(fd, v->value,
		    strlen(v->value)) != (ssize_t)strlen(v->value)) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* The build dyno's environment: no config vars (they are in ENV_DIR). */
static int
write_build_env(struct build *b)
{
	char path[PATH_MAX], *text;
	struct env e;
	size_t len;
	int rc;

	env_init(&e);
	if (env_set(&e, "STACK", "dyno") == -1 ||
	    env_set(&e, "SOURCE_VERSION", b->commit) == -1 ||
	    env_set(&e, "BUILD_DIR", "/app/build") == -1 ||
	    env_set(&e, "CACHE_DIR", "/app/cache") == -1 ||
	    env_set(&e, "ENV_DIR", "/app/env") == -1 ||
	    (text = envfile_format_release(&e, &len)) == NULL) {
		env_free(&e);
		return -1;
	}
	(void)state_pathf(path, sizeof(path), "%s/build.env", b->appdir);
	rc = state_replace(path, text, len, 0600, 0);
	free(text);
	env_free(&e);
	return rc;
}

/*
 * The build's disk: WORK is a tmpfs of [build] disk, mounted in a mount
 * namespace of this process alone (slave to the host's, so the host sees
 * only an empty folder and the tmpfs dies with this process and its
 * children, even killed).  A tmpfs bounds every write of the build at
 * the write that crosses the limit (ENOSPC), where a walk of the folder
 * from time to time would see a disk filled between two looks; its pages
 * count toward the build dyno's memory, as a dyno's own writes do.
 */
static int
mount_work(struct build *b)
{
	char opts[64];

	if (b->conf->build_disk < (1U << 20)) {
		diag_error("[build] disk %llu: under 1M",
		    (unsigned long long)b->conf->build_disk);
		return EXIT_CONFIG;
	}
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1) {
		diag_error_errno("mount namespace");
		return errno == EPERM ? EXIT_NOPERM : EXIT_OSERR;
	}
	snprintf(opts, sizeof(opts), "mode=0755,uid=0,gid=0,size=%llu",
	    (unsigned long long)b->conf->build_disk);
	if (mount("dyno-build", b->work, "tmpfs", MS_NOSUID | MS_NODEV,
	    opts) == -1) {
		diag_error_errno("mount tmpfs on %s", b->work);
		return EXIT_OSERR;
	}
	return 0;
}

/*
 * The app's cache (on disk) into WORK/cache, and back when the build is
 * over: copied, as the tmpfs is another file system.  Members are taken
 * as a source is (no device, no link out, no "..").  A cache someone
 * else's (made before the app's ids were shifted, or with another user),
 * or one that does not fit, would only fail the build: it starts over.
 */
static int
cache_in(struct build *b, const char *path)
{
	char cache[PATH_MAX], err[1024];
	struct stat st;
	uid_t uid;
	gid_t gid;

	source_ids(&uid, &gid);
	(void)state_pathf(cache, sizeof(cache), "%s/cache", b->appdir);
	if (mkdir(path, 0755) == -1 || chown(path, uid, gid) == -1)
		return -1;
	if (lstat(cache, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != uid)
		return state_remove_tree(cache) == -1 && errno != ENOENT ? -1 : 0;
	if (source_copy_dir(cache, path, 0, err, sizeof(err)) == 0)
		return 0;
	diag_warn("cache not used: %s", err);
	if (state_remove_tree(path) == -1 || mkdir(path, 0755) == -1 ||
	    chown(path, uid, gid) == -1)
		return -1;
	return 0;
}

static void
cache_out(struct build *b)
{
	char path[PATH_MAX], cache[PATH_MAX], next[PATH_MAX], err[1024];
	uid_t uid;
	gid_t gid;

	source_ids(&uid, &gid);
	(void)state_pathf(path, sizeof(path), "%s/cache", b->work);
	(void)state_pathf(cache, sizeof(cache), "%s/cache", b->appdir);
	(void)state_pathf(next, sizeof(next), "%s/cache.new", b->appdir);
	if (access(path, F_OK) == -1)
		return;
	if (state_remove_tree(next) == -1 || mkdir(next, 0755) == -1 ||
	    chown(next, uid, gid) == -1 ||
	    source_copy_dir(path, next, 0, err, sizeof(err)) == -1) {
		diag_warn("cache not kept: %s", err[0] ? err :
		    strerror(errno));
		(void)state_remove_tree(next);
		return;
	}
	if (state_remove_tree(cache) == -1 || rename(next, cache) == -1)
		diag_warn_errno("keep the cache %s", cache);
}

/*
 * WORK: root's, so the build cannot swap the folders dyno-build reads
 * back; build/, cache/ and each buildpack's folder are the build user's.
 */
static int
prepare_work(struct build *b)
{
	char path[PATH_MAX];
	uid_t uid;
	gid_t gid;
	int rc;

	source_ids(&uid, &gid);
	if (state_pathf(b->work, sizeof(b->work), "%s/build", b->appdir) == -1
	    || state_remove_tree(b->work) == -1 || mkdir(b->work, 0755) == -1) {
		diag_error_errno("%s", b->work);
		return EXIT_CANTCREAT;
	}
	if ((rc = mount_work(b)) != 0)
		return rc;
	(void)state_pathf(path, sizeof(path), "%s/build", b->work);
	if (mkdir(path, 0755) == -1 || chown(path, uid, gid) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	(void)state_pathf(path, sizeof(path), "%s/cache", b->work);
	if (cache_in(b, path) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	return 0;
}

static void
finish_work(struct build *b)
{
	char env[PATH_MAX];

	cache_out(b);
	(void)state_pathf(env, sizeof(env), "%s/build.env", b->appdir);
	(void)unlink(env);
	if (umount2(b->work, MNT_DETACH) == -1 && errno != EINVAL)
		diag_warn_errno("umount %s", b->work);
	if (state_remove_tree(b->work) == -1)
		diag_warn_errno("remove %s", b->work);
}

/* .slugignore as pushed (a file beneath the source, at most 64K). */
static void
load_slugignore(struct build *b)
{
	char path[PATH_MAX];
	int fd;

	(void)state_pathf(path, sizeof(path), "%s/build", b->work);
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (beneath_read(fd, ".slugignore", BUILD_SLUGIGNORE_MAX,
	    &b->slugignore, NULL) == -1)
		b->slugignore = NULL;
	close(fd);
}

static int
fetch_source(struct build *b, const char *source, int fd)
{
	struct stat st;

	if (fd != -1)
		return source_archive_fd(b, fd, "git archive");
	if (strcmp(source, "-") == 0)
		return source_archive_fd(b, STDIN_FILENO, "standard input");
	if (source_is_url(source) && source_is_tarball(source))
		return source_url(b, source);
	if (source_is_url(source) || strncmp(source, "git://", 6) == 0 ||
	    strncmp(source, "ssh://", 6) == 0)
		return source_git(b, source);
	if (stat(source, &st) == -1) {
		diag_error_errno("%s", source);
		return EXIT_NOINPUT;
	}
	return S_ISDIR(st.st_mode) ? source_dir(b, source, 1) :
	    source_archive_file(b, source);
}

static void
human_size(uint64_t n, char *buf, size_t size)
{
	snprintf(buf, size, "%.1fM", (double)n / (1024.0 * 1024.0));
}

/* Procfile types, or the buildpack's defaults for what it leaves out. */
static int
process_types(struct build *b, const char *defaults, char **procfile)
{
	char dir[PATH_MAX], err[512], *text = NULL, *extra;
	struct procfile pf = { 0 };
	const char *line;
	size_t i, n = 0, len = 0;
	int fd, have;

	*procfile = NULL;
	(void)state_pathf(dir, sizeof(dir), "%s/build", b->work);
	if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return EXIT_OSERR;
	/* The build's tree is the tenant's: read beneath it, never through a
	 * link out; a Procfile that is not a plain file fails the build. */
	have = beneath_read(fd, "Procfile", PROCFILE_MAX, &text, &len) == 0;
	if (!have && errno != ENOENT) {
		out_fail(b, "Procfile: %s", beneath_strerror(errno));
		close(fd);
		return EXIT_DATAERR;
	}
	close(fd);
	if (have && procfile_parse("Procfile", text, len, &pf, NULL, NULL, err,
	    sizeof(err)) == -1) {
		out_fail(b, "%s", err);
		free(text);
		return EXIT_DATAERR;
	}
	for (i = 0; i < pf.n; i++)
		n += (size_t)snprintf(b->types + n, sizeof(b->types) - n,
		    "%s%s", i ? ", " : "", pf.entries[i].type);
	if (have)
		out_text(b, "Procfile declares types -> %s", pf.n ? b->types :
		    "(none)");
	extra = calloc(1, (defaults ? strlen(defaults) : 0) + 1);
	for (line = defaults; extra && line && *line; line += strcspn(line,
	    "\n") + 1) {
		char t[80];

		snprintf(t, sizeof(t), "%.*s", (int)strcspn(line, ":"), line);
		if (procfile_find(&pf, t) == NULL)
			strncat(extra, line, strcspn(line, "\n") + 1);
	}
	if (extra && *extra) {
		char names[1024];
		size_t k = 0;

		for (line = extra; *line && k < sizeof(names); line +=
		    strcspn(line, "\n") + 1)
			k += (size_t)snprintf(names + k, sizeof(names) - k,
			    "%s%.*s", k ? ", " : "", (int)strcspn(line, ":"),
			    line);
		out_text(b, "Default types for buildpack -> %s", names);
		if ((*procfile = malloc(len + strlen(extra) + 2)) != NULL)
			snprintf(*procfile, len + strlen(extra) + 2, "%s%s%s",
			    have ? text : "", have && len && text[len - 1] !=
			    '\n' ? "\n" : "", extra);
	}
	procfile_free(&pf);
	free(extra);
	free(text);
	return 0;
}

/* release create, as a user would run it; "vN" caught from its stdout. */
static int
release_create(struct build *b, const char *slug, unsigned *version)
{
	char *argv[10], *out = NULL;
	int n = 0, rc;

	argv[n++] = "release";
	argv[n++] = "create";
	argv[n++] = b->app;
	argv[n++] = "--slug";
	argv[n++] = (char *)slug;
	if (b->commit[0] != '\0') {
		argv[n++] = "--commit";
		argv[n++] = b->commit;
	}
	argv[n] = NULL;
	rc = run_tool("release", argv, &out, 65536, 0, NULL);
	*version = 0;
	if (out != NULL) {
		const char *v = strstr(out, "\nv") ? strstr(out, "\nv") + 1 :
		    out[0] == 'v' ? out : NULL;
		char *p, *nl;

		/* release's stderr came with it: show that, keep vN. */
		for (p = out; *p != '\0'; p = nl + 1) {
			if ((nl = strchr(p, '\n')) == NULL)
				break;
			if (p[0] != 'v' || strspn(p + 1, "0123456789") !=
			    (size_t)(nl - p - 1))
				out_text(b, "%.*s", (int)(nl - p), p);
		}
		if (rc == 0 && v != NULL)
			*version = (unsigned)strtoul(v + 1, NULL, 10);
		free(out);
	}
	return rc;
}

static int
compress_and_release(struct build *b, const char *yaml, size_t ylen)
{
	char err[512], *defaults = NULL, *procfile = NULL, slug[PATH_MAX];
	char hs[32], hm[32];
	uint64_t size;
	unsigned v;
	int rc;

	out_head(b, "Discovering process types");
	if (yaml_process_types(yaml, ylen, &defaults, err, sizeof(err)) ==
	    -1) {
		out_fail(b, "bin/release printed bad YAML: %s", err);
		return EXIT_DATAERR;
	}
	if ((rc = process_types(b, defaults, &procfile)) != 0)
		goto out;
	out_head(b, "Compressing...");
	(void)state_pathf(slug, sizeof(slug), "%s/slug.tgz", b->work);
	if (slug_write(b, procfile, slug, &size) == -1) {
		char t[32];

		if (errno == ETIMEDOUT) {
			out_fail(b, "Timed out compressing the slug (%s)",
			    run_timeout_text(b, t, sizeof(t)));
			rc = EXIT_TEMPFAIL;
		} else
			rc = run_disk_full(b) ? EXIT_DATAERR : EXIT_CANTCREAT;
		goto out;
	}
	human_size(size, hs, sizeof(hs));
	if (size > b->conf->slug_max) {
		human_size(b->conf->slug_max, hm, sizeof(hm));
		out_fail(b, "Compiled slug size: %s is too large (max is %.0fM).",
		    hs, (double)b->conf->slug_max / (1024.0 * 1024.0));
		rc = EXIT_DATAERR;
		goto out;
	}
	out_text(b, "Done: %s", hs);
	out_head(b, "Launching...");
	if ((rc = release_create(b, slug, &v)) != 0 || v == 0) {
		out_fail(b, "Release failed (release create exited %d)", rc);
		rc = rc ? rc : EXIT_SOFTWARE;
		goto out;
	}
	out_text(b, "Released v%u", v);
	rc = 0;
	(void)out_keep(b, v);
out:
	free(defaults);
	free(procfile);
	return rc;
}

static int
build_steps(struct build *b, const char *source, int fd, char *const *packs,
    unsigned npacks)
{
	char *yaml = NULL;
	size_t ylen;
	int rc;

	if ((rc = fetch_source(b, source, fd)) != 0 ||
	    (rc = load_config(b)) != 0)
		return rc;
	load_slugignore(b);
	if (write_env_dir(b) == -1 || write_build_env(b) == -1) {
		diag_error_errno("%s", b->work);
		return EXIT_CANTCREAT;
	}
	if ((rc = pack_choose(b, packs, npacks)) != 0 ||
	    (rc = pack_install(b)) != 0 || (rc = run_detect(b)) != 0 ||
	    (rc = run_compile(b)) != 0 || (rc = run_release(b, &yaml,
	    &ylen)) != 0)
		return rc;
	rc = compress_and_release(b, yaml, ylen);
	free(yaml);
	return rc;
}

int
build_run(const struct conf *c, const char *app, const char *user,
    const char *source, int source_fd, const char *commit,
    char *const *packs, unsigned npacks)
{
	static struct build b;
	char lock[PATH_MAX];
	int lockfd, rc;

	memset(&b, 0, sizeof(b));
	b.conf = c;
	snprintf(b.app, sizeof(b.app), "%s", app);
	if ((rc = resolve_ids(&b)) != 0)
		return rc;
	snprintf(b.user, sizeof(b.user), "%s", user);
	snprintf(b.commit, sizeof(b.commit), "%s", commit ? commit : "");
	snprintf(b.size, sizeof(b.size), "%s", c->build_size);
	snprintf(b.net, sizeof(b.net), "%s", c->build_network);
	default_packs(c, b.buildpacks_dir, sizeof(b.buildpacks_dir));
	b.timeout_ms = c->build_timeout_ms;
	b.deadline_ms = build_now_ms() + c->build_timeout_ms;
	/* Absolute: dyno-run binds it, libarchive walks it. */
	if (state_pathf(lock, sizeof(lock), "%s/apps/%s", c->root, app)
	    == -1 || state_mkdirs(lock, 0755) == -1 ||
	    realpath(lock, b.appdir) == NULL)
		diag_die_errno(EXIT_CANTCREAT, "%s", lock);
	(void)state_pathf(lock, sizeof(lock), "%s/build.lock", b.appdir);
	if ((lockfd = state_lock(lock, 0)) == -1)
		diag_die(errno == EWOULDBLOCK ? EXIT_TEMPFAIL : EXIT_OSERR,
		    "%s: %s", app, errno == EWOULDBLOCK ?
		    "a build is already running" : strerror(errno));
	b.lc = logclient_open(c->rundir);
	out_api(&b, "Build started by user %s", b.user);
	if ((rc = prepare_work(&b)) == 0) {
		out_head(&b, "Building on the dyno stack");
		rc = build_steps(&b, source, source_fd, packs, npacks);
	}
	finish_work(&b);
	if (rc != 0) {
		out_fail(&b, "Push failed");
		(void)out_keep(&b, 0);
	}
	out_api(&b, rc == 0 ? "Build succeeded" : "Build failed");
	if (b.lc != NULL)
		logclient_close(b.lc);
	close(lockfd);
	env_free(&b.config);
	free(b.log);
	free(b.slugignore);
	return rc;
}
