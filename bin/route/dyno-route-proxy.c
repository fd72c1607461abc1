/* SPDX-License-Identifier: ISC */
/* dyno-route: one worker's event loop, from accept to the last byte. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"
#include "logclient.h"

#define IO_BUF		(16 * 1024)
/*
 * Tunnels and bodies with this much left to go move with splice(2),
 * through a pipe, without being copied into the worker; smaller ones go
 * through the buffers, a read and a write, rather than make a pipe (two
 * fds) and splice twice.
 */
#define SPLICE_MIN	(64 * 1024)
#define SPLICE_PIPE	(64 * 1024)	/* the default pipe size */
#define POOL_MAX	1024	/* idle connections kept per dyno */
#define SWEEP_MS	100
#define LINGER_MS	2000	/* reading a closing client's leftovers */
#define HEAD_INIT	2048	/* a head's first buffer; it doubles to HEAD_MAX */
#define ACCEPT_PAUSE_MS	100	/* no accepting this long when fds run out */
#define IP_BUCKETS	4096

/* Open connections of one client address: IPv4, or an IPv6 /64. */
struct ipslot {
	unsigned char	 key[16];
	unsigned	 n;
	struct ipslot	*next;
};

/* Everything a worker owns; one per process. */
static struct worker {
	struct evloop	*ev;
	struct conf	*conf;
	struct apps	*apps;
	struct logclient *lc;
	struct worker_cfg *wc;
	struct conn	*conns;
	unsigned	 nconns;
	int		 draining;
	struct evtimer	*sweeper;
	int		 flush_armed;	/* a 0 ms timer will flush the log */
	uint64_t	 now;		/* monotonic ms, read once per event */
	uint64_t	 spliced;	/* bytes moved by splice(2), for dump() */
	uint64_t	 drain_deadline;
	uint64_t	 rng;
	struct http_hdr	 hdr[HTTP_MAX_HEADERS];
	struct ipslot	*ipt[IP_BUCKETS];
	int		 reserve_fd;	/* given up to shed a connection */
	int		 accept_paused;
	unsigned	 npooled;	/* idle dyno connections, all pools */
	uint64_t	 refused, shed, head_timeouts;
} W;

static void	pump(struct conn *c);
static int	down_by_pipe(const struct conn *c);
static int	up_by_pipe(const struct conn *c);

/* One clock read per event: reading it per byte moved showed in profiles. */
static uint64_t
tick(void)
{
	return W.now = evloop_now_ms();
}

static uint64_t
now_ms(void)
{
	return W.now;
}
static void	connect_done(struct conn *c);
static int	start_connect(struct conn *c);
static void	fail(struct conn *c, const char *code, int status,
		    const char *cause, const char *sock);

static uint64_t
rnd(void)
{
	/* xorshift64*: fast and plenty for picking a dyno. */
	W.rng ^= W.rng >> 12;
	W.rng ^= W.rng << 25;
	W.rng ^= W.rng >> 27;
	return W.rng * 2685821657736338717ULL;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- backend sockets and the keep-alive pool ---- */

static void
bsock_close(struct bsock *b)
{
	evloop_del_fd(W.ev, b->fd);
	close(b->fd);
	free(b);
}

static void
pool_remove(struct bsock *b)
{
	struct bsock **pp;

	for (pp = &b->up->idle; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			b->up->nidle--;
			W.npooled--;
			return;
		}
}

static void
set_bevents(struct bsock *b, uint32_t want)
{
	if (b->events != want && evloop_mod_fd(W.ev, b->fd, want) == 0)
		b->events = want;
}

/* Give the dyno connection back: pooled if it can carry another request. */
static void
release_backend(struct conn *c, int reuse)
{
	struct bsock *b = c->b;

	if (b == NULL)
		return;
	c->b = NULL;
	if (!reuse || W.draining || b->up->nidle >= POOL_MAX ||
	    W.npooled >= W.conf->max_connections) {
		bsock_close(b);
		return;
	}
	b->owner = NULL;
	b->idle_since = now_ms();
	b->next = b->up->idle;
	b->up->idle = b;
	b->up->nidle++;
	W.npooled++;
	/* Idle: any event means the dyno closed it or sent junk. */
	set_bevents(b, EPOLLIN | EPOLLRDHUP);
}

static void
backend_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct bsock *b = arg;
	struct conn *c = b->owner;

	(void)tick();
	(void)ev;
	(void)fd;
	if (c == NULL) {
		pool_remove(b);
		bsock_close(b);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		b->rready = 1;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		b->wblocked = 0;
	if (b->connecting) {
		b->rready = 0;
		connect_done(c);
	}
	pump(c);
}

/* ---- splice(2) pipes ---- */

static void
spipe_close(struct spipe *sp)
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
spipe_out(struct spipe *sp, int to)
{
	ssize_t n;

	n = splice(sp->fd[0], NULL, to, NULL, sp->n, SPLICE_F_MOVE |
	    SPLICE_F_NONBLOCK);
	if (n > 0) {
		sp->n -= (size_t)n;
		sp->full = 0;
		W.spliced += (uint64_t)n;
	}
	return n;
}

/* ---- connections per client address ---- */

/* IPv4 as v4-mapped; IPv6 by its /64, what one subscriber is given. */
static void
ip_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		memcpy(key, &s6->sin6_addr, 16);
	else
		memcpy(key, &s6->sin6_addr, 8);
}

static struct ipslot **
ip_bucket(const unsigned char key[16])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return &W.ipt[h & (IP_BUCKETS - 1)];
}

