/* SPDX-License-Identifier: ISC */
/* dyno-run's private interfaces: the dyno description and its parts. */
#ifndef DYNO_RUN_H
#define DYNO_RUN_H

#include <limits.h>
#include <stdnoreturn.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "userns.h"
#include "env.h"

enum net_mode { NET_NONE, NET_HOST, NET_SPACE };

/* Where the dyno's init sees the host's tree until fs_finish(). */
#define HOST_ROOT	"/oldroot"

/* Everything the monitor, the init and the command need to know. */
struct dyno {
	char		 app[64];
	char		 name[72];		/* TYPE.N */
	char		 slug[PATH_MAX];	/* host path of the app tree */
	char		 stack[PATH_MAX];	/* "" = the host's /usr etc. */
	char		 image[PATH_MAX];	/* --image: DYNO_ROOT/images/sha256-HEX */
	char		 workdir[PATH_MAX];	/* --image: its WorkingDir */
	char		 home[256];		/* --image: HOME, from its passwd */
	char		 cmd_line[8192];	/* what /bin/sh -c runs */
	char		 hostname[40];		/* the dyno id */
	char		 space[160];
	char		 spacedns[PATH_MAX];	/* its private space's names, or "" */
	char		 addr[64];		/* IPv4, "" for none */
	enum net_mode	 net;
	int		 private_space;	/* space.conf mode = private */
	int		 oneoff;	/* run.N: listed by ps, ends complete */
	char		 runfile[PATH_MAX];	/* its ps entry, or "" */
	uid_t		 uid;
	gid_t		 gid;
	char		 user[64];
	char		 home_group[64];
	unsigned	 port;			/* 0: none */
	uint64_t	 grace_ms;
	uint64_t	 tmp_size;
	int		 userns;		/* in a user namespace */
	uint32_t	 idbase, idsize;	/* its ids 0.. on the host */
	int		 app_rw;		/* --app-rw: slug bound writable */
	int		 tty;			/* stdin is a terminal */
	int		 ttyslave;		/* the dyno's pty slave, or -1 */
	int		 ttysock[2];		/* passes the master out, or -1 */
	struct dyno_size size;
	struct env	 env;			/* the command's whole environment */
};

/* cgroup of one dyno, v2 where the controllers are, else v1. */
struct cg {
	int		 v2;
	char		 rel[PATH_MAX];		/* dyno/APP/NAME-PID */
	char		 base[PATH_MAX];	/* v2: where rel is (cgtree) */
	char		 v2dir[PATH_MAX];	/* v2: the dyno's folder */
	char		 mem[PATH_MAX];		/* v1 folders, "" if absent */
	char		 pids[PATH_MAX];
	char		 cpu[PATH_MAX];
	int		 v2fd;			/* v2: O_PATH|O_DIRECTORY, or -1 */
	uint64_t	 oom_kills;		/* last seen oom_kill counter */
};

/*
 * dyno-run-oneoff.c: a one-off dyno's entry in DYNO_RUNDIR/apps/APP/oneoff/
 * (what dyno-manager ps lists): oneoff_claim() picks a free run.N and
 * makes the entry (0, or -1 with err), oneoff_update() rewrites it with
 * the state, oneoff_release() removes it.  oneoff_type_command() turns
 * "TYPE ARGS" into the Procfile's command for TYPE plus ARGS when TYPE is
 * one of the slug's process types (heroku run worker): 1 if it did.
 */
int	oneoff_claim(const struct conf *c, struct dyno *d, char *err,
	    size_t errlen);
void	oneoff_update(const struct dyno *d, const char *state, pid_t init,
	    const char *cgroup);
void	oneoff_release(struct dyno *d);
int	oneoff_type_command(struct dyno *d, int argc, char **argv);
/* Detached: the dyno's output to the log stream; prints the name, 0. */
int	oneoff_detach(struct dyno *d, const struct conf *c);

/*
 * dyno-run-image.c: image_resolve() takes the image folder `dir` (dies
 * when it is not one), its WorkingDir, its command when need_command, and
 * its User unless keep_user (--user given): d->userns must be known;
 * image_env() sets the image's Env (before config vars and ours).
 */
void	image_resolve(const char *dir, int need_command, int keep_user,
	    struct dyno *d);
void	image_env(struct dyno *d);
/*
 * The root of stack NAME (DYNO_ROOT/stacks/NAME names an image), locked
 * shared against dyno-image gc for the dyno's life; dies when it is not
 * there.  A static buffer.
 */
const char *image_stack(const char *root, const char *name);

/* dyno-run-monitor.c: start the dyno, watch it; returns the exit status. */
int	monitor_run(struct dyno *d, const struct conf *c, const char *info_file);

/*
 * dyno-run-cgroup.c: cg_init() names the dyno's cgroup (v2 or v1) without
 * making it, cg_create() makes it with the size's limits; 0, or the exit
 * code to end with (EXIT_CONFIG when the host's cgroups cannot give a
 * dyno its controllers, EXIT_OSERR else) with err filled.
 */
int	cg_init(struct cg *cg, const struct dyno *d, char *err, size_t errlen);
int	cg_create(struct cg *cg, const struct dyno *d, char *err, size_t errlen);
/* The calling process (single-threaded) joins the cgroup; the host's
 * tree is under `root` ("" or HOST_ROOT). */
int	cg_join(const struct cg *cg, const char *root, char *err,
	    size_t errlen);
