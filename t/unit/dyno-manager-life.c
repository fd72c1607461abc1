/* SPDX-License-Identifier: ISC */
/* Unit tests for dyno-manager's lifecycle table: no processes, no timers. */
#include "../../bin/manager/dyno-manager-life.h"
#include "tap.h"

#define MIN	(60 * 1000ULL)

/* What state s does on event e, as "to/action" or "-" when ignored. */
static int
is(enum dstate s, enum devent e, enum dstate to, enum daction act)
{
	const struct dtrans *t = dlife_next(s, e);

	return t->act == act && (act == ACT_IGNORE || t->to == to);
}

static int
only_in(enum devent e, enum dstate s)
{
	int st;

	for (st = 0; st < DSTATE_N; st++)
		if ((dlife_next(st, e)->act != ACT_IGNORE) != (st == (int)s))
			return 0;
	return 1;
}

static void
test_table(void)
{
	int s, e, named = 1;

	/* Stale probes and timers of an instance no longer starting. */
	ok(only_in(EV_READY, ST_STARTING), "ready: only a starting dyno");
	ok(only_in(EV_BOOT_TIMEOUT, ST_STARTING), "R10: only a starting dyno");
	ok(only_in(EV_COOLOFF_OVER, ST_CRASHED),
	    "cool-off over: only a crashed dyno restarts");
	ok(only_in(EV_COMEBACK, ST_DOWN), "comeback: only a stopped dyno");
	ok(is(ST_STARTING, EV_READY, ST_UP, ACT_UP), "starting -> up");
	ok(is(ST_STARTING, EV_BOOT_TIMEOUT, ST_STARTING, ACT_HARDKILL),
	    "R10 kills, the exit crashes it");
	/* The formation: a down dyno starts, an up one is left alone. */
	ok(is(ST_DOWN, EV_WANTED, ST_DOWN, ACT_START), "wanted: down starts");
	ok(is(ST_CRASHED, EV_WANTED, ST_CRASHED, ACT_START_HELD),
	    "wanted: crashed starts only if held (64/65/78)");
	ok(is(ST_UP, EV_WANTED, 0, ACT_IGNORE), "wanted: up is left alone");
	ok(is(ST_STARTING, EV_WANTED, 0, ACT_IGNORE),
	    "wanted: starting is left alone");
	/* Preboot: only an up dyno keeps serving. */
	ok(is(ST_UP, EV_PREBOOT, ST_UP, ACT_PREBOOT), "preboot from up");
	ok(is(ST_CRASHED, EV_PREBOOT, ST_STARTING, ACT_RESTART),
	    "preboot from crashed is a restart");
	ok(is(ST_UP, EV_RESTART, ST_STARTING, ACT_RESTART), "restart from up");
	ok(is(ST_DOWN, EV_SHUTDOWN, 0, ACT_IGNORE), "shutdown: down stays");
	for (s = 0; s < DSTATE_N; s++) {
		ok(is(s, EV_EXITED, ST_CRASHED, ACT_CRASH) || s == ST_DOWN,
		    "%s: an unasked exit is a crash", dlife_state_name(s));
		ok(is(s, EV_STOP, ST_DOWN, ACT_STOP), "%s: stop -> down",
		    dlife_state_name(s));
		ok(is(s, EV_SPAWNED, ST_STARTING, ACT_STARTED),
		    "%s: spawned -> starting", dlife_state_name(s));
		ok(is(s, EV_SPAWN_FAILED, ST_CRASHED, ACT_SET),
		    "%s: no dyno-run -> crashed", dlife_state_name(s));
		ok(s == ST_DOWN || is(s, EV_SHUTDOWN, ST_DOWN, ACT_SET),
		    "%s: shutdown -> down", dlife_state_name(s));
	}
	for (e = 0; e < DEVENT_N; e++)
		named &= strcmp(dlife_event_name(e), "unknown") != 0;
	ok(named, "every event has a name");
	is_str(dlife_state_name(ST_CRASHED), "crashed", "state names");
	ok(dlife_next(DSTATE_N, EV_READY)->act == ACT_IGNORE &&
	    dlife_next(ST_UP, DEVENT_N)->act == ACT_IGNORE, "out of range");
}

/*
 * restart_backoff = 0, 4s, 1h (t/0700): the first restart at once, the
 * second after 2 to 4 s, the third and every later one after 30 to 60
 * minutes: the dyno waits, crashed.
 */
static void
test_cooloff(void)
{
	static const uint64_t b[] = { 0, 4000, 60 * MIN };
	uint64_t lo = UINT64_MAX, hi = 0, v;
	long r;

	is_int(dlife_cooloff_ms(b, 3, 1, 12345), 0, "first restart at once");
	for (r = 0; r < 5000; r++) {
		v = dlife_cooloff_ms(b, 3, 2, r * 7919);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ok(lo == 2000 && hi == 4000, "second: 2 to 4 s (%llu..%llu)",
	    (unsigned long long)lo, (unsigned long long)hi);
	ok(dlife_cooloff_ms(b, 3, 3, 0) == 30 * MIN &&
	    dlife_cooloff_ms(b, 3, 3, 30 * MIN) == 60 * MIN,
	    "third: 30 to 60 min");
	ok(dlife_cooloff_ms(b, 3, 99, 1) >= 30 * MIN, "past the schedule: last");
	is_int(dlife_cooloff_ms(b, 0, 5, 1), 0, "no schedule: at once");
	is_int(dlife_cooloff_ms(b, 3, 0, 1), 0, "crash 0 as crash 1");
}

static void
test_crashes(void)
{
	is_int(dlife_crashes(0, 0, 0, 10 * MIN), 1, "first crash");
	is_int(dlife_crashes(2, 1, 9 * MIN, 10 * MIN), 3,
	    "up less than crash_reset: counts on");
	is_int(dlife_crashes(2, 1, 10 * MIN, 10 * MIN), 1,
	    "up for crash_reset: afresh");
	is_int(dlife_crashes(2, 0, 99 * MIN, 10 * MIN), 3,
	    "never up: counts on");
}

int
main(void)
{
	test_table();
	test_cooloff();
	test_crashes();
	return done_testing();
}