/* The address's slot, made when new; NULL only without memory. */
static struct ipslot *
ip_get(const unsigned char key[16])
{
	struct ipslot **bp = ip_bucket(key), *s;

	for (s = *bp; s != NULL; s = s->next)
		if (memcmp(s->key, key, 16) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	memcpy(s->key, key, 16);
	s->next = *bp;
	*bp = s;
	return s;
}

/* One connection fewer; the slot goes with its last one. */
static void
ip_put(struct ipslot *s)
{
	struct ipslot **pp;

	if (s == NULL || --s->n > 0)
		return;
	for (pp = ip_bucket(s->key); *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

/* ---- client connections ---- */

static void
conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		W.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	W.nconns--;
	ip_put(c->ips);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	spipe_close(&c->sdown);
	spipe_close(&c->sup);
	free(c->cin.p);
	free(c->up.p);
	free(c->bin.p);
	free(c->down.p);
	free(c);
	if (W.draining && W.nconns == 0)
		evloop_stop(W.ev);
}

/* Close at once; the conn is freed at the end of its pump. */
static void
conn_close(struct conn *c)
{
	if (c->closed)
		return;
	if (c->app != NULL && !c->logged)
		c->app->inflight--;
	c->app = NULL;
	release_backend(c, 0);
	evloop_del_fd(W.ev, c->fd);
	close(c->fd);
	c->closed = 1;
}

static ssize_t
cl_read(struct conn *c, char *p, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return read(c->fd, p, n);
	if ((r = SSL_read(c->ssl, p, (int)n)) > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		c->ssl_wantw = 1;
		/* FALLTHROUGH */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		errno = ECONNRESET;
		return -1;
	}
}

static ssize_t
cl_write(struct conn *c, const char *p, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	if ((r = SSL_write(c->ssl, p, (int)n)) > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
	case SSL_ERROR_WANT_READ:
		c->ssl_wantw = 1;
		errno = EAGAIN;
		return -1;
	default:
		errno = EPIPE;
		return -1;
	}
}

static void
flush_log(struct evloop *ev, void *arg)
{
	(void)arg;
	W.flush_armed = 0;
	/* Lines logplexd had no room for: try again shortly. */
	if (logclient_flush(W.lc) > 0 &&
	    evloop_timer(ev, 2, flush_log, NULL) != NULL)
		W.flush_armed = 1;
}

/* Log one request once, with its H-code if any. */
static void
log_done(struct conn *c, const char *code, const char *cause,
    const char *sock)
{
	if (c->logged || c->app == NULL)
		return;
	msg_log(W.lc, c, code, cause, sock);
	/* Timers run after the current round of events: one send for all. */
	if (!W.flush_armed && W.lc != NULL &&
	    evloop_timer(W.ev, 0, flush_log, NULL) != NULL)
		W.flush_armed = 1;
	c->app->inflight--;
	c->logged = 1;
}

/* A request whose dyno is known ends here: log it, free the dyno. */
static void
finish_request(struct conn *c, int reuse)
{
	log_done(c, NULL, NULL, NULL);
	release_backend(c, reuse && c->bkeep && c->req_done &&
	    c->bin.off == c->bin.len);
}

/* Ready for the next request on a kept-alive client connection. */
static void
next_request(struct conn *c)
{
	c->state = C_HEAD;
	/* A pipelined head already begun is on the clock from now. */
	c->head_start = c->cin.off < c->cin.len ? now_ms() : 0;
	c->app = NULL;
	c->up.off = c->up.len = c->up_sent = 0;
	c->bin.off = c->bin.len = 0;
	c->first_byte = c->resp_head_done = c->resp_done = 0;
	c->sent = c->reused = c->logged = c->tries = 0;
	c->last_err = NULL;
}

static void
end_response(struct conn *c)
{
	finish_request(c, 1);
	if (c->keep && c->req_done && !W.draining && !c->cin_eof)
		next_request(c);
	else
		c->state = C_DRAIN;
}

/* Log an H-code, answer with the router's page if nothing went out yet. */
static void
fail(struct conn *c, const char *code, int status, const char *cause,
    const char *sock)
{
	if (!c->resp_head_done) {
		c->down.off = c->down.len = 0;
		msg_error_page(c, status, code);
	}
	c->ri.status = status;
	c->keep = 0;
	log_done(c, code, cause, sock);
	release_backend(c, 0);
	c->state = C_DRAIN;
}

/* ---- connecting to a dyno ---- */

/*
 * Heroku gives a request 75 s to reach a dyno: dyno.conf's connect_wait,
 * else 15 connect timeouts, as there.
 */
static uint64_t
connect_budget(void)
{
	return W.conf->connect_wait_ms ? W.conf->connect_wait_ms :
	    15 * W.conf->connect_timeout_ms;
}

/*
 * No dyno to try now: every one is quarantined (H99 at the end) or the
 * app's web dynos are still booting (H20).  The request holds its place
 * (state C_CONNECT with no dyno socket) and the sweep looks again.
 */
static void
wait_for_dyno(struct conn *c, const char *code)
{
	c->wait_code = code;
	c->state = C_CONNECT;
	c->connect_start = now_ms();
}

static struct route *
pick_route(struct app *app)
{
	uint64_t now = now_ms();
	unsigned i, start;

	start = (unsigned)(rnd() % app->nroutes);
	for (i = 0; i < app->nroutes; i++) {
		struct route *r = &app->routes[(start + i) % app->nroutes];
		if (r->up->quarantined_until <= now)
			return r;
	}
	return NULL;	/* all quarantined */
}

static struct bsock *
bsock_new(struct conn *c, struct upstream *u, int fd)
{
	struct bsock *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->fd = fd;
	b->up = u;
	b->owner = c;
	b->connecting = 1;
	b->events = EPOLLOUT;
	if (evloop_add_fd(W.ev, fd, EPOLLOUT, backend_ev, b) == -1) {
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
connect_to(struct conn *c, struct upstream *u)
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
	if ((c->b = bsock_new(c, u, fd)) == NULL) {
		close(fd);
		return -2;
	}
	c->connect_start = now_ms();
	c->state = C_CONNECT;
	return 0;
}

static void
quarantine(struct upstream *u, const char *code, struct conn *c)
{
	u->quarantined_until = now_ms() + W.conf->quarantine_ms;
	c->last_err = code;
}

static unsigned
max_tries(const struct app *app)
{
	return app->nroutes < W.conf->max_tries ? app->nroutes :
	    W.conf->max_tries;
}

/* Pick a dyno and get a connection: pooled, or a new one under way. */
static int
start_connect(struct conn *c)
{
	struct route *r;
	struct bsock *b;
	int rc;

	while ((unsigned)c->tries < max_tries(c->app)) {
		if ((r = pick_route(c->app)) == NULL) {
			wait_for_dyno(c, "H99");
			return 0;
		}
		c->tries++;
		snprintf(c->ri.dyno, sizeof(c->ri.dyno), "%s", r->dyno);
		if ((b = r->up->idle) != NULL) {
			pool_remove(b);
			b->owner = c;
			b->rready = b->wblocked = 0;
			c->b = b;
			c->reused = 1;
			c->ri.connected = 1;
			c->state = C_PROXY;
			return 0;
		}
		c->reused = 0;
		if ((rc = connect_to(c, r->up)) == 0)
			return 0;
		if (rc == -2) {
			fail(c, "H99", 503, NULL, NULL);
			return -1;
		}
		quarantine(r->up, "H21", c);
	}
	fail(c, c->last_err ? c->last_err : "H21", 503, NULL, NULL);
	return -1;
}

static void
connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->b->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err != 0) {
		quarantine(c->b->up, err == ETIMEDOUT ? "H19" : "H21", c);
		release_backend(c, 0);
		(void)start_connect(c);
		return;
	}
	c->b->connecting = 0;
	c->ri.connect_ms = now_ms() - c->connect_start;
	c->ri.connected = 1;
	c->state = C_PROXY;
}

/* ---- the request: head from the client, body towards the dyno ---- */

static void
bad_request(struct conn *c, const struct http_msg *m)
{
	c->is_head = 0;
	c->app = NULL;
	if (m->host >= 0 && (c->app = apps_lookup(W.apps,
	    m->hdr[m->host].value, m->hdr[m->host].vlen)) != NULL) {
		c->app->inflight++;
		c->logged = 0;
		c->ri.start_ms = now_ms();
		snprintf(c->ri.method, sizeof(c->ri.method), "%.*s",
		    (int)m->mlen, m->method ? m->method : "");
		snprintf(c->ri.path, sizeof(c->ri.path), "%.*s",
		    (int)(m->tlen < 1000 ? m->tlen : 1000),
		    m->target ? m->target : "");
		snprintf(c->ri.host, sizeof(c->ri.host), "%.*s",
		    (int)m->hdr[m->host].vlen, m->hdr[m->host].value);
		msg_uuid(c->ri.reqid);
		snprintf(c->ri.fwd, sizeof(c->ri.fwd), "%s", c->ip);
		c->ri.dyno[0] = '\0';
	}
	fail(c, m->err_code, m->err_status, m->err_cause, NULL);
}

/* Whether to connect now; fails the request or makes it wait if not. */
static int
admit(struct conn *c)
{
	struct app *app = c->app;

	/* Maintenance mode: the dynos keep running, nothing reaches them. */
	if (app->maintenance) {
		fail(c, "H80", 503, NULL, NULL);
		return 0;
	}
	if (app->nroutes == 0 && apps_booting(W.apps, app)) {
		wait_for_dyno(c, "H20");
		return 0;
	}
	if (app->nroutes == 0) {
		fail(c, apps_crashed(W.apps, app) ? "H10" : "H14", 503, NULL,
		    NULL);
		return 0;
	}
	if (app->inflight > W.conf->backlog_per_dyno * app->nroutes) {
		fail(c, "H11", 503, NULL, NULL);
		return 0;
	}
	return 1;
}

static void
dispatch(struct conn *c, const struct http_msg *m, size_t hl)
{
	struct app *app;

	c->ri.start_ms = now_ms();
	app = apps_lookup(W.apps, m->hostv, m->hostlen);
	if (msg_request(c, m, hl, wall_ms()) == -1) {
		c->cin.off += hl;
		fail(c, "H26", 400, "bad header", NULL);
		return;
	}
	c->cin.off += hl;
	if (app == NULL) {
		c->ri.status = 404;
		msg_error_page(c, 404, NULL);
		c->state = C_DRAIN;
		return;
	}
	c->app = app;
	app->inflight++;
	c->logged = 0;
	/* A failure below drops the 100 Continue with the rest of down. */
	if ((m->flags & HF_CONTINUE) && !c->req_done && c->minor == 1 &&
	    buf_reserve(&c->down, 32, 2 * HEAD_MAX) == 0)
		buf_append(&c->down, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	c->replayable = 1;
	if (admit(c))
		(void)start_connect(c);
}

static void
parse_head(struct conn *c)
{
	struct http_msg m;
	ssize_t hl;

	m.hdr = W.hdr;
	hl = http_parse_request(c->cin.p + c->cin.off, c->cin.len - c->cin.off,
	    &m);
	if (hl > 0)
		dispatch(c, &m, (size_t)hl);
	else if (hl == -1)
		bad_request(c, &m);
	else if (c->cin.len - c->cin.off >= HEAD_MAX) {
		m.host = -1;
		m.err_code = "H26";
		m.err_status = 400;
		m.err_cause = "request too large";
		bad_request(c, &m);
	}
}

/* buf_reserve for up, keeping up_sent on the same byte when it compacts. */
static int
up_reserve(struct conn *c, size_t n, size_t max)
{
	size_t unsent;
	int r;

	if (!c->replayable)
		c->up.off = c->up_sent;
	unsent = c->up_sent - c->up.off;
	r = buf_reserve(&c->up, n, max);
	c->up_sent = c->up.off + unsent;
	return r;
}

/* Room in up for more body bytes; gives up replay when it must. */
static size_t
up_room(struct conn *c)
{
	if (c->up.cap - c->up.len == 0 && c->replayable)
		c->replayable = 0;
	if (c->up.cap - c->up.len == 0)
		(void)up_reserve(c, 1, c->up.cap);
	return c->up.cap - c->up.len;
}

/* Move request body (or tunnel) bytes from the client towards the dyno. */
static int
move_body(struct conn *c)
{
	size_t avail = c->cin.len - c->cin.off, n, room;
	const char *p = c->cin.p + c->cin.off;
	ssize_t r;
	int done = 0;

	if (c->up.cap < IO_BUF && up_reserve(c, IO_BUF - c->up.cap +
	    c->up.len, 2 * HEAD_MAX) == -1)
		return 0;
	if (avail == 0 || (room = up_room(c)) == 0)
		return 0;
	n = avail < room ? avail : room;
	if (c->state != C_TUNNEL && c->req_body == B_LENGTH) {
		if (n > c->req_left)
			n = (size_t)c->req_left;
		done = (c->req_left -= n) == 0;
	} else if (c->state != C_TUNNEL) {
		if ((r = http_chunk_scan(&c->req_ck, p, n, &done, NULL,
		    NULL)) == -1) {
			fail(c, "H26", 400, "bad chunk", NULL);
			return 0;
		}
		n = (size_t)r;
	}
	buf_append(&c->up, p, n);
	c->cin.off += n;
	if (done)
		c->req_done = 1;
	return n > 0;
}

/* ---- the response: head from the dyno, body towards the client ---- */

static int
parse_response(struct conn *c)
{
	struct http_msg m;
	ssize_t hl;

	m.hdr = W.hdr;
	hl = http_parse_response(c->bin.p + c->bin.off,
	    c->bin.len - c->bin.off, &m);
	if (hl == 0 && c->bin.len - c->bin.off >= HEAD_MAX)
		fail(c, "H25", 502, NULL, NULL);
	if (hl == -1)
		fail(c, m.err_code, 502, NULL, NULL);
	if (hl <= 0)
		return 0;
	c->bin.off += (size_t)hl;
	/* Interim answers: the router already said 100 Continue. */
	if (m.status < 200 && m.status != 101)
		return 1;
	if (m.status == 101 && !c->upgrade) {
		fail(c, "H17", 502, NULL, NULL);
		return 0;
	}
	if (msg_response(c, &m) == -1) {
		fail(c, "H25", 502, NULL, NULL);
		return 0;
	}
	c->resp_head_done = 1;
	c->ri.status = m.status;
	if (m.status == 101) {
		log_done(c, NULL, NULL, NULL);
		c->replayable = 0;
		c->up.off = c->up_sent;
		c->state = C_TUNNEL;
	} else if (c->resp_done)
		end_response(c);
	return 1;
}

/* The 101 switched protocols: the tunnel keeps the dyno socket. */
static int
move_response(struct conn *c)
{
	size_t avail = c->bin.len - c->bin.off, n, room, dl;
	char *p = c->bin.p + c->bin.off;
	ssize_t r;
	int done = 0;

	if (c->down.cap < IO_BUF && buf_reserve(&c->down, IO_BUF -
	    c->down.cap + c->down.len, 2 * HEAD_MAX) == -1)
		return 0;
	if (avail == 0)
		return 0;
	if (c->down.cap - c->down.len == 0)
		(void)buf_reserve(&c->down, 1, c->down.cap);
	if ((room = c->down.cap - c->down.len) == 0)
		return 0;
	n = avail < room ? avail : room;
	if (c->state == C_TUNNEL || c->resp_body == B_CLOSE) {
		buf_append(&c->down, p, n);
		c->bin.off += n;
		c->ri.bytes += n;
		return 1;
	}
	if (c->resp_body == B_LENGTH) {
		if (n > c->resp_left)
			n = (size_t)c->resp_left;
		done = (c->resp_left -= n) == 0;
		buf_append(&c->down, p, n);
		c->ri.bytes += n;
	} else {
		r = http_chunk_scan(&c->resp_ck, p, n, &done,
		    c->dechunk ? c->down.p + c->down.len : NULL, &dl);
		if (r == -1) {
			fail(c, "H17", 502, NULL, NULL);
			return 0;
		}
		n = (size_t)r;
		if (!c->dechunk)
			buf_append(&c->down, p, n);
		else
			c->down.len += dl;
		c->ri.bytes += c->dechunk ? dl : n;
	}
	c->bin.off += n;
	if (done) {
		c->resp_done = 1;
		end_response(c);
	}
	return 1;
}

/* ---- moving bytes ---- */

static void
client_gone(struct conn *c)
{
	c->ri.status = 499;
	log_done(c, "H27", NULL, "client");
	conn_close(c);
}

/*
 * Whether the client's bytes have somewhere to go.  Epoll is level-
 * triggered: asking for EPOLLIN with a full buffer would spin the worker
 * while a slow dyno takes an upload.
 */
static int
wants_client(const struct conn *c)
{
	size_t pending = c->cin.len - c->cin.off;

	if (up_by_pipe(c))
		return !c->sup.full && pending == 0 && c->up_sent == c->up.len;
	switch (c->state) {
	case C_CONNECT:
	case C_PROXY:
		/* After the request, read on only to see the client leave. */
		return pending < (c->req_done ? IO_BUF : HEAD_MAX);
	default:
		return pending < HEAD_MAX;
	}
}

/* Whether the dyno's bytes have somewhere to go (see wants_client). */
static int
wants_backend(const struct conn *c)
{
	size_t max = c->resp_head_done ? IO_BUF : HEAD_MAX;

	if (!((c->state == C_PROXY && !c->resp_done) || c->state == C_TUNNEL))
		return 0;
	if (down_by_pipe(c))
		return !c->sdown.full && c->bin.off == c->bin.len &&
		    c->down.off == c->down.len;
	return c->bin.off != 0 || c->bin.len < c->bin.cap || c->bin.cap < max;
}

static int
client_in(struct conn *c)
{
	size_t room, have = c->cin.len - c->cin.off;
	ssize_t n;

	/* Once the pipe takes them, client bytes go by it alone. */
	if (!c->rready || c->cin_eof || !wants_client(c) || up_by_pipe(c))
		return 0;
	/*
	 * A head starts in HEAD_INIT bytes and doubles: most heads are small,
	 * and a thousand pending ones must not cost 16 KiB each up front.
	 */
	if (c->state == C_HEAD)
		room = have < HEAD_INIT ? HEAD_INIT - have : have;
	else
		room = c->cin.cap >= IO_BUF ? 1 : IO_BUF;
	if (room > HEAD_MAX - have)
		room = HEAD_MAX - have;
	if (buf_reserve(&c->cin, room, HEAD_MAX) == -1 ||
	    (room = c->cin.cap - c->cin.len) == 0)
		return 0;
	n = cl_read(c, c->cin.p + c->cin.len, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		c->rready = 0;
		return 0;
	}
	if (n <= 0) {
		c->cin_eof = 1;
		c->rready = 0;
		return 1;
	}
	c->cin.len += (size_t)n;
	c->last_active = now_ms();
	if (c->state == C_HEAD && c->head_start == 0)
		c->head_start = c->last_active;
	if ((size_t)n < room && (c->ssl == NULL || SSL_pending(c->ssl) == 0))
		c->rready = 0;
	return 1;
}

static int
client_out(struct conn *c)
{
	ssize_t n;

	/* Bytes in the pipe came first: they go first. */
	if (c->down.off == c->down.len || c->wblocked || c->sdown.n > 0)
		return 0;
	n = cl_write(c, c->down.p + c->down.off, c->down.len - c->down.off);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		c->wblocked = 1;
		return 0;
	}
	if (n == -1) {
		client_gone(c);
		return 0;
	}
	c->down.off += (size_t)n;
	if (c->down.off == c->down.len)
		c->down.off = c->down.len = 0;
	c->last_active = now_ms();
	return 1;
}

static int
backend_out(struct conn *c)
{
	struct bsock *b = c->b;
	ssize_t n;

	if (b == NULL || b->connecting || b->wblocked ||
	    c->up_sent == c->up.len || c->sup.n > 0)
		return 0;
	n = send(b->fd, c->up.p + c->up_sent, c->up.len - c->up_sent,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		b->wblocked = 1;
		return 0;
	}
	if (n == -1) {
		/* The dyno went away: its read side tells us why. */
		b->rready = 1;
		c->up_sent = c->up.len;
		return 1;
	}
	c->up_sent += (size_t)n;
	c->last_active = now_ms();
	if (c->up_sent == c->up.len && !c->replayable)
		c->up.off = c->up.len = c->up_sent = 0;
	if (c->up_sent == c->up.len && c->req_done && !c->sent) {
		c->sent = 1;
		c->ri.sent_ms = c->last_active;
	}
	return 1;
}

/* A kept-alive dyno connection died before answering: try a fresh one. */
static void
replay(struct conn *c)
{
	release_backend(c, 0);
	c->up_sent = 0;
	c->sent = 0;
	c->tries--;
	(void)start_connect(c);
}

/* The dyno closed (or reset, `reset`) its connection. */
static void
backend_eof(struct conn *c, int reset)
{
	release_backend(c, 0);
	c->beof = 1;
	if (c->state == C_TUNNEL)
		return;
	if (!c->first_byte)
		fail(c, "H13", 503, NULL, NULL);
	else if (reset || !c->resp_head_done || c->resp_body != B_CLOSE)
		c->beof = 2;
}

static int
backend_in(struct conn *c)
{
	struct bsock *b = c->b;
	size_t room;
	ssize_t n;

	if (b == NULL || b->connecting || !b->rready ||
	    !((c->state == C_PROXY && !c->resp_done) || c->state == C_TUNNEL) ||
	    (c->resp_head_done && down_by_pipe(c)))
		return 0;
	room = c->resp_head_done ? IO_BUF : HEAD_MAX;
	if (c->bin.off == c->bin.len)
		c->bin.off = c->bin.len = 0;
	if (buf_reserve(&c->bin, c->bin.cap ? 1 : IO_BUF, room) == -1 ||
	    (room = c->bin.cap - c->bin.len) == 0)
		return 0;
	n = read(b->fd, c->bin.p + c->bin.len, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		b->rready = 0;
		return 0;
	}
	if (n <= 0) {
		if (!c->first_byte && c->reused && c->replayable)
			replay(c);
		else
			backend_eof(c, n == -1);
		return 1;
	}
	c->bin.len += (size_t)n;
	c->first_byte = 1;
	if (c->replayable) {
		c->replayable = 0;
		c->up.off = c->up_sent;
	}
	c->last_active = now_ms();
	if ((size_t)n < room)
		b->rready = 0;
	return 1;
}

/* ---- splice(2): tunnels and long bodies skip the worker's buffers ---- */

/*
 * Dyno bytes go by the pipe, and only by it, on a plain-text client for a
 * tunnel or a long sized body; the buffers only empty themselves first.
 */
static int
down_by_pipe(const struct conn *c)
{
	if (c->ssl != NULL || c->sdown.broken || c->b == NULL ||
	    c->b->connecting)
		return 0;
	if (c->state == C_TUNNEL)
		return 1;
	return c->state == C_PROXY && c->resp_head_done && !c->resp_done &&
	    c->resp_body == B_LENGTH && c->resp_left >= SPLICE_MIN;
}

static int
down_spliceable(const struct conn *c)
{
	return down_by_pipe(c) && c->bin.off == c->bin.len &&
	    c->down.off == c->down.len;
}

/* Client bytes likewise, once the request can no longer be replayed. */
static int
up_by_pipe(const struct conn *c)
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
	return up_by_pipe(c) && c->cin.off == c->cin.len &&
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
static int
splice_down(struct conn *c)
{
	struct spipe *sp = &c->sdown;
	struct bsock *b = c->b;
	size_t max = SPLICE_PIPE;
	int progress = 0;
	ssize_t n;

	if (sp->n > 0 && !c->wblocked) {
		if ((n = spipe_out(sp, c->fd)) > 0) {
			c->last_active = now_ms();
			progress = 1;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			c->wblocked = 1;
		else {
			client_gone(c);
			return 1;
		}
	}
	if (b == NULL || !b->rready || sp->full || !down_spliceable(c) ||
	    spipe_open(sp) == -1)
		return progress;
	if (c->state != C_TUNNEL && max > c->resp_left)
		max = (size_t)c->resp_left;
	if ((n = spipe_in(sp, b->fd, max)) == -1 &&
	    (errno == EAGAIN || errno == EINTR)) {
		if (!sp->full)
			b->rready = 0;
		return progress;
	}
	if (n <= 0) {
		backend_eof(c, n == -1);
		return 1;
	}
	c->ri.bytes += (uint64_t)n;
	c->last_active = now_ms();
	if (c->state != C_TUNNEL && (c->resp_left -= (uint64_t)n) == 0) {
		c->resp_done = 1;
		end_response(c);
	}
	return 1;
}

/* Client to pipe to dyno. */
static int
splice_up(struct conn *c)
{
	struct spipe *sp = &c->sup;
	struct bsock *b = c->b;
	size_t max = SPLICE_PIPE;
	int progress = 0;
	ssize_t n;

	if (sp->n > 0 && b != NULL && !b->wblocked) {
		if ((n = spipe_out(sp, b->fd)) > 0) {
			c->last_active = now_ms();
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
	c->last_active = now_ms();
	if (c->state != C_TUNNEL && (c->req_left -= (uint64_t)n) == 0)
		c->req_done = 1;
	return 1;
}

/* After the dyno's EOF, once every byte it sent has moved on. */
static int
after_beof(struct conn *c)
{
	if (c->beof == 0 || c->bin.off != c->bin.len || c->sdown.n > 0 ||
	    c->state == C_DRAIN)
		return 0;
	if (c->state == C_TUNNEL) {
		c->state = C_DRAIN;
		return 1;
	}
	if (c->beof == 2) {
		fail(c, "H18", 503, NULL, "backend");
		return 1;
	}
	c->resp_done = 1;
	c->bkeep = 0;
	end_response(c);
	return 1;
}

/*
 * The head and the body bytes read with it move on together: the client
 * gets them in one send, one TCP segment instead of two.
 */
static int
step_backend(struct conn *c)
{
	int progress = 0;

	if (c->state == C_PROXY && !c->resp_head_done &&
	    c->bin.off < c->bin.len && parse_response(c)) {
		if (c->closed)
			return 1;
		progress = 1;
	}
	if (((c->state == C_PROXY && c->resp_head_done && !c->resp_done) ||
	    c->state == C_TUNNEL) && move_response(c))
		return 1;
	return progress || after_beof(c);
}

/* Done writing: half-close, then read what the client still sends. */
static int
drain(struct conn *c)
{
	c->cin.off = c->cin.len = 0;
	if (c->down.off != c->down.len || c->sdown.n > 0)
		return 0;
	if (!c->shut) {
		if (c->ssl != NULL)
			(void)SSL_shutdown(c->ssl);
		(void)shutdown(c->fd, SHUT_WR);
		c->shut = 1;
		c->last_active = now_ms();
		return 1;
	}
	if (c->cin_eof)
		conn_close(c);
	return 0;
}

static int
step_client(struct conn *c)
{
	enum cstate s = c->state;

	switch (c->state) {
	case C_HEAD:
		if (c->cin.off < c->cin.len) {
			parse_head(c);
			if (c->state != s)
				return 1;
		}
		/*
		 * A hang-up before the head is whole: nobody to answer, and
		 * waiting for the timer left sockets in CLOSE-WAIT.
		 */
		if (c->cin_eof)
			conn_close(c);
		return 0;
	case C_CONNECT:
	case C_PROXY:
		if (!c->req_done && move_body(c))
			return 1;
		/* No half-close: a client that hangs up is gone (H27). */
		if (c->cin_eof && (c->req_done || c->cin.off == c->cin.len))
			client_gone(c);
		return 0;
	case C_TUNNEL:
		if (move_body(c))
			return 1;
		if (c->cin_eof && c->cin.off == c->cin.len && c->sup.n == 0)
			conn_close(c);
		return 0;
	case C_DRAIN:
		return drain(c);
	}
	return 0;
}

static void
update_events(struct conn *c)
{
	uint32_t want = 0;
	struct bsock *b = c->b;

	if (wants_client(c) && !c->cin_eof)
		want |= EPOLLIN;
	if (((c->down.off != c->down.len || c->sdown.n > 0) && c->wblocked) ||
	    c->ssl_wantw)
		want |= EPOLLOUT;
	if (want != c->events && evloop_mod_fd(W.ev, c->fd, want) == 0)
		c->events = want;
	if (b == NULL)
		return;
	want = 0;
	if (b->connecting)
		want = EPOLLOUT;
	else {
		if (wants_backend(c))
			want |= EPOLLIN | EPOLLRDHUP;
		if ((c->up_sent != c->up.len || c->sup.n > 0) && b->wblocked)
			want |= EPOLLOUT;
	}
	set_bevents(b, want);
}

static void
pump(struct conn *c)
{
	int progress;

	do {
		progress = 0;
		if (!c->closed)
			progress |= step_client(c);
		if (!c->closed)
			progress |= splice_up(c);
		if (!c->closed)
			progress |= backend_out(c);
		if (!c->closed)
			progress |= splice_down(c);
		if (!c->closed)
			progress |= backend_in(c);
		if (!c->closed)
			progress |= step_backend(c);
		if (!c->closed)
			progress |= client_out(c);
		if (!c->closed)
			progress |= client_in(c);
	} while (progress && !c->closed);
	if (c->closed)
		conn_free(c);
	else
		update_events(c);
}

static void
client_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	(void)tick();
	(void)ev;
	(void)fd;
	if ((events & (EPOLLHUP | EPOLLERR)) && c->state != C_DRAIN &&
	    c->state != C_HEAD) {
		client_gone(c);
		conn_free(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->rready = 1;
	if (events & EPOLLOUT) {
		c->wblocked = 0;
		c->ssl_wantw = 0;
		if (c->ssl != NULL)
			c->rready = 1;
	}
	pump(c);
}

/* ---- accepting ---- */

static void
peer_ip(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)size);
	else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
		    (socklen_t)size);
	else
		inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)size);
}

