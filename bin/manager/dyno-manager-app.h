/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: the daemon's data model, shared by its parts. */
#ifndef DYNO_MANAGER_APP_H
#define DYNO_MANAGER_APP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "evloop.h"
#include "linebuf.h"
#include "logclient.h"
#include "dyno-manager.h"
#include "dyno-manager-life.h"

struct mgr;
struct dyno;

/* One output pipe of one dyno-run process. */
struct pipe_in {
	struct inst	*inst;
	int		 fd;
	int		 paused;	/* not read while the log queue is full */
	struct linebuf	 lb;
};

/* One dyno-run process.  A dyno slot (web.1) has at most one current
 * instance, plus old ones that are still stopping after a restart. */
struct inst {
	struct mgr	*m;
	struct dyno	*dyno;		/* the slot, while it is current */
	char		 name[80];	/* web.1: kept after it retires */
	pid_t		 pid;
	char		 release[16];
	unsigned	 port;
	char		 addr[64];	/* IP from dyno-run's info file */
	char		 info[PATH_MAX];
	char		 cgroup[PATH_MAX];	/* from info, once needed */
	int		 info_seen;
	int		 retiring;	/* SIGTERM sent on purpose */
	int		 hardkilled;	/* SIGKILL sent (R10, grace over) */
	struct evtimer	*kill_timer;
	struct pipe_in	 out, err;
	struct inst	*next;
};

/* One dyno of the formation: TYPE.N. */
struct dyno {
	struct mgr	*m;
	char		 name[80];
	char		 type[64];
	unsigned	 num;
	enum dstate	 state;
	struct inst	*cur;
	struct inst	*old;		/* preboot: serves until cur is up */
	time_t		 started;
	unsigned	 crashes;	/* in a row, for the restart cool-off */
	uint64_t	 up_since;	/* evloop ms when it went up */
	int		 norestart;	/* exited 64/65/78: fix and restart */
	int		 exit_code;	/* of the last instance (EV_EXITED) */
	struct evtimer	*probe, *boot, *restart;
	struct inst	*stopped;	/* stop: back once this one exits */
	struct dyno	*next;
};

struct mgr {
	const struct conf *conf;
	struct app	 app;
	struct formation f;
	struct evloop	*ev;
	struct logclient *lc;
	struct logq	*lq;		/* lines on their way to logplexd */
	int		 output_paused;
	struct dyno	*dynos;
	struct inst	*insts;
	char		 dynorun[PATH_MAX];
	unsigned	 seq;
	int		 stopping;
	int		 lockfd;
	char		 cgbase[PATH_MAX];	/* v2: where dyno/APP is; "" v1 */
	struct metrics	*metrics;	/* log-runtime-metrics, when on */
};

/* bin/manager/dyno-manager-dyno.c: the lifecycle of one dyno. */
struct dyno *dyno_new(struct mgr *m, const char *type, unsigned num);
/*
 * Feed an event to the dyno's lifecycle: the table in
 * dyno-manager-life.c says the next state and the action, done here.
 */
void	dyno_event(struct mgr *m, struct dyno *d, enum devent ev);
/* Log `why` ("Restarting", "Cycling"), then EV_PREBOOT or EV_RESTART. */
void	dyno_restart(struct mgr *m, struct dyno *d, const char *why,
	    int preboot);
/* Enter a state: log the change, write dynos/NAME and, if need be, routes. */
void	dyno_set_state(struct mgr *m, struct dyno *d, enum dstate to);
void	inst_reaped(struct mgr *m, struct inst *in, int wstatus);
void	inst_hardkill(struct mgr *m, struct inst *in);
struct inst *inst_find(struct mgr *m, pid_t pid);
void	mgr_write_routes(struct mgr *m);
void	mgr_logf(struct mgr *m, const char *dyno, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Stop and resume reading every dyno's output: the backpressure of the
 * log queue (logq_busy).
 */
void	mgr_pause_output(struct mgr *m);
void	mgr_resume_output(struct mgr *m);

/*
 * bin/manager/dyno-manager-logq.c: the app's log lines to logplexd, in order, none
 * lost below its bounds (see there).  logq_open: 0 or -1 with errno.
 * logq_busy: 1 when the dynos' output should wait (mgr_pause_output).
 */
struct logq;
int	logq_open(struct mgr *m);
void	logq_close(struct mgr *m);
int	logq_busy(const struct mgr *m);
void	logq_send(struct mgr *m, const char *source, const char *dyno,
	    const char *msg, size_t len);

/* bin/manager/dyno-manager-app.c */
/* Whether pid is a dyno-run --app APP (not a stranger that reused it). */
int	dynorun_of_app(pid_t pid, const char *app);

/* bin/manager/dyno-manager-cgroup.c: the dynos' cgroups, from outside. */
/*
 * On cgroup v2: find the base of the dynos' cgroups (cgtree_base) and move
 * the manager out of it into a leaf, so that the base can give its
 * children controllers.  0, or an exit code with the error said.
 */
int	mgr_cgroup_setup(struct mgr *m);
/*
 * SIGKILL every process of the dyno cgroup rel (as an info file's cgroup=
 * names it, v2 != 0 on cgroup v2) in each hierarchy; nothing unless rel is
 * a dyno's own cgroup (cgtree_dyno_rel).
 */
void	mgr_cgroup_kill(int v2, const char *rel);
/* The same for the cgroup the instance's info file names, once it does. */
void	mgr_cgroup_kill_inst(struct mgr *m, struct inst *in);
/* Start `dyno-run --reclaim` in the background (SIGCHLD reaps it). */
void	mgr_cgroup_reclaim(struct mgr *m);
/* rmdir the app's own cgroup folders, once its dynos are gone. */
void	mgr_cgroup_remove_app(struct mgr *m);

/* bin/manager/dyno-manager-metrics.c: start or stop log-runtime-metrics as
 * app.conf says; mgr_metrics_end() at exit. */
void	mgr_metrics_update(struct mgr *m);
void	mgr_metrics_end(struct mgr *m);

/* bin/manager/dyno-manager-stop.c: heroku ps:stop, the daemon's side. */
void	mgr_take_stop_requests(struct mgr *m);
void	mgr_stopped_reaped(struct mgr *m, const struct inst *in);

#endif
