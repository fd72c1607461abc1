/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/evloop's before-wait hook: once per round, before waiting. */
#include <stdlib.h>
#include <unistd.h>

#include "evloop.h"
#include "tap.h"

struct rec {
	int	 fds[2];
	int	 hooks, reads, timers;
	int	 reads_at_hook;		/* reads seen by the last hook */
	char	 log[64];
	size_t	 len;
};

static void
on_read(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct rec *r = arg;
	char c;

	(void)ev;
	(void)events;
	if (read(fd, &c, 1) == 1)
		r->reads++;
	r->log[r->len++] = 'r';
}

static void
on_timer(struct evloop *ev, void *arg)
{
	struct rec *r = arg;

	(void)ev;
	r->timers++;
	r->log[r->len++] = 't';
}

/* Round 1: start a timer due at once; round 2: stop. */
static void
hook(struct evloop *ev, void *arg)
{
	struct rec *r = arg;

	r->hooks++;
	r->reads_at_hook = r->reads;
	r->log[r->len++] = 'h';
	if (r->hooks == 1)
		evloop_timer(ev, 0, on_timer, r);
	if (r->hooks == 2)
		evloop_stop(ev);
}

int
main(void)
{
	struct evloop *ev = evloop_new();
	struct rec r = { .len = 0 };

	if (ev == NULL || pipe(r.fds) == -1 ||
	    evloop_add_fd(ev, r.fds[0], EPOLLIN, on_read, &r) == -1)
		return 1;
	/* Readable from the start: round 1 runs the hook, then reads. */
	if (write(r.fds[1], "x", 1) != 1)
		return 1;
	evloop_before_wait(ev, hook, &r);
	is_int(evloop_run(ev), 0, "the loop ran");
	r.log[r.len] = '\0';
	/*
	 * Round 1: hook, no wait (its timer is due), the read.  Round 2:
	 * the timer, then the hook.  A 60 s wait for the timer, or a hook
	 * per event, would show here.
	 */
	is_str(r.log, "hrth", "hook before each wait, after the round's "
	    "events and timers");
	is_int(r.reads_at_hook, 1, "the hook saw the round's read");
	evloop_free(ev);
	close(r.fds[0]);
	close(r.fds[1]);
	return done_testing();
}
