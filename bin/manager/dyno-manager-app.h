/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: the functions its parts give each other, by file. */
#ifndef DYNO_MANAGER_APP_H
#define DYNO_MANAGER_APP_H

#include <stddef.h>
#include <sys/types.h>

#include "dyno-manager-model.h"

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
/* Start the dynos that wait for one of the start_parallel setup slots. */
void	mgr_start_waiting(struct mgr *m);
/* Watch dyno-run's info files (a setup done): 0, or -1 (then probes only). */
int	mgr_watch_info(struct mgr *m);
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
/* room: called once fewer lines wait than the low mark (resume reading). */
int	logq_open(struct mgr *m, void (*room)(struct mgr *));
void	logq_close(struct mgr *m);
int	logq_busy(const struct mgr *m);
void	logq_send(struct mgr *m, const char *source, const char *dyno,
	    const char *msg, size_t len);

/* bin/manager/dyno-manager-cgroup.c: the dynos' cgroups, from outside. */
/* Whether pid is a dyno-run --app APP (not a stranger that reused it). */
int	dynorun_of_app(pid_t pid, const char *app);
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
