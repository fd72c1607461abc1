/* SPDX-License-Identifier: ISC */
/* dyno-route: the request/response core: one connection's bytes and state. */
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"
#include "logclient.h"

#define IO_BUF		(16 * 1024)
/* A head's first buffer; it doubles up to HEAD_MAX. */
#define HEAD_INIT	2048

#define NONE	(-1)
/* Where each state goes on each event (the table in dyno-route.h). */
static const signed char ctrans[C_DRAIN + 1][CE_CLOSE + 1] = {
	/* on:	       CONNECTING CONNECTED UPGRADED  NEXT    CLOSE */
	[C_HEAD] =    { C_CONNECT, C_PROXY, NONE,     NONE,   C_DRAIN },
	[C_CONNECT] = { C_CONNECT, C_PROXY, NONE,     NONE,   C_DRAIN },
	[C_PROXY] =   { C_CONNECT, C_PROXY, C_TUNNEL, C_HEAD, C_DRAIN },
	[C_TUNNEL] =  { NONE,      NONE,    NONE,     NONE,   C_DRAIN },
	[C_DRAIN] =   { NONE,      NONE,    NONE,     NONE,   C_DRAIN },
};

void
proxy_transition(struct conn *c, enum cevent ev)
{
	int next = ctrans[c->state][ev];

	/* A bug, not input: say so, and end the connection cleanly. */
	if (next == NONE) {
		diag_warn_ratelimited(4, 10000, "%s: no transition from "
		    "state %d on event %d; closing", c->ip, (int)c->state,
		    (int)ev);
		next = C_DRAIN;
	}
	c->state = (enum cstate)next;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- client connections ---- */

/* Close at once; the conn is freed at the end of its pump. */
void
proxy_close(struct worker *w, struct conn *c)
{
	if (c->closed)
		return;
	if (c->app != NULL && !c->logged)
		c->app->inflight--;
	c->app = NULL;
	pool_release(w, c, 0);
	if (c->sio != NULL)
		c->sio->end(c, 0);	/* a no-op once it ended whole */
	else {
		evloop_del_fd(w->ev, c->fd);
		close(c->fd);
	}
	c->closed = 1;
}

static ssize_t
cl_read(struct conn *c, char *p, size_t n)
{
	if (c->sio != NULL)
		return c->sio->read(c, p, n);
	if (c->ssl == NULL)
		return read(c->fd, p, n);
	return tls_read(c->ssl, p, n, &c->ssl_wantw);
}

static ssize_t
cl_write(struct conn *c, const char *p, size_t n)
{
	if (c->sio != NULL)
		return c->sio->write(c, p, n);
	if (c->ssl == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	return tls_write(c->ssl, p, n, &c->ssl_wantw);
}

static void
flush_log(struct evloop *ev, void *arg)
{
	struct worker *w = arg;

	w->flush_armed = 0;
	/* Lines logplexd had no room for: try again shortly. */
	if (logclient_flush(w->lc) > 0 &&
	    evloop_timer(ev, 2, flush_log, w) != NULL)
		w->flush_armed = 1;
}

/* Log one request once, with its H-code if any. */
void
proxy_log_done(struct worker *w, struct conn *c, const char *code,
    const char *cause, const char *sock)
{
	if (c->logged || c->app == NULL)
		return;
	msg_log(w->lc, c, code, cause, sock);
	/* Timers run after the current round of events: one send for all. */
	if (!w->flush_armed && w->lc != NULL &&
	    evloop_timer(w->ev, 0, flush_log, w) != NULL)
		w->flush_armed = 1;
	c->app->inflight--;
	c->logged = 1;
}

/* A request whose dyno is known ends here: log it, free the dyno. */
static void
finish_request(struct worker *w, struct conn *c, int reuse)
{
	proxy_log_done(w, c, NULL, NULL, NULL);
	pool_release(w, c, reuse && c->bkeep && c->req_done &&
	    c->bin.off == c->bin.len);
}

/* Ready for the next request on a kept-alive client connection. */
static void
next_request(struct worker *w, struct conn *c)
{
	proxy_transition(c, CE_NEXT);
	/* A pipelined head already begun is on the clock from now. */
	c->head_start = c->cin.off < c->cin.len ? w->now : 0;
	c->app = NULL;
	c->up.off = c->up.len = c->up_sent = 0;
	c->bin.off = c->bin.len = 0;
	c->resp = R_WAIT;
	c->dyno_eof = DEOF_NONE;	/* that was the last request's dyno */
	c->sent = c->reused = c->logged = c->tries = 0;
	c->last_err = NULL;
}

static void
end_response(struct worker *w, struct conn *c)
{
	finish_request(w, c, 1);
	/* An HTTP/2 stream carries one request. */
	if (c->keep && c->sio == NULL && c->req_done && !w->draining &&
	    !c->cin_eof)
		next_request(w, c);
	else
		proxy_transition(c, CE_CLOSE);
}

/* Log an H-code, answer with the router's page if nothing went out yet. */
void
proxy_fail(struct worker *w, struct conn *c, const char *code, int status,
    const char *cause, const char *sock)
{
	if (c->resp < R_BODY) {
		c->down.off = c->down.len = 0;
		msg_error_page(c, status, code);
	}
	c->ri.status = status;
	c->keep = 0;
	proxy_log_done(w, c, code, cause, sock);
	pool_release(w, c, 0);
	proxy_transition(c, CE_CLOSE);
}

/*
 * No dyno to try now: every one is quarantined (H99 at the end) or the
 * app's web dynos are still booting (H20).  The request holds its place
 * (state C_CONNECT with no dyno socket) and the sweep looks again.
 */
static void
wait_for_dyno(struct worker *w, struct conn *c, const char *code)
{
	c->wait_code = code;
	proxy_transition(c, CE_CONNECTING);
	c->connect_start = w->now;
}

void
proxy_connect(struct worker *w, struct conn *c)
{
	const char *code = NULL;

	switch (pool_connect(w, c, &code)) {
	case POOL_REUSED:
		proxy_transition(c, CE_CONNECTED);
		break;
	case POOL_CONNECTING:
		proxy_transition(c, CE_CONNECTING);
		break;
	case POOL_WAIT:
		wait_for_dyno(w, c, "H99");
		break;
	case POOL_FAILED:
		proxy_fail(w, c, code, 503, NULL, NULL);
		break;
	}
}

void
proxy_connected(struct worker *w, struct conn *c)
{
	int rc;

	if ((rc = pool_connected(w, c)) == 1)
		proxy_transition(c, CE_CONNECTED);
	else if (rc == -1)
		proxy_connect(w, c);
}

/* ---- the request: head from the client, body towards the dyno ---- */

static void
bad_request(struct worker *w, struct conn *c, const struct http_msg *m)
{
	c->is_head = 0;
	c->app = NULL;
	if (m->host >= 0 && (c->app = apps_lookup(w->apps,
	    m->hdr[m->host].value, m->hdr[m->host].vlen)) != NULL) {
		c->app->inflight++;
		c->logged = 0;
		c->ri.start_ms = w->now;
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
	proxy_fail(w, c, m->err_code, m->err_status, m->err_cause, NULL);
}

/* Whether to connect now; fails the request or makes it wait if not. */
static int
admit(struct worker *w, struct conn *c)
{
	struct app *app = c->app;

	/* Maintenance mode: the dynos keep running, nothing reaches them. */
	if (app->maintenance) {
		proxy_fail(w, c, "H80", 503, NULL, NULL);
		return 0;
	}
	if (app->nroutes == 0 && apps_booting(w->apps, app)) {
		wait_for_dyno(w, c, "H20");
		return 0;
	}
	if (app->nroutes == 0) {
		proxy_fail(w, c, apps_crashed(w->apps, app) ? "H10" : "H14",
		    503, NULL, NULL);
		return 0;
	}
	if (app->inflight > w->conf->backlog_per_dyno * app->nroutes) {
		proxy_fail(w, c, "H11", 503, NULL, NULL);
		return 0;
	}
	return 1;
}

static void
dispatch(struct worker *w, struct conn *c, const struct http_msg *m, size_t hl)
{
	struct app *app;

	if (acme_answer(w, c, m, hl)) {
		proxy_transition(c, CE_CLOSE);
		return;
	}
	c->ri.start_ms = w->now;
	app = apps_lookup(w->apps, m->hostv, m->hostlen);
	if (msg_request(c, m, hl, wall_ms()) == -1) {
		c->cin.off += hl;
		proxy_fail(w, c, "H26", 400, "bad header", NULL);
		return;
	}
	c->cin.off += hl;
	if (app == NULL) {
		c->ri.status = 404;
		msg_error_page(c, 404, NULL);
		proxy_transition(c, CE_CLOSE);
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
	if (admit(w, c))
		proxy_connect(w, c);
}

static void
parse_head(struct worker *w, struct conn *c)
{
	struct http_msg m;
	ssize_t hl;

	m.hdr = w->hdr;
	hl = http_parse_request(c->cin.p + c->cin.off, c->cin.len - c->cin.off,
	    &m);
	if (hl > 0)
		dispatch(w, c, &m, (size_t)hl);
	else if (hl == -1)
		bad_request(w, c, &m);
	else if (c->cin.len - c->cin.off >= HEAD_MAX) {
		m.host = -1;
		m.err_code = "H26";
		m.err_status = 400;
		m.err_cause = "request too large";
		bad_request(w, c, &m);
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
move_body(struct worker *w, struct conn *c)
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
			proxy_fail(w, c, "H26", 400, "bad chunk", NULL);
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
parse_response(struct worker *w, struct conn *c)
{
	struct http_msg m;
	ssize_t hl;

	m.hdr = w->hdr;
	hl = http_parse_response(c->bin.p + c->bin.off,
	    c->bin.len - c->bin.off, &m);
	if (hl == 0 && c->bin.len - c->bin.off >= HEAD_MAX)
		proxy_fail(w, c, "H25", 502, NULL, NULL);
	if (hl == -1)
		proxy_fail(w, c, m.err_code, 502, NULL, NULL);
	if (hl <= 0)
		return 0;
	c->bin.off += (size_t)hl;
	/* Interim answers: the router already said 100 Continue. */
	if (m.status < 200 && m.status != 101)
		return 1;
	if (m.status == 101 && !c->upgrade) {
		proxy_fail(w, c, "H17", 502, NULL, NULL);
		return 0;
	}
	if (msg_response(c, &m) == -1) {
		proxy_fail(w, c, "H25", 502, NULL, NULL);
		return 0;
	}
	c->resp = c->resp_body == B_NONE && m.status != 101 ? R_DONE : R_BODY;
	c->ri.status = m.status;
	if (m.status == 101) {
		proxy_log_done(w, c, NULL, NULL, NULL);
		c->replayable = 0;
		c->up.off = c->up_sent;
		proxy_transition(c, CE_UPGRADED);
	} else if (c->resp == R_DONE)
		end_response(w, c);
	return 1;
}

/* The 101 switched protocols: the tunnel keeps the dyno socket. */
static int
move_response(struct worker *w, struct conn *c)
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
			proxy_fail(w, c, "H17", 502, NULL, NULL);
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
		c->resp = R_DONE;
		end_response(w, c);
	}
	return 1;
}

/* ---- moving bytes ---- */

void
proxy_client_gone(struct worker *w, struct conn *c)
{
	c->ri.status = 499;
	proxy_log_done(w, c, "H27", NULL, "client");
	proxy_close(w, c);
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

	if (splice_up_by_pipe(c))
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
	size_t max = c->resp >= R_BODY ? IO_BUF : HEAD_MAX;

	if (!((c->state == C_PROXY && c->resp != R_DONE) ||
	    c->state == C_TUNNEL))
		return 0;
	if (splice_down_by_pipe(c))
		return !c->sdown.full && c->bin.off == c->bin.len &&
		    c->down.off == c->down.len;
	return c->bin.off != 0 || c->bin.len < c->bin.cap || c->bin.cap < max;
}

static int
client_in(struct worker *w, struct conn *c)
{
	size_t room, have = c->cin.len - c->cin.off;
	ssize_t n;

	/* Once the pipe takes them, client bytes go by it alone. */
	if (!c->rready || c->cin_eof || !wants_client(c) ||
	    splice_up_by_pipe(c))
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
	c->last_active = w->now;
	if (c->state == C_HEAD && c->head_start == 0)
		c->head_start = c->last_active;
	if ((size_t)n < room && (c->ssl == NULL || !SSL_has_pending(c->ssl)))
		c->rready = 0;
	return 1;
}

static int
client_out(struct worker *w, struct conn *c)
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
		proxy_client_gone(w, c);
		return 0;
	}
	c->down.off += (size_t)n;
	if (c->down.off == c->down.len)
		c->down.off = c->down.len = 0;
	c->last_active = w->now;
	return 1;
}

static int
backend_out(struct worker *w, struct conn *c)
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
	c->last_active = w->now;
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
replay(struct worker *w, struct conn *c)
{
	pool_release(w, c, 0);
	c->up_sent = 0;
	c->sent = 0;
	c->tries--;
	proxy_connect(w, c);
}

/* The dyno closed (or reset, `reset`) its connection. */
static void
backend_eof(struct worker *w, struct conn *c, int reset)
{
	pool_release(w, c, 0);
	c->dyno_eof = DEOF_END;
	if (c->state == C_TUNNEL)
		return;
	if (c->resp == R_WAIT)
		proxy_fail(w, c, "H13", 503, NULL, NULL);
	else if (reset || c->resp < R_BODY || c->resp_body != B_CLOSE)
		c->dyno_eof = DEOF_CUT;
}

static int
backend_in(struct worker *w, struct conn *c)
{
	struct bsock *b = c->b;
	size_t room;
	ssize_t n;

	if (b == NULL || b->connecting || !b->rready ||
	    !((c->state == C_PROXY && c->resp != R_DONE) ||
	    c->state == C_TUNNEL) ||
	    (c->resp >= R_BODY && splice_down_by_pipe(c)))
		return 0;
	room = c->resp >= R_BODY ? IO_BUF : HEAD_MAX;
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
		if (c->resp == R_WAIT && c->reused && c->replayable)
			replay(w, c);
		else
			backend_eof(w, c, n == -1);
		return 1;
	}
	c->bin.len += (size_t)n;
	if (c->resp == R_WAIT)
		c->resp = R_HEAD;
	if (c->replayable) {
		c->replayable = 0;
		c->up.off = c->up_sent;
	}
	c->last_active = w->now;
	if ((size_t)n < room)
		b->rready = 0;
	return 1;
}

/* Act on what splice_down says. */
static int
pump_splice_down(struct worker *w, struct conn *c)
{
	switch (splice_down(w, c)) {
	case SPLICE_IDLE:
		return 0;
	case SPLICE_MOVED:
		break;
	case SPLICE_CLIENT_GONE:
		proxy_client_gone(w, c);
		break;
	case SPLICE_EOF:
		backend_eof(w, c, 0);
		break;
	case SPLICE_RESET:
		backend_eof(w, c, 1);
		break;
	case SPLICE_BODY_END:
		c->resp = R_DONE;
		end_response(w, c);
		break;
	}
	return 1;
}

/* After the dyno's EOF, once every byte it sent has moved on. */
static int
after_dyno_eof(struct worker *w, struct conn *c)
{
	if (c->dyno_eof == DEOF_NONE || c->bin.off != c->bin.len ||
	    c->sdown.n > 0 || c->state == C_DRAIN)
		return 0;
	if (c->state == C_TUNNEL) {
		proxy_transition(c, CE_CLOSE);
		return 1;
	}
	if (c->dyno_eof == DEOF_CUT) {
		proxy_fail(w, c, "H18", 503, NULL, "backend");
		return 1;
	}
	c->resp = R_DONE;
	c->bkeep = 0;
	end_response(w, c);
	return 1;
}

/*
 * The head and the body bytes read with it move on together: the client
 * gets them in one send, one TCP segment instead of two.
 */
static int
step_backend(struct worker *w, struct conn *c)
{
	int progress = 0;

	if (c->state == C_PROXY && c->resp < R_BODY &&
	    c->bin.off < c->bin.len && parse_response(w, c)) {
		if (c->closed)
			return 1;
		progress = 1;
	}
	if (((c->state == C_PROXY && c->resp == R_BODY) ||
	    c->state == C_TUNNEL) && move_response(w, c))
		return 1;
	return progress || after_dyno_eof(w, c);
}

/* Done writing: half-close, then read what the client still sends. */
static int
drain(struct worker *w, struct conn *c)
{
	c->cin.off = c->cin.len = 0;
	if (c->down.off != c->down.len || c->sdown.n > 0)
		return 0;
	/* A stream ends with END_STREAM, or RST_STREAM when cut (H18...). */
	if (c->sio != NULL) {
		c->sio->end(c, c->resp != R_BODY);
		c->shut = 1;
		proxy_close(w, c);
		return 0;
	}
	if (!c->shut) {
		if (c->ssl != NULL)
			(void)SSL_shutdown(c->ssl);
		(void)shutdown(c->fd, SHUT_WR);
		c->shut = 1;
		c->last_active = w->now;
		return 1;
	}
	if (c->cin_eof)
		proxy_close(w, c);
	return 0;
}

static int
step_client(struct worker *w, struct conn *c)
{
	enum cstate s = c->state;

	switch (c->state) {
	case C_HEAD:
		if (c->cin.off < c->cin.len) {
			parse_head(w, c);
			if (c->state != s)
				return 1;
		}
		/*
		 * A hang-up before the head is whole: nobody to answer, and
		 * waiting for the timer left sockets in CLOSE-WAIT.
		 */
		if (c->cin_eof)
			proxy_close(w, c);
		return 0;
	case C_CONNECT:
	case C_PROXY:
		if (!c->req_done && move_body(w, c))
			return 1;
		/* No half-close: a client that hangs up is gone (H27). */
		if (c->cin_eof && (c->req_done || c->cin.off == c->cin.len))
			proxy_client_gone(w, c);
		return 0;
	case C_TUNNEL:
		if (move_body(w, c))
			return 1;
		if (c->cin_eof && c->cin.off == c->cin.len && c->sup.n == 0)
			proxy_close(w, c);
		return 0;
	case C_DRAIN:
		return drain(w, c);
	}
	return 0;
}

static void
update_events(struct worker *w, struct conn *c)
{
	uint32_t want = 0;
	struct bsock *b = c->b;

	if (wants_client(c) && !c->cin_eof)
		want |= EPOLLIN;
	if (((c->down.off != c->down.len || c->sdown.n > 0) && c->wblocked) ||
	    c->ssl_wantw)
		want |= EPOLLOUT;
	/* An HTTP/2 stream has no socket: its session wakes it. */
	if (c->sio == NULL && want != c->events &&
	    evloop_mod_fd(w->ev, c->fd, want) == 0)
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
	pool_set_events(w, b, want);
}

int
proxy_pump(struct worker *w, struct conn *c)
{
	int progress;

	do {
		progress = 0;
		if (!c->closed)
			progress |= step_client(w, c);
		if (!c->closed)
			progress |= splice_up(w, c);
		if (!c->closed)
			progress |= backend_out(w, c);
		if (!c->closed)
			progress |= pump_splice_down(w, c);
		if (!c->closed)
			progress |= backend_in(w, c);
		if (!c->closed)
			progress |= step_backend(w, c);
		if (!c->closed)
			progress |= client_out(w, c);
		if (!c->closed)
			progress |= client_in(w, c);
	} while (progress && !c->closed);
	if (c->closed)
		return 1;
	update_events(w, c);
	return 0;
}

