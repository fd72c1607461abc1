/* SPDX-License-Identifier: ISC */
/* Tail sessions on logplexd.tail: history, then live lines, L11 when slow. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "listener.h"
#include "logplexd.h"
#include "state.h"

#define OUT_MAX		(64 * 1024)
#define TAIL_MAX	1024	/* sessions at once */
#define REMOTE_REQ_MS	10000	/* a --listen tail's request within */

struct tail {
	struct tail	*next;		/* in app->tails or lpd->pending */
	struct tail	*dirty_next;
	struct lpd	*lpd;
	struct app	*app;		/* NULL until the request is read */
	int		 fd;
	int		 remote;	/* from --listen: needs a token */
	struct evtimer	*req_timer;	/* remote: the request is late */
	int		 dirty, blocked;
	struct tailreq	 rq;
	char		 req[TAILPROTO_REQ_MAX];
	size_t		 reqlen;
	struct lmsg	**backlog;	/* the history answer, oldest first */
	size_t		 nback, backpos;
	struct lring	 live;		/* lines since, bounded: L11 */
	unsigned long long dropped;
	char		 drop_since[LOGMSG_TS_LEN + 1];
	size_t		 outoff, outlen;
	char		 out[OUT_MAX];
};

struct tail *
tail_next(const struct tail *t)
{
	return t->next;
}

/* Unlink t from the list starting at *head. */
static void
unlink_from(struct tail **head, struct tail *t)
{
	for (; *head != NULL; head = &(*head)->next)
		if (*head == t) {
			*head = t->next;
			return;
		}
}

static void
tail_free(struct tail *t)
{
	struct lpd *l = t->lpd;
	struct tail **p;

	if (t->req_timer != NULL)
		evloop_timer_cancel(l->ev, t->req_timer);
	unlink_from(t->app ? &t->app->tails : &l->pending, t);
	for (p = &l->dirty; *p != NULL; p = &(*p)->dirty_next)
		if (*p == t) {
			*p = t->dirty_next;
			break;
		}
	evloop_del_fd(l->ev, t->fd);
	close(t->fd);
	while (t->backpos < t->nback)
		lmsg_unref(t->backlog[t->backpos++]);
	free(t->backlog);
	lring_free(&t->live);
	free(t);
	l->ntails--;
}

/* Append one display line; 0 when out has no room for it yet. */
static int
out_line(struct tail *t, const struct lmsg *m)
{
	struct logmsg v;
	size_t need, room;

	if (t->outoff > 0 && t->outoff == t->outlen)
		t->outoff = t->outlen = 0;
	lmsg_view(m, &v);
	room = OUT_MAX - t->outlen;
	need = logmsg_display(t->out + t->outlen, room, &v);
	if (need + 1 >= room) {
		if (t->outlen > 0)
			return 0;
		need = room - 2;	/* a line longer than out: cut */
	}
	t->out[t->outlen + need] = '\n';
	t->outlen += need + 1;
	return 1;
}

static void
out_l11(struct tail *t)
{
	char text[200];
	struct lmsg *m;

	snprintf(text, sizeof(text), "Error L11 (Tail buffer overflow) -> This "
	    "tail session dropped %llu messages since %s.", t->dropped,
	    t->drop_since);
	if ((m = lmsg_platform(172, text)) == NULL || !out_line(t, m)) {
		lmsg_unref(m);
		return;
	}
	lmsg_unref(m);
	t->dropped = 0;
}

/* Move queued lines into out: history first, then L11, then live. */
static void
fill(struct tail *t)
{
	while (t->backpos < t->nback) {
		if (!out_line(t, t->backlog[t->backpos]))
			return;
		lmsg_unref(t->backlog[t->backpos++]);
	}
	if (t->dropped > 0)
		out_l11(t);
	while (t->dropped == 0 && t->live.len > 0) {
		if (!out_line(t, lring_at(&t->live, 0)))
			return;
		lmsg_unref(lring_pop(&t->live));
	}
}

/* Write what can be written; -1 when the session is over. */
static int
pump(struct tail *t)
{
	ssize_t n;

	for (;;) {
		fill(t);
		if (t->outoff == t->outlen)
			break;
		n = send(t->fd, t->out + t->outoff, t->outlen - t->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (!t->blocked)
				evloop_mod_fd(t->lpd->ev, t->fd, EPOLLIN | EPOLLOUT);
			t->blocked = 1;
			return 0;
		}
		if (n == -1)
			return -1;
		t->outoff += (size_t)n;
	}
	if (t->blocked)
		evloop_mod_fd(t->lpd->ev, t->fd, EPOLLIN);
	t->blocked = 0;
	return t->rq.follow && !t->lpd->stopping ? 0 : -1;
}

