/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: a dyno's lifecycle as a [state][event] table (no I/O). */
#ifndef DYNO_MANAGER_LIFE_H
#define DYNO_MANAGER_LIFE_H

#include <stddef.h>
#include <stdint.h>

/* Dyno states as Heroku shows them (heroku.md 1.3). */
enum dstate { ST_DOWN, ST_STARTING, ST_UP, ST_CRASHED, ST_COMPLETE,
	DSTATE_N };

/* What happens to a dyno. */
enum devent {
	EV_WANTED,		/* the formation wants it running (scale) */
	EV_SPAWNED,		/* a new instance (dyno-run) was forked */
	EV_SPAWN_FAILED,	/* ... could not be */
	EV_READY,		/* the instance is set up (web: PORT accepts) */
	EV_BOOT_TIMEOUT,	/* R10: not ready within boot_timeout */
	EV_EXITED,		/* the current instance exited unasked */
	EV_RESTART,		/* restart or cycle: replace the instance */
	EV_PREBOOT,		/* restart, the old one serving meanwhile */
	EV_STOP,		/* scale down, ps:stop, manager stopping */
	EV_COOLOFF_OVER,	/* the crash cool-off has passed */
	EV_COMEBACK,		/* a stopped dyno's instance is gone */
	EV_SHUTDOWN,		/* the manager exits: everything is down */
	DEVENT_N
};

/* What the manager does on it (dyno-manager-dyno.c carries them out). */
enum daction {
	ACT_IGNORE,		/* nothing: the event is stale here */
	ACT_SET,		/* enter the new state */
	ACT_START,		/* start an instance (-> SPAWNED or FAILED) */
	ACT_START_HELD,		/* the same, if held crashed (64/65/78) */
	ACT_STARTED,		/* enter starting; probe; R10 timer for web */
	ACT_UP,			/* enter up; retire a preboot predecessor */
	ACT_HARDKILL,		/* R10 lines; SIGKILL instance and cgroup */
	ACT_CRASH,		/* enter crashed; restart after the cool-off */
	ACT_RESTART,		/* enter starting; retire; start */
	ACT_PREBOOT,		/* keep a web instance serving; start */
	ACT_STOP,		/* enter down; retire the instance */
};

struct dtrans {
	enum dstate	 to;
	enum daction	 act;
};

/* The transition from state s on event e; never NULL for valid s, e. */
const struct dtrans *dlife_next(enum dstate s, enum devent e);

/* "up", "crashed", ... as the state files and the log show them. */
const char *dlife_state_name(enum dstate s);
const char *dlife_event_name(enum devent e);

/*
 * The cool-off before the restart that follows crash number `crashes`
 * (1 for the first) with the schedule backoff[0..n-1] (restart_backoff,
 * n >= 1): a random time between half and all of its entry, the last
 * entry for every crash past the schedule (heroku.md 1.5).  rnd is a
 * random number (random(3)).
 */
uint64_t dlife_cooloff_ms(const uint64_t *backoff, size_t n,
	    unsigned crashes, long rnd);

/*
 * The crash count after a crash, given the count before and whether and
 * how long the instance was up: a dyno that stayed up for reset_ms
 * (crash_reset) starts counting afresh.
 */
unsigned dlife_crashes(unsigned before, int was_up, uint64_t up_ms,
	    uint64_t reset_ms);

#endif
