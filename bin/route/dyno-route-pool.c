/* SPDX-License-Identifier: ISC */
/* dyno-route: dyno connections: picking, connecting, quarantine, the pool. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dyno-route.h"
#include "evloop.h"

#define POOL_MAX	1024	/* idle connections kept per dyno */

static uint64_t
rnd(struct worker *w)
{
	/* xorshift64*: fast and plenty for picking a dyno. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

/* ---- dyno sockets and the keep-alive pool ---- */

void
pool_close(struct worker *w, struct bsock *b)
{
	evloop_del_fd(w->ev, b->fd);
	close(b->fd);
	free(b);
}

void
pool_remove(struct worker *w, struct bsock *b)
{
	struct bsock **pp;

	for (pp = &b->up->idle; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			b->up->nidle--;
			w->npooled--;
			return;
		}
}

void
pool_set_events(struct worker *w, struct bsock *b, uint32_t want)
{
	if (b->events != want && evloop_mod_fd(w->ev, b->fd, want) == 0)
		b->events = want;
}

void
pool_release(struct worker *w, struct conn *c, int reuse)
{
	struct bsock *b = c->b;

	if (b == NULL)
		return;
	c->b = NULL;
	if (!reuse || w->draining || b->up->nidle >= POOL_MAX ||
	    w->npooled >= w->conf->max_connections) {
		pool_close(w, b);
		return;
	}
	b->owner = NULL;
	b->idle_since = w->now;
	b->next = b->up->idle;
	b->up->idle = b;
	b->up->nidle++;
	w->npooled++;
	/* Idle: any event means the dyno closed it or sent junk. */
	pool_set_events(w, b, EPOLLIN | EPOLLRDHUP);
}

void
pool_sweep(struct worker *w, uint64_t now)
{
	struct upstream **ups, *u;
	struct bsock *b, *next;
	size_t i, n;

	ups = apps_upstreams(w->apps, &n);
	for (i = 0; i < n; i++) {
		u = ups[i];
		for (b = u->idle; b != NULL; b = next) {
			next = b->next;
			if (w->draining || now - b->idle_since >=
			    w->conf->keepalive_timeout_ms) {
				pool_remove(w, b);
				pool_close(w, b);
			}
		}
	}
}

/* ---- connecting to a dyno ---- */

/*
 * Heroku gives a request 75 s to reach a dyno: dyno.conf's connect_wait,
 * else 15 connect timeouts, as there.
 */
uint64_t
pool_connect_budget(const struct worker *w)
{
	return w->conf->connect_wait_ms ? w->conf->connect_wait_ms :
	    15 * w->conf->connect_timeout_ms;
}

int
pool_any_ready(const struct worker *w, const struct app *app)
{
	unsigned i;

	for (i = 0; i < app->nroutes; i++)
		if (app->routes[i].up->quarantined_until <= w->now)
			return 1;
	return 0;
}

static struct route *
pick_route(struct worker *w, struct app *app)
{
	uint64_t now = w->now;
	unsigned i, start;

	start = (unsigned)(rnd(w) % app->nroutes);
	for (i = 0; i < app->nroutes; i++) {
		struct route *r = &app->routes[(start + i) % app->nroutes];
		if (r->up->quarantined_until <= now)
			return r;
	}
	return NULL;	/* all quarantined */
}

static struct bsock *
bsock_new(struct worker *w, struct conn *c, struct upstream *u, int fd)
{
	struct bsock *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->fd = fd;
	b->up = u;
	b->owner = c;
	b->w = w;
	b->connecting = 1;
	b->events = EPOLLOUT;
	if (evloop_add_fd(w->ev, fd, EPOLLOUT, w->backend_ev, b) == -1) {
		free(b);
		return NULL;
	}
	return b;
}

/*
 * Begin a connection to u: 0 under way, -1 refused or failed now, -2 the
 * router itself is out of fds or memory (not the dyno's fault: no
 * quarantine).
 */
static int
connect_to(struct worker *w, struct conn *c, struct upstream *u)
{
	int fd, one = 1;

	fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -2;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&u->sa, u->salen) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	if ((c->b = bsock_new(w, c, u, fd)) == NULL) {
		close(fd);
		return -2;
	}
	c->connect_start = w->now;
	return 0;
}

void
pool_quarantine(struct worker *w, struct upstream *u, const char *code,
    struct conn *c)
{
	u->quarantined_until = w->now + w->conf->quarantine_ms;
	c->last_err = code;
}

static unsigned
max_tries(const struct worker *w, const struct app *app)
{
	return app->nroutes < w->conf->max_tries ? app->nroutes :
	    w->conf->max_tries;
}

enum pool_res
pool_connect(struct worker *w, struct conn *c, const char **code)
{
	struct route *r;
	struct bsock *b;
	int rc;

	while ((unsigned)c->tries < max_tries(w, c->app)) {
		if ((r = pick_route(w, c->app)) == NULL)
			return POOL_WAIT;
		c->tries++;
		snprintf(c->ri.dyno, sizeof(c->ri.dyno), "%s", r->dyno);
		if ((b = r->up->idle) != NULL) {
			pool_remove(w, b);
			b->owner = c;
			b->rready = b->wblocked = 0;
			c->b = b;
			c->reused = 1;
			c->ri.connected = 1;
			return POOL_REUSED;
		}
		c->reused = 0;
		if ((rc = connect_to(w, c, r->up)) == 0)
			return POOL_CONNECTING;
		if (rc == -2) {
			*code = "H99";
			return POOL_FAILED;
		}
		pool_quarantine(w, r->up, "H21", c);
	}
	*code = c->last_err ? c->last_err : "H21";
	return POOL_FAILED;
}

int
pool_connected(struct worker *w, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->b->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == EINPROGRESS)
		return 0;
	if (err != 0) {
		pool_quarantine(w, c->b->up, err == ETIMEDOUT ? "H19" : "H21",
		    c);
		pool_release(w, c, 0);
		return -1;
	}
	c->b->connecting = 0;
	c->ri.connect_ms = w->now - c->connect_start;
	c->ri.connected = 1;
	return 1;
}