static void
conn_new(struct listener *l, int fd, const struct sockaddr_storage *ss,
    struct ipslot *ips)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (l->tls && (c->ssl = tls_accept(W.wc->tls, fd)) == NULL) ||
	    evloop_add_fd(W.ev, fd, EPOLLIN, client_ev, c) == -1) {
		if (c != NULL && c->ssl != NULL)
			SSL_free(c->ssl);
		free(c);
		close(fd);
		ip_put(ips);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->l = l;
	c->sdown.fd[0] = c->sdown.fd[1] = -1;
	c->sup.fd[0] = c->sup.fd[1] = -1;
	c->events = EPOLLIN;
	c->last_active = now_ms();
	/* The first head is on the clock from the accept (and TLS). */
	c->head_start = c->last_active;
	c->ips = ips;
	peer_ip(ss, c->ip, sizeof(c->ip));
	c->next = W.conns;
	if (W.conns != NULL)
		W.conns->prev = c;
	W.conns = c;
	W.nconns++;
}

/* What a refused client gets: no read, one send, one close. */
static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";

static void
refuse(int fd, const struct sockaddr_storage *ss, const char *why)
{
	char ip[48];

	(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	W.refused++;
	peer_ip(ss, ip, sizeof(ip));
	diag_warn_ratelimited(2, 10000, "%s: %s; connections refused with "
	    "503: %llu so far", ip, why, (unsigned long long)W.refused);
}

/*
 * The client address's slot if it may have one more connection (both
 * limits of dyno.conf's [router]); else the connection is refused.
 */
static struct ipslot *
admit_conn(int fd, const struct sockaddr_storage *ss)
{
	const struct conf *cf = W.conf;
	unsigned char key[16];
	struct ipslot *ips;

	if (W.nconns >= cf->max_connections) {
		refuse(fd, ss, "max_connections reached");
		return NULL;
	}
	ip_key(ss, key);
	if ((ips = ip_get(key)) == NULL) {
		close(fd);
		return NULL;
	}
	if (cf->max_conns_per_ip > 0 && ips->n >= cf->max_conns_per_ip) {
		refuse(fd, ss, "max_connections_per_ip reached");
		return NULL;
	}
	ips->n++;
	return ips;
}

static void
resume_accepting(struct evloop *ev, void *arg)
{
	int i;

	(void)arg;
	W.accept_paused = 0;
	if (W.draining)
		return;
	if (W.reserve_fd == -1)
		W.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < W.wc->nls; i++)
		(void)evloop_mod_fd(ev, W.wc->ls[i].fd, EPOLLIN);
}

