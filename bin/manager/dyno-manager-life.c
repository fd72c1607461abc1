/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: a dyno's lifecycle as a [state][event] table (no I/O). */
#include "dyno-manager-life.h"

#define X	{ 0, ACT_IGNORE }	/* to is unused when ignored */

/*
 * As s6-supervise keeps its own: each row a state, each column an event.
 * An event that does not apply to a state is ignored there (a probe or
 * timer of an instance that is no longer starting, a cool-off that a
 * restart overtook), which is what the scattered ifs said before.
 */
static const struct dtrans table[DSTATE_N][DEVENT_N] = {
	[ST_DOWN] = {
		[EV_WANTED] = { ST_DOWN, ACT_START },
		[EV_SPAWNED] = { ST_STARTING, ACT_STARTED },
		[EV_SPAWN_FAILED] = { ST_CRASHED, ACT_SET },
		[EV_READY] = X,
		[EV_BOOT_TIMEOUT] = X,
		[EV_EXITED] = { ST_CRASHED, ACT_CRASH },
		[EV_RESTART] = { ST_STARTING, ACT_RESTART },
		[EV_PREBOOT] = { ST_STARTING, ACT_RESTART },
		[EV_STOP] = { ST_DOWN, ACT_STOP },
		[EV_COOLOFF_OVER] = X,
		[EV_COMEBACK] = { ST_DOWN, ACT_START },
		[EV_SHUTDOWN] = X,
	},
	[ST_STARTING] = {
		[EV_WANTED] = X,
		[EV_SPAWNED] = { ST_STARTING, ACT_STARTED },
		[EV_SPAWN_FAILED] = { ST_CRASHED, ACT_SET },
		[EV_READY] = { ST_UP, ACT_UP },
		[EV_BOOT_TIMEOUT] = { ST_STARTING, ACT_HARDKILL },
		[EV_EXITED] = { ST_CRASHED, ACT_CRASH },
		[EV_RESTART] = { ST_STARTING, ACT_RESTART },
		[EV_PREBOOT] = { ST_STARTING, ACT_RESTART },
		[EV_STOP] = { ST_DOWN, ACT_STOP },
		[EV_COOLOFF_OVER] = X,
		[EV_COMEBACK] = X,
		[EV_SHUTDOWN] = { ST_DOWN, ACT_SET },
	},
	[ST_UP] = {
		[EV_WANTED] = X,
		[EV_SPAWNED] = { ST_STARTING, ACT_STARTED },
		[EV_SPAWN_FAILED] = { ST_CRASHED, ACT_SET },
		[EV_READY] = X,
		[EV_BOOT_TIMEOUT] = X,
		[EV_EXITED] = { ST_CRASHED, ACT_CRASH },
		[EV_RESTART] = { ST_STARTING, ACT_RESTART },
		/* up stays up (and routed) until its replacement starts */
		[EV_PREBOOT] = { ST_UP, ACT_PREBOOT },
		[EV_STOP] = { ST_DOWN, ACT_STOP },
		[EV_COOLOFF_OVER] = X,
		[EV_COMEBACK] = X,
		[EV_SHUTDOWN] = { ST_DOWN, ACT_SET },
	},
	[ST_CRASHED] = {
		/* only one held by 64/65/78; else the cool-off brings it back */
		[EV_WANTED] = { ST_CRASHED, ACT_START_HELD },
		[EV_SPAWNED] = { ST_STARTING, ACT_STARTED },
		[EV_SPAWN_FAILED] = { ST_CRASHED, ACT_SET },
		[EV_READY] = X,
		[EV_BOOT_TIMEOUT] = X,
		[EV_EXITED] = { ST_CRASHED, ACT_CRASH },
		[EV_RESTART] = { ST_STARTING, ACT_RESTART },
		[EV_PREBOOT] = { ST_STARTING, ACT_RESTART },
		[EV_STOP] = { ST_DOWN, ACT_STOP },
		[EV_COOLOFF_OVER] = { ST_CRASHED, ACT_START },
		[EV_COMEBACK] = X,
		[EV_SHUTDOWN] = { ST_DOWN, ACT_SET },
	},
	[ST_COMPLETE] = {
		/* a one-off's end: nothing brings it back */
		[EV_WANTED] = X,
		[EV_SPAWNED] = { ST_STARTING, ACT_STARTED },
		[EV_SPAWN_FAILED] = { ST_CRASHED, ACT_SET },
		[EV_READY] = X,
		[EV_BOOT_TIMEOUT] = X,
		[EV_EXITED] = { ST_CRASHED, ACT_CRASH },
		[EV_RESTART] = { ST_STARTING, ACT_RESTART },
		[EV_PREBOOT] = { ST_STARTING, ACT_RESTART },
		[EV_STOP] = { ST_DOWN, ACT_STOP },
		[EV_COOLOFF_OVER] = X,
		[EV_COMEBACK] = X,
		[EV_SHUTDOWN] = { ST_DOWN, ACT_SET },
	},
};

static const char *const state_names[DSTATE_N] = { "down", "starting",
    "up", "crashed", "complete" };
static const char *const event_names[DEVENT_N] = { "wanted", "spawned",
    "spawn-failed", "ready", "boot-timeout", "exited", "restart", "preboot",
    "stop", "cooloff-over", "comeback", "shutdown" };

const struct dtrans *
dlife_next(enum dstate s, enum devent e)
{
	static const struct dtrans ignore = X;

	if ((unsigned)s >= DSTATE_N || (unsigned)e >= DEVENT_N)
		return &ignore;
	return &table[s][e];
}

const char *
dlife_state_name(enum dstate s)
{
	return (unsigned)s < DSTATE_N ? state_names[s] : "unknown";
}

const char *
dlife_event_name(enum devent e)
{
	return (unsigned)e < DEVENT_N ? event_names[e] : "unknown";
}

uint64_t
dlife_cooloff_ms(const uint64_t *backoff, size_t n, unsigned crashes,
    long rnd)
{
	size_t i = crashes == 0 ? 0 : crashes - 1;
	uint64_t max;

	if (n == 0)
		return 0;
	if (i >= n)
		i = n - 1;
	max = backoff[i];
	/*
	 * "Up to N minutes": random, so that crashed dynos do not all come
	 * back at once, but at least half of N, so that a cool-off is one.
	 */
	return max == 0 ? 0 : max / 2 + (uint64_t)rnd % (max / 2 + 1);
}

unsigned
dlife_crashes(unsigned before, int was_up, uint64_t up_ms,
    uint64_t reset_ms)
{
	return (was_up && up_ms >= reset_ms ? 0 : before) + 1;
}