void
tail_push(struct tail *t, struct lmsg *m)
{
	struct logmsg v;

	lmsg_view(m, &v);
	if (!tailproto_match(&t->rq, v.source.p, v.source.len, v.dyno.p,
	    v.dyno.len))
		return;
	if (lring_push(&t->live, lmsg_ref(m))) {
		/* A slow reader loses the oldest lines, never slows ingest. */
		if (t->dropped++ == 0)
			logmsg_timestamp(t->drop_since, NULL);
	}
	if (!t->dirty && !t->blocked) {
		t->dirty = 1;
		t->dirty_next = t->lpd->dirty;
		t->lpd->dirty = t;
	}
}

void
tail_flush_dirty(struct lpd *l)
{
	struct tail *t;

	while ((t = l->dirty) != NULL) {
		l->dirty = t->dirty_next;
		t->dirty = 0;
		if (pump(t) == -1)
			tail_free(t);
	}
}

/* The last rq.lines matching history lines, as references. */
static int
collect(struct tail *t)
{
	const struct lring *h = &t->app->history;
	struct logmsg v;
	size_t i, n = 0, want = t->rq.lines;

	if (want > h->len)
		want = h->len;
	if (want == 0)
		return 0;
	if ((t->backlog = calloc(want, sizeof(*t->backlog))) == NULL)
		return -1;
	for (i = h->len; i > 0 && n < want; i--) {
		lmsg_view(lring_at(h, i - 1), &v);
		if (tailproto_match(&t->rq, v.source.p, v.source.len, v.dyno.p,
		    v.dyno.len))
			t->backlog[want - ++n] = lmsg_ref(lring_at(h, i - 1));
	}
	/* Fewer matched than wanted: close the gap at the front. */
	memmove(t->backlog, t->backlog + (want - n), n * sizeof(*t->backlog));
	t->nback = n;
	return 0;
}

static void
refuse(struct tail *t, const char *why)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "error %s\n", why);

	(void)!send(t->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	tail_free(t);
}

/*
 * A tail over TCP must show one of the app's input tokens: who may send
 * an app's lines may read them, nobody else.  Compared as the ingest
 * does (constant time); a refusal is counted with the bad frames.
 */
static int
token_allows(struct lpd *l, const struct tailreq *rq)
{
	const struct token *tk;

	tk = tokens_find(l, rq->token, strlen(rq->token));
	if (tk != NULL && strcmp(tk->app, rq->app) == 0)
		return 1;
	l->unauthenticated++;
	diag_warn_ratelimited(10, 10000, "tail without a valid token refused "
	    "(%llu so far)", l->unauthenticated);
	return 0;
}

/* The request line is complete: answer "ok" and start the session. */
static void
start(struct tail *t, size_t len)
{
	struct lpd *l = t->lpd;
	const char *why;
	struct app *a;

	if (tailproto_parse(t->req, len, &t->rq, &why) == -1)
		return refuse(t, why);
	if (t->rq.lines > l->conf.history_lines)
		t->rq.lines = l->conf.history_lines;
	if (t->req_timer != NULL) {
		evloop_timer_cancel(l->ev, t->req_timer);
		t->req_timer = NULL;
	}
	if (t->remote && !token_allows(l, &t->rq))
		return refuse(t, "unauthorized");
	if ((a = app_known(l, t->rq.app, strlen(t->rq.app))) == NULL)
		return refuse(t, errno == ENOMEM ? "out of memory" :
		    "no such app");
	/* Tails follow the log owner; dyno-logs goes there itself. */
	if (a->forward != NULL)
		return refuse(t, "the log is kept on another host");
	if (lring_init(&t->live, l->conf.tail_buffer) == -1)
		return refuse(t, "out of memory");
	unlink_from(&l->pending, t);
	t->app = a;
	t->next = a->tails;
	a->tails = t;
	if (collect(t) == -1)
		return refuse(t, "out of memory");
	memcpy(t->out, "ok\n", 3);
	t->outlen = 3;
	if (pump(t) == -1)
		tail_free(t);
}