static void
pause_accepting(void)
{
	int i;

	if (W.accept_paused ||
	    evloop_timer(W.ev, ACCEPT_PAUSE_MS, resume_accepting, NULL) == NULL)
		return;
	W.accept_paused = 1;
	for (i = 0; i < W.wc->nls; i++)
		(void)evloop_mod_fd(W.ev, W.wc->ls[i].fd, 0);
}

/*
 * accept failed for want of fds or kernel memory.  The listening socket
 * is level-triggered, so just returning brings the same event straight
 * back: a worker at 97% CPU serving no one.  The reserve fd is given up to
 * take the connection and close it (the client learns at once instead of
 * waiting in the backlog); when even that fails, accepting pauses for
 * ACCEPT_PAUSE_MS.  Returns whether to go on accepting.
 */
static int
accept_failed(int lfd, int err)
{
	int cfd, e;

	if ((err == EMFILE || err == ENFILE) && W.reserve_fd != -1) {
		close(W.reserve_fd);
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		e = errno;
		if (cfd != -1)
			close(cfd);
		W.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (cfd == -1 && (e == EAGAIN || e == EWOULDBLOCK))
			return 0;
		if (cfd != -1) {
			W.shed++;
			diag_warn_ratelimited(1, 10000, "accept: %s; new "
			    "connections closed at once: %llu so far",
			    strerror(err), (unsigned long long)W.shed);
			if (W.reserve_fd != -1)
				return 1;
		}
	}
	diag_warn_ratelimited(1, 10000, "accept: %s; pausing for %d ms",
	    strerror(err), ACCEPT_PAUSE_MS);
	pause_accepting();
	return 0;
}

