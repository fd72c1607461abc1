/* SPDX-License-Identifier: ISC */
/* dyno-route: splice(2) pipes, so tunnels and long bodies skip the buffers. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "dyno-route.h"

/*
 * Tunnels and bodies with this much left to go move with splice(2),
 * through a pipe, without being copied into the worker; smaller ones go
 * through the buffers, a read and a write, rather than make a pipe (two
 * fds) and splice twice.
 */
#define SPLICE_MIN	(64 * 1024)
#define SPLICE_PIPE	(64 * 1024)	/* the default pipe size */

void
splice_close(struct spipe *sp)
{
	if (sp->fd[0] != -1) {
		close(sp->fd[0]);
		close(sp->fd[1]);
	}
	sp->fd[0] = sp->fd[1] = -1;
	sp->n = 0;
	sp->full = 0;
}

/* The pipe, made on first use; without one, bytes take the buffers. */
static int
spipe_open(struct spipe *sp)
{
	if (sp->fd[0] != -1)
		return 0;
	if (pipe2(sp->fd, O_NONBLOCK | O_CLOEXEC) == 0)
		return 0;
	sp->fd[0] = sp->fd[1] = -1;
	sp->broken = 1;
	return -1;
}

/*
 * Socket to pipe, at most `max` bytes: >0 moved, 0 EOF, -1 with errno;
 * EAGAIN with bytes already in the pipe means the pipe is full (its
 * slots are pages, so it can fill before SPLICE_PIPE bytes).
 */
static ssize_t
spipe_in(struct spipe *sp, int from, size_t max)
{
	ssize_t n;

	if (max > SPLICE_PIPE - sp->n)
		max = SPLICE_PIPE - sp->n;
	n = splice(from, NULL, sp->fd[1], NULL, max, SPLICE_F_MOVE |
	    SPLICE_F_NONBLOCK);
	if (n > 0) {
		if ((sp->n += (size_t)n) >= SPLICE_PIPE)
			sp->full = 1;
	} else if (n == -1 && errno == EAGAIN && sp->n > 0)
		sp->full = 1;
	return n;
}

/* Pipe to socket: >0 moved, -1 with errno (EAGAIN: the socket is full). */
static ssize_t
spipe_out(struct worker *w, struct spipe *sp, int to)
{
	ssize_t n;

	n = splice(sp->fd[0], NULL, to, NULL, sp->n, SPLICE_F_MOVE |
	    SPLICE_F_NONBLOCK);
	if (n > 0) {
		sp->n -= (size_t)n;
		sp->full = 0;
		w->spliced += (uint64_t)n;
	}
	return n;
}

/*
 * Dyno bytes go by the pipe, and only by it, on a plain-text client for a
 * tunnel or a long sized body; the buffers only empty themselves first.
 */
int
splice_down_by_pipe(const struct conn *c)
{
	if (c->ssl != NULL || c->sdown.broken || c->b == NULL ||
	    c->b->connecting)
		return 0;
	if (c->state == C_TUNNEL)
		return 1;
	return c->state == C_PROXY && c->resp == R_BODY &&
	    c->resp_body == B_LENGTH && c->resp_left >= SPLICE_MIN;
}

static int
down_spliceable(const struct conn *c)
{
	return splice_down_by_pipe(c) && c->bin.off == c->bin.len &&
	    c->down.off == c->down.len;
}

/* Client bytes likewise, once the request can no longer be replayed. */
int
splice_up_by_pipe(const struct conn *c)
{
	if (c->ssl != NULL || c->sup.broken || c->b == NULL ||
	    c->b->connecting || c->replayable || c->cin_eof)
		return 0;
	if (c->state == C_TUNNEL)
		return 1;
	return c->state == C_PROXY && !c->req_done &&
	    c->req_body == B_LENGTH && c->req_left >= SPLICE_MIN;
}

static int
up_spliceable(const struct conn *c)
{
	return splice_up_by_pipe(c) && c->cin.off == c->cin.len &&
	    c->up_sent == c->up.len;
}

static void
mark_sent(struct conn *c)
{
	if (c->req_done && !c->sent && c->up_sent == c->up.len &&
	    c->sup.n == 0) {
		c->sent = 1;
		c->ri.sent_ms = c->last_active;
	}
}

/* Dyno to pipe to client. */
enum splice_res
splice_down(struct worker *w, struct conn *c)
{
	struct spipe *sp = &c->sdown;
	struct bsock *b = c->b;
	size_t max = SPLICE_PIPE;
	int progress = 0;
	ssize_t n;

	if (sp->n > 0 && !c->wblocked) {
		if ((n = spipe_out(w, sp, c->fd)) > 0) {
			c->last_active = w->now;
			progress = 1;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			c->wblocked = 1;
		else
			return SPLICE_CLIENT_GONE;
	}
	if (b == NULL || !b->rready || sp->full || !down_spliceable(c) ||
	    spipe_open(sp) == -1)
		return progress ? SPLICE_MOVED : SPLICE_IDLE;
	if (c->state != C_TUNNEL && max > c->resp_left)
		max = (size_t)c->resp_left;
	if ((n = spipe_in(sp, b->fd, max)) == -1 &&
	    (errno == EAGAIN || errno == EINTR)) {
		if (!sp->full)
			b->rready = 0;
		return progress ? SPLICE_MOVED : SPLICE_IDLE;
	}
	if (n <= 0)
		return n == -1 ? SPLICE_RESET : SPLICE_EOF;
	c->ri.bytes += (uint64_t)n;
	c->last_active = w->now;
	if (c->state != C_TUNNEL && (c->resp_left -= (uint64_t)n) == 0)
		return SPLICE_BODY_END;
	return SPLICE_MOVED;
}

/* Client to pipe to dyno. */
int
splice_up(struct worker *w, struct conn *c)
{
	struct spipe *sp = &c->sup;
	struct bsock *b = c->b;
	size_t max = SPLICE_PIPE;
	int progress = 0;
	ssize_t n;

	if (sp->n > 0 && b != NULL && !b->wblocked) {
		if ((n = spipe_out(w, sp, b->fd)) > 0) {
			c->last_active = w->now;
			mark_sent(c);
			progress = 1;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			b->wblocked = 1;
		else {
			/* The dyno went away: its read side tells us why. */
			b->rready = 1;
			sp->n = 0;
			return 1;
		}
	}
	if (!c->rready || sp->full || !up_spliceable(c) ||
	    spipe_open(sp) == -1)
		return progress;
	if (c->state != C_TUNNEL && max > c->req_left)
		max = (size_t)c->req_left;
	if ((n = spipe_in(sp, c->fd, max)) == -1 &&
	    (errno == EAGAIN || errno == EINTR)) {
		if (!sp->full)
			c->rready = 0;
		return progress;
	}
	if (n <= 0) {
		c->cin_eof = 1;
		c->rready = 0;
		return 1;
	}
	c->last_active = w->now;
	if (c->state != C_TUNNEL && (c->req_left -= (uint64_t)n) == 0)
		c->req_done = 1;
	return 1;
}