static void
read_request(struct tail *t)
{
	char *nl;
	ssize_t n;

	n = recv(t->fd, t->req + t->reqlen, sizeof(t->req) - t->reqlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		return tail_free(t);
	t->reqlen += (size_t)n;
	if ((nl = memchr(t->req, '\n', t->reqlen)) != NULL)
		return start(t, (size_t)(nl - t->req) + 1);
	if (t->reqlen == sizeof(t->req))
		refuse(t, "request too long");
}

static void
on_session(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct tail *t = arg;
	char junk[256];
	ssize_t n;

	(void)ev;
	if (t->app == NULL)
		return read_request(t);
	if (events & EPOLLIN) {
		/* After the request a client only closes: EOF ends it. */
		n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return tail_free(t);
	}
	if (events & (EPOLLERR | EPOLLHUP))
		return tail_free(t);
	if ((events & EPOLLOUT) && pump(t) == -1)
		tail_free(t);
}

/* A new session on fd (non-blocking), pending until its request is read. */
static struct tail *
session_new(struct lpd *l, int fd)
{
	struct tail *t;

	if (l->ntails >= TAIL_MAX || (t = calloc(1, sizeof(*t))) == NULL) {
		diag_warn_ratelimited(3, 10000, "too many tail sessions");
		close(fd);
		return NULL;
	}
	t->lpd = l;
	t->fd = fd;
	if (evloop_add_fd(l->ev, fd, EPOLLIN, on_session, t) == -1) {
		close(fd);
		free(t);
		return NULL;
	}
	t->next = l->pending;
	l->pending = t;
	l->ntails++;
	l->tails_open++;
	return t;
}

/* A peer that holds a session without asking for anything goes. */
static void
on_req_timeout(struct evloop *ev, void *arg)
{
	struct tail *t = arg;

	(void)ev;
	t->req_timer = NULL;
	tail_free(t);
}

void
tail_adopt(struct lpd *l, int fd, const char *buf, size_t len)
{
	struct tail *t;
	char *nl;

	if ((t = session_new(l, fd)) == NULL)
		return;
	t->remote = 1;
	t->req_timer = evloop_timer(l->ev, REMOTE_REQ_MS, on_req_timeout, t);
	if (len > sizeof(t->req))
		return refuse(t, "request too long");
	memcpy(t->req, buf, len);
	t->reqlen = len;
	if ((nl = memchr(t->req, '\n', t->reqlen)) != NULL)
		return start(t, (size_t)(nl - t->req) + 1);
	if (t->reqlen == sizeof(t->req))
		refuse(t, "request too long");
}

static void
on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd *l = arg;
	int cfd;

	(void)events;
	(void)ev;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		(void)session_new(l, cfd);
}

int
tail_open(struct lpd *l)
{
	char path[PATH_MAX];
	int fd;

	/* A tail reads any app's lines: the host's tools alone connect. */
	if (state_pathf(path, sizeof(path), "%s/logplexd.tail",
	    l->conf.rundir) == -1 ||
	    (fd = listener_unix(path, SOCK_STREAM, 0600, 64)) == -1)
		return -1;
	if (evloop_add_fd(l->ev, fd, EPOLLIN, on_accept, l) == -1) {
		close(fd);
		return -1;
	}
	l->tail_fd = fd;
	return 0;
}

/* Close the listener and every session (shutdown). */
void
tail_end_app(struct app *a)
{
	while (a->tails != NULL)
		tail_free(a->tails);
}

void
tail_close_all(struct lpd *l)
{
	char path[PATH_MAX];
	size_t i;
	struct app *a;

	if (l->tail_fd != -1) {
		evloop_del_fd(l->ev, l->tail_fd);
		close(l->tail_fd);
		l->tail_fd = -1;
		if (state_pathf(path, sizeof(path), "%s/logplexd.tail",
		    l->conf.rundir) == 0)
			unlink(path);
	}
	while (l->pending != NULL)
		tail_free(l->pending);
	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next)
			while (a->tails != NULL)
				tail_free(a->tails);
}

void
tail_dump(struct lpd *l, FILE *fp)
{
	struct app *a;
	struct tail *t;
	size_t i;

	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next)
			for (t = a->tails; t != NULL; t = t->next)
				fprintf(fp, "tail app=%s queued=%zu dropped=%llu "
				    "blocked=%d\n", a->name, t->live.len,
				    t->dropped, t->blocked);
}