static void
accept_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct sockaddr_storage ss;
	struct ipslot *ips;
	socklen_t sl;
	int cfd, i;

	(void)tick();
	(void)ev;
	(void)events;
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (cfd == -1 && !accept_failed(fd, errno))
			return;
		if (cfd != -1 && (ips = admit_conn(cfd, &ss)) != NULL)
			conn_new(arg, cfd, &ss, ips);
	}
}

/* ---- timeouts, shutdown, signals ---- */

static void
timeout_proxy(struct conn *c, uint64_t now)
{
	const struct conf *cf = W.conf;
	uint64_t base;

	if (!c->req_done) {
		if (now - c->last_active >= cf->idle_timeout_ms) {
			c->ri.status = 499;
			log_done(c, "H28", NULL, NULL);
			conn_close(c);
		}
	} else if (!c->first_byte) {
		base = c->sent ? c->ri.sent_ms : c->last_active;
		if (now - base >= cf->response_timeout_ms)
			fail(c, "H12", 503, NULL, NULL);
	} else if (now - c->last_active >= cf->idle_timeout_ms)
		fail(c, "H15", 503, NULL, NULL);
}

/* A request waiting for a dyno: try again once there is one. */
static void
timeout_wait(struct conn *c, uint64_t now)
{
	struct app *app = c->app;
	unsigned i;

	if (now - c->ri.start_ms >= connect_budget()) {
		fail(c, c->wait_code, 503, NULL, NULL);
		return;
	}
	for (i = 0; i < app->nroutes; i++)
		if (app->routes[i].up->quarantined_until <= now)
			break;
	if (i == app->nroutes)
		return;
	c->wait_code = NULL;
	(void)start_connect(c);
}