/* The cgroup as /proc/PID/cgroup names it (v1: in each hierarchy). */
const char *cg_path(const struct cg *cg);
void	cg_kill(struct cg *cg);
void	cg_remove(struct cg *cg);
/* Memory in use (bytes), and the peak; 0 when unknown. */
uint64_t cg_mem_current(const struct cg *cg);
uint64_t cg_mem_peak(const struct cg *cg);
/*
 * 1 when the dyno is at its hard limit `limit` (v1: waiting in OOM; v2:
 * its anonymous memory at memory.high) or the kernel OOM-killed something
 * since the last call; else 0.
 */
int	cg_oom_happened(struct cg *cg, uint64_t limit);

/*
 * dyno-run-fs.c: build the root filesystem in the new mount namespace:
 * fs_prepare() all but /app, fs_finish() /app (idmapped through the
 * user namespace `userns` unless -1) and the switch to the new root.
 */
int	fs_prepare(const struct dyno *d, char *err, size_t errlen);
/* The dyno's own /etc/hosts lines (localhost, its hostname) into buf:
 * their length, 0 when they do not fit. */
size_t	fs_hosts_text(const struct dyno *d, char *buf, size_t size);
int	fs_finish(const struct dyno *d, int userns, char *err, size_t errlen);
/* The host's ids of the dyno user: the app's range under a userns. */
uid_t	host_uid(const struct dyno *d);
gid_t	host_gid(const struct dyno *d);
/* The monitor's: a user namespace mapping the slug's owner to the dyno
 * user, for fs_finish(); -1 when none is needed or can be made. */
int	fs_slug_userns(const struct dyno *d);
/* Write "FROM TO COUNT" to /proc/PID/WHICH (uid_map, gid_map): 0 or -1. */
int	fs_write_idmap(pid_t pid, const char *which, unsigned from, unsigned to,
	    unsigned count);

/*
 * dyno-run-init.c: init_prepare() makes the hostname, loopback and root
 * filesystem but /app, init_finish() /app (both exit on failure);
 * init_main() is the dyno's PID 1.
 */
void	init_prepare(const struct dyno *d, int statusfd);
void	init_finish(const struct dyno *d, int userns, int statusfd);
noreturn void init_main(const struct dyno *d, int statusfd);

/*
 * dyno-run-direct.c: when line is a lone simple command (words, '...',
 * \c, an optional exec; no builtin, no expansion, no variable that
 * changes the shell), its file, argv and envp (with what the shell
 * would add: PWD; for bash SHLVL and _) for execve without the shell:
 * 1, and the caller owns them until the exec.  0 when the shell must
 * run the line (nothing set), -1 on ENOMEM.
 */
int	direct_command(const struct dyno *d, const char *line, int bash,
	    char **file, char ***argv, char ***envp);

/*
 * dyno-run-meta.c: the HEROKU_* dyno metadata of the release in reldir
 * into d->env (HEROKU_APP_ID only when appid is not "").  0, or -1 and err.
 */
int	meta_env(struct dyno *d, const char *reldir, const char *appid,
	    char *err, size_t errlen);

/* dyno-run-secure.c: drop to the dyno user, no caps, NNP, seccomp. */
int	secure_rlimits(char *err, size_t errlen);
int	secure_drop(const struct dyno *d, char *err, size_t errlen);
int	secure_load_filter(char *err, size_t errlen);

/* dyno-run-net.c: loopback up in the current network namespace: 0 or -1. */
int	net_loopback_up(void);
/* A fresh network namespace with loopback up: its fd, or -1 and err. */
int	net_new_ns(char *err, size_t errlen);
/* dyno.conf's root, common range and cluster index for the space code. */
void	net_init(const struct conf *c);
/* The dyno on its space (sets d->addr): 0, or -1 and err. */
int	net_attach(struct dyno *d, pid_t pid, char *err, size_t errlen);
void	net_detach(struct dyno *d);
/* Detach the lease `pid` (the dyno's init) holds; a failure is a warning. */
void	net_detach_lease(const char *space, const char *name,
	    const char *app, pid_t pid);

/*
 * dyno-run-reclaim.c: what a dyno-run killed outright cannot undo.
 * reclaim_note() records, in DYNO_RUNDIR/dynos/APP/NAME-PID (path gets
 * its name), the dyno's cgroup folders, lease and info file, with our pid
 * and start time, and holds a shared lock on it for as long as we live:
 * the record's fd (kept open), or -1 with errno.  reclaim_sweep() undoes
 * every record of `app` (NULL: of every app) whose dyno-run is gone (a
 * locked one is skipped unread: each start's sweep stays cheap): the
 * cgroup killed and removed, the lease detached, the info file and the record
 * removed; it returns how many.
 */
int	reclaim_note(const char *rundir, const struct dyno *d,
	    const struct cg *cg, pid_t init, const char *info, char *path,
	    size_t pathlen);
int	reclaim_sweep(const char *rundir, const char *app);

/*
 * dyno-run-fdpass.c: a message of exactly len bytes with up to 4 fds.
 * fdpass_send: 0 or -1.  fdpass_recv: how many fds came (the rest -1,
 * close-on-exec), or -1 when the message did not.
 */
int	fdpass_send(int sock, const void *data, size_t len, const int *fds,
	    int nfds);
int	fdpass_recv(int sock, void *data, size_t len, int *fds, int maxfds);

/* dyno-run-tty.c: relay between our terminal and the dyno's pty. */
struct winsize;
int	tty_dyno_pty(const struct dyno *d, const struct winsize *ws, int sock,
	    int *slave, char *err, size_t errlen);
int	tty_recv_master(int sock);
int	tty_raw(int fd);
void	tty_restore(void);
void	tty_copy_winsize(int from, int to);

#endif
