/* SPDX-License-Identifier: ISC */
/*
 * dyno-manager APP: the daemon's data model (a manager, its dynos and their
 * instances), types only: every part uses them, none owns them.
 */
#ifndef DYNO_MANAGER_MODEL_H
#define DYNO_MANAGER_MODEL_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "dynostate.h"
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
	uint64_t	 spawned_ms;	/* evloop ms of the vfork */
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
	int		 waiting;	/* to start once a setup slot is free */
	int		 exit_code;	/* of the last instance (EV_EXITED) */
	struct evtimer	*probe, *boot, *restart;
	struct inst	*stopped;	/* stop: back once this one exits */
	struct dynostate written;	/* its files as we last wrote them */
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
	char		*routes;	/* APPDIR/routes as we last wrote it */
	size_t		 routeslen;
	char		 dynorun[PATH_MAX];
	unsigned	 seq;
	int		 stopping;
	unsigned	 start_limit;	/* setups at once (start_parallel) */
	int		 pumping;	/* in mgr_start_waiting */
	int		 infowatch;	/* inotify on DYNO_RUNDIR/apps/APP/info */
	int		 lockfd;
	char		 cgbase[PATH_MAX];	/* v2: where dyno/APP is; "" v1 */
	struct metrics	*metrics;	/* log-runtime-metrics, when on */
	int		 cluster;	/* APPDIR/assigned: dyno-agent's names */
	int		 fenced;	/* the agent's fence deadline is past */
};

#endif