/*
 * Waiting for a head.  Between requests a kept-alive client may idle for
 * client_keepalive; once a head has begun (for the first one, from the
 * accept on) it must be whole within request_head_timeout, however it
 * trickles in: an idle timer alone restarts on every byte (slowloris).
 */
static void
timeout_head(struct conn *c, uint64_t now)
{
	const struct conf *cf = W.conf;

	if (c->head_start == 0 || cf->head_timeout_ms == 0) {
		if (now - c->last_active >= cf->client_idle_ms)
			conn_close(c);
		return;
	}
	if (now - c->head_start < cf->head_timeout_ms)
		return;
	W.head_timeouts++;
	diag_warn_ratelimited(3, 10000, "%s: H28 request head not whole "
	    "within request_head_timeout; 408: %llu so far", c->ip,
	    (unsigned long long)W.head_timeouts);
	c->cin.off = c->cin.len = 0;
	c->is_head = 0;
	msg_error_page(c, 408, "H28");
	c->state = C_DRAIN;
	c->last_active = now;
}

static void
timeout_conn(struct conn *c, uint64_t now)
{
	const struct conf *cf = W.conf;

	switch (c->state) {
	case C_HEAD:
		timeout_head(c, now);
		break;
	case C_CONNECT:
		if (c->b == NULL) {
			timeout_wait(c, now);
			break;
		}
		if (now - c->connect_start < cf->connect_timeout_ms)
			return;
		c->ri.connect_ms = now - c->connect_start;
		quarantine(c->b->up, "H19", c);
		release_backend(c, 0);
		(void)start_connect(c);
		break;
	case C_PROXY:
		timeout_proxy(c, now);
		break;
	case C_TUNNEL:
		if (now - c->last_active >= cf->idle_timeout_ms)
			conn_close(c);
		break;
	case C_DRAIN:
		if (now - c->last_active >= LINGER_MS)
			conn_close(c);
		break;
	}
	pump(c);
}

