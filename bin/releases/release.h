/* SPDX-License-Identifier: ISC */
/* release: the parts of the tool and the app state layout they share. */
#ifndef RELEASE_H
#define RELEASE_H

#include <limits.h>
#include <stddef.h>

#include "conf.h"
#include "env.h"

struct logclient;

/* The longest description kept: inih reads lines of at most 200 bytes. */
#define REL_DESC_MAX	150

/* One app: DYNO_ROOT/apps/NAME, the user acting on it, its log. */
struct app {
	const struct conf *conf;
	const char	*name;
	char		 dir[PATH_MAX];		/* DYNO_ROOT/apps/NAME */
	char		 user[64];		/* the Unix user, for app[api] */
	int		 lockfd;		/* -1 until app_lock() */
	unsigned	 cluster_base;		/* cluster_begin: etcd's current */
	struct logclient *lc;
};

/* The [release] section of releases/vN/release. */
struct relinfo {
	unsigned	 version;
	char		 description[REL_DESC_MAX + 1];
	char		 created[32];		/* RFC 3339 UTC */
	char		 user[64];
	char		 slug_sha256[65];
	char		 status[16];		/* pending, succeeded, failed */
	char		 commit[64];
};

/*
 * A release being made: its slug and env wait in a staging folder
 * (releases/.staging-PID, flock'd while in use) until app_commit() gives
 * it a version under the app lock.
 */
struct newrel {
	char		 staging[PATH_MAX];
	int		 stagefd;
	struct relinfo	 info;
	struct env	 env;
	const char	*logline;	/* "Deploy abc", "Set A config vars"... */
	unsigned	 follow;	/* cluster: make vN of another host's */
	int		 store_only;	/* follow: vN stored, current and the
					   manager left alone; info.status set */
};

/* Options gathered by main() for the subcommands. */
struct opts {
	const char	*slug;
	const char	*images;	/* --images DIR: TYPE files */
	const char	*description;
	const char	*commit;
	unsigned	 num;
	int		 shell;
	int		 output;	/* show: the build's output too */
};

/* Every function returning int below returns 0 or an exit code, and has
 * already printed why (diag). */

/* release-app.c: layout, lock, listing, recovery, retention. */
int	app_open(struct app *, const struct conf *, const char *name,
	    int must_exist);
void	app_close(struct app *);
int	app_lock(struct app *);
/* After a failed command on an app that did not exist: its empty folder
 * and lock removed (anything more is kept). */
void	app_forget_new(struct app *);
int	app_versions(struct app *, unsigned **v, size_t *n);
unsigned app_current(struct app *);
int	app_read_release(struct app *, unsigned version, struct relinfo *);
int	app_write_release(const char *path, const struct relinfo *);
int	app_read_env(struct app *, unsigned version, struct env *);
int	app_recover(struct app *);
void	app_prune(struct app *, unsigned keep1, unsigned keep2);
int	app_ensure_files(struct app *, const char *slugdir);
int	app_parse_version(const char *s, unsigned *out);

/* release-commit.c: staging and turning a staged release into vN. */
int	newrel_begin(struct app *, struct newrel *);
void	newrel_abort(struct newrel *);
void	newrel_describe(struct newrel *, const char *desc, const char *sha,
	    const char *commit);
int	app_commit(struct app *, struct newrel *, unsigned *version);
int	release_base(struct app *, unsigned *version);

/* release-slug.c: import, hardlink, seal and remove slug trees. */
int	slug_import(const struct conf *, const char *src, const char *dest,
	    char sha[65]);
int	slug_link(const char *src, const char *dest);
int	slug_seal(const char *dir);
int	slug_remove(const char *dir);
int	slug_check_procfile(const char *dir, int *has_web, int *has_release);
/* sha256 (lowercase hex) of the file at path, refused over slug_max. */
int	slug_hash_file(const struct conf *, const char *path, char sha[65]);
/* Say R17 for shown (want expected, got found); returns EXIT_DATAERR. */
int	slug_r17(const char *shown, const char *want, const char *got);
/* Copy the archive path (sha256 sha) into DYNO_ROOT/slugs when it exists. */
int	slug_store(const struct conf *, const char *path, const char *sha);

