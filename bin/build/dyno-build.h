/* SPDX-License-Identifier: ISC */
/* dyno-build: what its parts share (private to the tool). */
#ifndef DYNO_BUILD_H
#define DYNO_BUILD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "env.h"

#define BUILD_MAX_PACKS		16		/* buildpacks in one build */
#define BUILD_SRC_MAX		(1024ULL << 20)	/* a checkout: 1 GB (Heroku) */
#define BUILD_SRC_FILES		200000		/* and its files */
#define BUILD_LOG_MAX		(16U << 20)	/* output kept with a release */
#define BUILD_YAML_MAX		(256U << 10)	/* bin/release's output */
#define BUILD_NAME_MAX		128		/* bin/detect's name */
#define BUILD_SLUGIGNORE_MAX	(64U << 10)

/* One buildpack of the build: where it came from, its folder in WORK. */
struct pack {
	char	 url[1024];		/* as given: folder, git URL#ref, URL */
	char	 dir[32];		/* "buildpacks/N" beneath WORK */
	char	 name[BUILD_NAME_MAX];	/* what bin/detect printed */
	int	 tenant;		/* named by the app: network URLs only */
};

/* A build in progress; one per run of the tool. */
struct build {
	const struct conf *conf;
	char	 app[64];
	char	 user[128];		/* for app[api] lines */
	char	 appdir[PATH_MAX];	/* DYNO_ROOT/apps/APP */
	char	 work[PATH_MAX];	/* appdir/build: bound at /app */
	char	 commit[64];		/* source commit, "" if none */
	char	 buildpacks_dir[PATH_MAX];	/* the default list */
	char	 net[160];		/* dyno-run --net, "" for its default */
	char	 size[CONF_NAME_MAX];
	uint64_t deadline_ms;		/* CLOCK_MONOTONIC */
	uint64_t timeout_ms;
	struct pack packs[BUILD_MAX_PACKS];
	unsigned npacks;
	int	 explicit;		/* packs named, not detected */
	int	 userns;		/* build dynos in a user namespace */
	struct env config;		/* the current release's config vars */
	char	*log;			/* everything shown, kept with vN */
	size_t	 loglen;
	int	 logcut;
	struct logclient *lc;
	char	*slugignore;		/* .slugignore as pushed, or NULL */
	char	 types[1024];		/* "web, worker" for the summary */
};

/* dyno-build-out.c: what the pusher sees, and the kept copy. */
void	out_line(struct build *b, const char *line, size_t len);
void	out_head(struct build *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	out_text(struct build *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	out_fail(struct build *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	out_api(struct build *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	out_keep(struct build *b, unsigned version);

/*
 * dyno-build-source.c: the app's files into WORK/build.  Each returns 0,
 * or an exit code after saying why.  Archives and folders are taken
 * member by member: no ".." or absolute path, no link that climbs out, no
 * device or FIFO, at most BUILD_SRC_MAX bytes and BUILD_SRC_FILES files.
 */
int	source_dir(struct build *b, const char *dir, int skip_git);
int	source_copy_dir(const char *dir, const char *dest, int skip_git,
	    char *err, size_t errlen);
int	source_archive_fd(struct build *b, int fd, const char *what);
int	source_archive_file(struct build *b, const char *path);
int	source_url(struct build *b, const char *url);
int	source_git(struct build *b, const char *url);
int	source_unpack_to(int fd, const char *dest, const char *what,
	    uint64_t max, char *err, size_t errlen);
int	source_fetch_url(const char *url, int fd, uint64_t max, char *err,
	    size_t errlen);
int	source_is_url(const char *s);
int	source_is_tarball(const char *url);
void	source_ids(uid_t *uid, gid_t *gid);
void	source_set_ids(uid_t uid, gid_t gid);
int	source_chown_tree(const char *dir);
int	source_git_clone(const char *url, const char *dest, int tenant,
	    char *err, size_t errlen);

/* dyno-build-pack.c: which buildpacks, and their files into WORK. */
int	pack_choose(struct build *b, char *const *given, unsigned ngiven);
int	pack_install(struct build *b);

/* dyno-build-run.c: the steps, each in a build dyno. */
int	run_detect(struct build *b);
int	run_compile(struct build *b);
int	run_release(struct build *b, char **yaml, size_t *len);
int	run_tool(const char *tool, char *const argv[], char **out,
	    size_t outmax, int stream, struct build *b);
uint64_t build_now_ms(void);
/* 1, after telling the pusher, when the build's disk is full. */
int	run_disk_full(struct build *b);
/* "15 minutes" or "3s" into buf; returns buf. */
const char *run_timeout_text(const struct build *b, char *buf, size_t size);

/*
 * dyno-build-yaml.c: bin/release's YAML.  Fills `types` with
 * "type: command\n" lines of default_process_types (malloc'd, the caller
 * frees) and returns 0, or -1 with a reason in err.
 */
int	yaml_process_types(const char *yaml, size_t len, char **types,
	    char *err, size_t errlen);

/* dyno-build-slug.c: WORK/build as slug.tgz, within slug_max. */
int	slug_write(struct build *b, const char *procfile_extra,
	    const char *path, uint64_t *size);

/* dyno-build-git.c: the git side. */
int	git_shell(const struct conf *c, const char *user);
int	git_hook(const struct conf *c, const char *app);
int	git_init(const struct conf *c, const char *app, int quiet);

/*
 * dyno-build-keys.c: a pusher's key in [build] authorized_keys, with the
 * forced command --git-shell NAME (the line printed), or NAME's line
 * removed.  0, or an exit code after saying why (most errors exit).
 */
int	keys_authorize(const struct conf *c, const char *name,
	    const char *keyfile);
int	keys_revoke(const struct conf *c, const char *name);

/* dyno-build-steps.c: one build from a source to a release. */
int	build_run(const struct conf *c, const char *app, const char *user,
	    const char *source, int source_fd, const char *commit,
	    char *const *packs, unsigned npacks);

#endif