/* Close kept-alive dyno connections idle past keepalive_timeout. */
static void
sweep_pools(uint64_t now)
{
	struct upstream **ups, *u;
	struct bsock *b, *next;
	size_t i, n;

	ups = apps_upstreams(W.apps, &n);
	for (i = 0; i < n; i++) {
		u = ups[i];
		for (b = u->idle; b != NULL; b = next) {
			next = b->next;
			if (now - b->idle_since >= W.conf->keepalive_timeout_ms ||
			    W.draining) {
				pool_remove(b);
				bsock_close(b);
			}
		}
	}
}

static void
sweep(struct evloop *ev, void *arg)
{
	struct conn *c, *next;
	uint64_t now = tick();

	(void)arg;
	for (c = W.conns; c != NULL; c = next) {
		next = c->next;
		if (W.draining && now >= W.drain_deadline) {
			c->ri.status = 0;
			log_done(c, "H24", NULL, NULL);
			conn_close(c);
			pump(c);
		} else
			timeout_conn(c, now);
	}
	sweep_pools(now);
	if (W.draining && W.nconns == 0)
		evloop_stop(ev);
	W.sweeper = evloop_timer(ev, SWEEP_MS, sweep, NULL);
}

static void
start_drain(void)
{
	struct conn *c, *next;
	int i;

	if (W.draining)
		return;
	W.draining = 1;
	W.drain_deadline = now_ms() + W.conf->shutdown_timeout_ms;
	for (i = 0; i < W.wc->nls; i++) {
		evloop_del_fd(W.ev, W.wc->ls[i].fd);
		close(W.wc->ls[i].fd);
	}
	for (c = W.conns; c != NULL; c = next) {
		next = c->next;
		c->keep = 0;
		if (c->state == C_HEAD && c->cin.off == c->cin.len) {
			conn_close(c);
			pump(c);
		}
	}
	sweep_pools(now_ms());
	if (W.nconns == 0)
		evloop_stop(W.ev);
}