/*
 * release-image.c: copy the image files of folder src (TYPE files, each
 * "sha256:HEX") into staging/images; nothing when src does not exist.
 */
int	release_images_copy(const char *src, const char *staging);

/*
 * release-cluster.c: when [cluster] etcd is set (0 and nothing done when
 * not): cluster_begin takes the app's release lock in etcd and reads the
 * cluster's current release (a->cluster_base); cluster_base_env gives its
 * config vars from etcd; cluster_allocate takes the release's version in
 * etcd (releases/vN created, *version in: this host's next);
 * cluster_publish moves current there after the release phase.  Each
 * returns 0 or an exit status having said why.  cluster_etcd is the
 * lock holder's connection.
 */
struct etcd;
int	cluster_begin(struct app *);
int	cluster_base_env(struct app *, struct env *);
int	cluster_allocate(struct app *, struct newrel *, unsigned *version);
int	cluster_publish(struct app *, unsigned version);
struct etcd *cluster_etcd(void);
/* A version name from etcd: exactly "v" and digits without a leading
 * zero, 1..999999999.  0, or -1. */
int	cluster_parse_version(const char *s, unsigned *out);
/* Rollback's default on a cluster: the newest version below the cluster's
 * current whose record says succeeded.  0, or an exit status. */
int	cluster_rollback_default(struct app *, unsigned *version);

/* release-follow.c: release follow APP: the cluster's current vN made here
 * from etcd's record (checked: another host's word) and the slug fetched
 * from a host that has it. */
int	cmd_follow(struct app *);
/* vN of etcd's record made here and current (no output); 0 or an exit
 * status. */
int	follow_version(struct app *, struct etcd *, unsigned version);
/* After cluster_begin: vN of etcd's record stored here when this host
 * lacks it, current and the manager left alone (0 off a cluster). */
int	follow_store(struct app *, unsigned version);
/* cluster_begin, then the cluster's current made here when it lacks it. */
int	cluster_begin_base(struct app *);

/* release-fetch.c: download a URL to a file (libcurl). */
int	fetch_url(const struct conf *, const char *url, const char *path);

/*
 * release-store.c: release fetch URL SHA256: download into DYNO_ROOT/slugs,
 * verify size and sha256 before the rename that makes it sha256-HEX.tgz
 * (R17 otherwise); cmd_fetch prints the stored path, slug_fetch puts it
 * in `to`.
 */
int	cmd_fetch(const struct conf *, const char *url, const char *hex);
int	slug_fetch(const struct conf *, const char *url, const char *hex,
	    char *to, size_t size);

/* release-phase.c: the release phase in a one-off dyno. */
int	phase_run(struct app *, unsigned version, const char *command);

/* release-cmd.c: the subcommands on releases. */
int	cmd_create(struct app *, const struct opts *);
int	cmd_list(struct app *, const struct opts *);
/* With `output`, the build output dyno-build kept with the release
 * (apps/APP/builds/vN.log) follows; "none" when it has none. */
int	cmd_show(struct app *, const char *version, int output);
int	cmd_rollback(struct app *, const char *version);

/* release-config.c: the config subcommands (set and unset make a release). */
int	cmd_config_show(struct app *, const struct opts *);
int	cmd_config_get(struct app *, const char *key);
int	cmd_config_set(struct app *, char **pairs, int n);
int	cmd_config_unset(struct app *, char **keys, int n);

/* release-appconf.c: app.conf settings (no release is made). */
int	app_ensure_id(struct app *);
int	cmd_labs_show(struct app *);
int	cmd_labs_set(struct app *, const char *feature, int on);
int	cmd_maintenance(struct app *, int set, int on);

#endif