static void
reload(void)
{
	struct conf nc;
	char err[512];

	if (conf_load(&nc, err, sizeof(err)) == -1)
		diag_warn("reload: %s; keeping the running configuration", err);
	else
		*W.conf = nc;
	if (apps_reload(W.apps, err, sizeof(err)) == -1)
		diag_warn("reload: %s", err);
}

static void
dump(void)
{
	struct conn *c;
	unsigned n[C_DRAIN + 1] = { 0 }, waiting = 0;

	for (c = W.conns; c != NULL; c = c->next) {
		n[c->state]++;
		waiting += c->state == C_CONNECT && c->b == NULL;
	}
	fprintf(stderr, "%s: worker %ld: %u connections (head %u, connect %u, "
	    "waiting for a dyno %u, proxy %u, tunnel %u, closing %u), "
	    "%llu bytes spliced, %u pooled, %llu refused, %llu shed, "
	    "%llu head timeouts%s\n", diag_prog(), (long)getpid(), W.nconns,
	    n[C_HEAD], n[C_CONNECT] - waiting, waiting, n[C_PROXY],
	    n[C_TUNNEL], n[C_DRAIN], (unsigned long long)W.spliced,
	    W.npooled, (unsigned long long)W.refused,
	    (unsigned long long)W.shed, (unsigned long long)W.head_timeouts,
	    W.draining ? ", draining" : "");
	apps_dump(W.apps);
}

static void
signal_ev(struct evloop *ev, int signo, void *arg)
{
	(void)tick();
	(void)ev;
	(void)arg;
	if (signo == SIGHUP)
		reload();
	else if (signo == SIGUSR1)
		dump();
	else
		start_drain();
}

static void
inotify_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	char err[512];

	(void)tick();
	(void)ev;
	(void)fd;
	(void)events;
	(void)arg;
	if (apps_drain(W.apps) && apps_reload(W.apps, err, sizeof(err)) == -1)
		diag_warn("%s", err);
}

static int
setup(struct worker_cfg *wc)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char err[512];
	size_t i;

	W.wc = wc;
	W.conf = wc->conf;
	/* Kept for the day accept finds no fd left (accept_failed). */
	W.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (getrandom(&W.rng, sizeof(W.rng), 0) != sizeof(W.rng) || W.rng == 0)
		W.rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL | 1;
	if ((W.ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "epoll");
	if ((W.apps = apps_open(W.conf->root, err, sizeof(err))) == NULL)
		diag_die(EXIT_OSERR, "%s", err);
	W.lc = logclient_open(W.conf->rundir);
	logclient_hold(W.lc, 1);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (evloop_add_signal(W.ev, sigs[i], signal_ev, NULL) == -1)
			diag_die_errno(EXIT_OSERR, "signalfd");
	if (evloop_add_fd(W.ev, apps_fd(W.apps), EPOLLIN, inotify_ev,
	    NULL) == -1)
		diag_die_errno(EXIT_OSERR, "inotify");
	for (i = 0; i < (size_t)wc->nls; i++)
		if (evloop_add_fd(W.ev, wc->ls[i].fd, EPOLLIN, accept_ev,
		    &wc->ls[i]) == -1)
			diag_die_errno(EXIT_OSERR, "epoll");
	if ((W.sweeper = evloop_timer(W.ev, SWEEP_MS, sweep, NULL)) == NULL)
		diag_die_errno(EXIT_OSERR, "timer");
	return 0;
}

int
proxy_run(struct worker_cfg *wc)
{
	setup(wc);
	if (evloop_run(W.ev) == -1)
		diag_die_errno(EXIT_OSERR, "epoll_wait");
	logclient_close(W.lc);
	apps_close(W.apps);
	evloop_free(W.ev);
	return 0;
}
