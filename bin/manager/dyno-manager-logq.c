/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: the app's log lines on their way to logplexd, none lost. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logmsg.h"
#include "dyno-manager-app.h"

/*
 * The lines go to logplexd.stream, octet-counted ("LEN SP MSG", RFC 6587)
 * on one unix stream connection: many lines per write(2), bounded by the
 * socket buffer and not by net.unix.max_dgram_qlen (10 on Debian), which
 * made the datagram socket wake logplexd every few lines.  A logplexd
 * without that socket gets datagrams on logplexd.sock, one line each.
 *
 * What logplexd cannot take yet waits here, in order.  Above LOGQ_HIGH the
 * dynos' pipes are no longer read, so a dyno writing faster than logplexd
 * takes its lines blocks on its stdout, as on any full pipe; reading
 * resumes below LOGQ_LOW.  LOGQ_MAX bounds what may still arrive meanwhile
 * (the lines of one read, the manager's own, a dead dyno's last output):
 * beyond it the oldest lines are dropped and counted in an L10 line, as
 * Logplex does.
 *
 * logplexd stopping ends the connection without losing a line written to
 * it (it reads to the end after shutdown(SHUT_RD)); a line half written
 * goes again whole.  Once logplexd has been reached, its absence is a
 * restart: lines wait here (the pipes pause as above) and a connection is
 * tried every RETRY_MS, for GRACE_MS; after that, and when logplexd was
 * never there, lines go to stderr in display form, as every tool's do.
 */
#define LOGQ_MAX	(4U << 20)
#define LOGQ_HIGH	(1U << 20)
#define LOGQ_LOW	(256U << 10)
#define LOGQ_SLACK	1024U	/* room before the lines for an L10 line */
#define LOGQ_CAP	(LOGQ_MAX + 2 * LOGQ_SLACK)
#define RETRY_MS	50
#define GRACE_MS	10000

struct logq {
	struct mgr	*m;
	int		 fd;		/* -1: not connected */
	int		 stream;	/* fd is on logplexd.stream */
	int		 watching;	/* EPOLLOUT armed */
	int		 ever;		/* logplexd was reached once */
	uint64_t	 gone_ms;	/* it went away then (0: it did not) */
	struct evtimer	*retry;
	struct sockaddr_un saddr, daddr;
	socklen_t	 slen, dlen;
	char		*buf;		/* octet-counted frames, oldest first */
	size_t		 start, end;
	size_t		 sent;		/* bytes of the head frame written */
	unsigned long long dropped;
	void		(*room)(struct mgr *);	/* below the low mark again */
	char		 since[LOGMSG_TS_LEN + 1];
};

static void	on_event(struct evloop *, int, uint32_t, void *);

static size_t
held(const struct logq *q)
{
	return q->end - q->start;
}

/* The frame at pos (always one of ours): its size, its message's offset. */
static size_t
frame_at(const struct logq *q, size_t pos, size_t *hdr)
{
	size_t i, n = 0;

	for (i = pos; q->buf[i] != ' '; i++)
		n = n * 10 + (size_t)(q->buf[i] - '0');
	*hdr = i + 1 - pos;
	return *hdr + n;
}

static void
fallback(const char *d, size_t n)
{
	struct logmsg msg;
	char line[LOGMSG_MAX + 64];
	size_t len;

	if (logmsg_parse(d, n, &msg) == -1)
		return;
	len = logmsg_display(line, sizeof(line) - 1, &msg);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

/* The L10 line for what was dropped, as a datagram, into d; its length. */
static size_t
format_l10(struct logq *q, char *d, size_t size)
{
	char msg[256], ts[LOGMSG_TS_LEN + 1];

	snprintf(msg, sizeof(msg), "Error L10 (output buffer overflow): %llu "
	    "messages dropped since %s.", q->dropped, q->since);
	logmsg_timestamp(ts, NULL);
	return logmsg_format(d, size, logmsg_pri("heroku", "logplex"), ts,
	    q->m->app.name, "heroku", "logplex", msg, strlen(msg));
}

/* Everything waiting, to stderr: logplexd is not there. */
static void
fallback_all(struct logq *q)
{
	char d[512];
	size_t fl, hdr;

	if (q->dropped > 0) {
		fallback(d, format_l10(q, d, sizeof(d)));
		q->dropped = 0;
	}
	for (; q->start < q->end; q->start += fl) {
		fl = frame_at(q, q->start, &hdr);
		fallback(q->buf + q->start + hdr, fl - hdr);
	}
	q->start = q->end = LOGQ_SLACK;
	q->sent = 0;
}

/* 0 when a line was dropped, -1 when none can be. */
static int
drop_oldest(struct logq *q)
{
	size_t hdr, fl, next;

	if (held(q) == 0)
		return -1;
	fl = frame_at(q, q->start, &hdr);
	if (q->sent == 0)
		q->start += fl;
	else if (q->start + fl >= q->end)
		return -1;
	else {
		/* The head is half written: it stays, the next one goes. */
		next = frame_at(q, q->start + fl, &hdr);
		memmove(q->buf + q->start + next, q->buf + q->start, fl);
		q->start += next;
	}
	if (q->dropped++ == 0)
		logmsg_timestamp(q->since, NULL);
	return 0;
}

/* Append datagram d as a frame, dropping the oldest beyond LOGQ_MAX. */
static void
push(struct logq *q, const char *d, size_t n)
{
	char pre[16];
	int plen = snprintf(pre, sizeof(pre), "%zu ", n);
	size_t fl = (size_t)plen + n;

	while (held(q) + fl > LOGQ_MAX && drop_oldest(q) == 0)
		;
	if (q->end + fl > LOGQ_CAP) {
		memmove(q->buf + LOGQ_SLACK, q->buf + q->start, held(q));
		q->end = LOGQ_SLACK + held(q);
		q->start = LOGQ_SLACK;
	}
	memcpy(q->buf + q->end, pre, (size_t)plen);
	memcpy(q->buf + q->end + plen, d, n);
	q->end += fl;
}

/* The L10 line goes first, before the lines after the loss. */
static void
put_l10(struct logq *q)
{
	char d[512], pre[16];
	size_t n = format_l10(q, d, sizeof(d)), plen;

	plen = (size_t)snprintf(pre, sizeof(pre), "%zu ", n);
	if (q->start < plen + n) {
		memmove(q->buf + LOGQ_SLACK, q->buf + q->start, held(q));
		q->end = LOGQ_SLACK + held(q);
		q->start = LOGQ_SLACK;
	}
	q->start -= plen + n;
	memcpy(q->buf + q->start, pre, plen);
	memcpy(q->buf + q->start + plen, d, n);
	q->dropped = 0;
}

static int
peer_gone(int e)
{
	return e == ECONNREFUSED || e == ENOTCONN || e == EPIPE ||
	    e == ECONNRESET || e == ENOENT;
}

/* One socket to logplexd: 1 connected, 0 try soon, -1 it is not there. */
static int
open_peer(struct logq *q)
{
	int fd, e;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, (struct sockaddr *)&q->saddr,
	    q->slen) == 0) {
		q->stream = 1;
		goto connected;
	}
	e = errno;
	if (fd != -1)
		close(fd);
	if (e == EAGAIN)	/* its backlog is full: it is there */
		return 0;
	/* No stream socket (an older logplexd): datagrams then. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&q->daddr, q->dlen) == -1) {
		close(fd);
		return -1;
	}
	q->stream = 0;
connected:
	if (evloop_add_fd(q->m->ev, fd, 0, on_event, q) == -1) {
		close(fd);
		return -1;
	}
	q->fd = fd;
	q->watching = 0;
	q->sent = 0;
	q->ever = 1;
	q->gone_ms = 0;
	return 1;
}

/* The connection is over; a half-written line goes again whole. */
static void
close_peer(struct logq *q)
{
	if (q->fd == -1)
		return;
	evloop_del_fd(q->m->ev, q->fd);
	close(q->fd);
	q->fd = -1;
	q->watching = 0;
	q->sent = 0;
	if (q->ever && q->gone_ms == 0)
		q->gone_ms = evloop_now_ms();
}

/* Whether lines wait for logplexd to come back rather than go to stderr. */
static int
holding(struct logq *q)
{
	if (q->gone_ms != 0 && evloop_now_ms() >= q->gone_ms + GRACE_MS)
		q->gone_ms = 0;
	return q->gone_ms != 0;
}

/* Write what the stream takes: 1 all, 0 the rest later, -1 peer gone. */
static int
send_stream(struct logq *q)
{
	size_t hdr, fl, pos, len = held(q) - q->sent;
	ssize_t n;

	/* An L10 line waits for the half-written head only. */
	if (q->dropped > 0 && q->sent > 0)
		len = frame_at(q, q->start, &hdr) - q->sent;
	n = send(q->fd, q->buf + q->start + q->sent, len,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	pos = q->start + q->sent + (size_t)n;
	while (q->start < q->end &&
	    q->start + (fl = frame_at(q, q->start, &hdr)) <= pos)
		q->start += fl;
	q->sent = pos - q->start;
	return held(q) == 0 && q->dropped == 0;
}

/* One datagram per line: 1 all, 0 the rest later, -1 peer gone. */
static int
send_dgram(struct logq *q)
{
	size_t hdr, fl;

	while (q->start < q->end) {
		fl = frame_at(q, q->start, &hdr);
		if (send(q->fd, q->buf + q->start + hdr, fl - hdr,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
			if (errno == EAGAIN || errno == ENOBUFS ||
			    errno == EINTR)
				return 0;
			if (peer_gone(errno))
				return -1;
			/* This one line cannot go: stderr, not a stall. */
			fallback(q->buf + q->start + hdr, fl - hdr);
		}
		q->start += fl;
	}
	return 1;
}

/* Send what logplexd takes; 1 when the queue is empty. */
static int
drain(struct logq *q)
{
	int r, tries;

	for (tries = 0; tries < 3; tries++) {
		if (held(q) == 0 && q->dropped == 0)
			break;
		if (q->fd == -1 && (r = open_peer(q)) != 1) {
			if (r == 0 || holding(q))
				return 0;
			fallback_all(q);
			return 1;
		}
		if (q->dropped > 0 && q->sent == 0)
			put_l10(q);
		r = q->stream ? send_stream(q) : send_dgram(q);
		if (r == 1)
			break;
		if (r == 0)
			return 0;
		close_peer(q);	/* restarted already?  Try at once. */
	}
	if (held(q) > 0 || q->dropped > 0)
		return 0;
	q->start = q->end = LOGQ_SLACK;
	return 1;
}

static void
watch(struct logq *q, int on)
{
	if (q->fd == -1 || q->watching == on)
		return;
	if (evloop_mod_fd(q->m->ev, q->fd, on ? EPOLLOUT : 0) == 0)
		q->watching = on;
}

static void	on_retry(struct evloop *, void *);

/* After a drain: wait for room on the socket, or for logplexd to return. */
static void
next_step(struct logq *q, int empty)
{
	if (!empty && q->fd == -1) {
		if (q->retry == NULL)
			q->retry = evloop_timer(q->m->ev, RETRY_MS, on_retry, q);
	} else
		watch(q, !empty);
	if (held(q) < LOGQ_LOW && q->room != NULL)
		q->room(q->m);
}

static void
on_retry(struct evloop *ev, void *arg)
{
	struct logq *q = arg;

	(void)ev;
	q->retry = NULL;
	next_step(q, drain(q));
}

static void
on_event(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct logq *q = arg;

	(void)ev;
	(void)fd;
	/* logplexd went away (stopped, restarted): connect again. */
	if (events & (EPOLLERR | EPOLLHUP))
		close_peer(q);
	next_step(q, drain(q));
}

static int
sun_set(struct sockaddr_un *sa, socklen_t *len, const char *dir,
    const char *name)
{
	int n;

	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
	return 0;
}

int
logq_open(struct mgr *m, void (*room)(struct mgr *))
{
	struct logq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->buf = malloc(LOGQ_CAP)) == NULL)
		goto fail;
	q->m = m;
	q->room = room;
	q->fd = -1;
	q->start = q->end = LOGQ_SLACK;
	if (sun_set(&q->saddr, &q->slen, m->conf->rundir,
	    "logplexd.stream") == -1 || sun_set(&q->daddr, &q->dlen,
	    m->conf->rundir, "logplexd.sock") == -1)
		goto fail;
	m->lq = q;
	return 0;
fail:
	if (q != NULL)
		free(q->buf);
	free(q);
	return -1;
}

/* At exit: up to 2 s more for logplexd to take the rest, then stderr. */
void
logq_close(struct mgr *m)
{
	struct logq *q = m->lq;
	uint64_t end = evloop_now_ms() + 2000;

	if (q == NULL)
		return;
	while (!drain(q) && evloop_now_ms() < end)
		usleep(1000);
	fallback_all(q);
	if (q->retry != NULL)
		evloop_timer_cancel(m->ev, q->retry);
	q->ever = 0;
	close_peer(q);
	free(q->buf);
	free(q);
	m->lq = NULL;
}

int
logq_busy(const struct mgr *m)
{
	return m->lq != NULL && held(m->lq) >= LOGQ_HIGH;
}

void
logq_send(struct mgr *m, const char *source, const char *dyno,
    const char *msg, size_t len)
{
	struct logq *q = m->lq;
	char ts[LOGMSG_TS_LEN + 1], d[LOGMSG_MAX + 512];
	size_t chunk, n;

	if (q == NULL) {
		logclient_send(m->lc, m->app.name, source, dyno, msg, len);
		return;
	}
	if (len > 0 && msg[len - 1] == '\n')
		len--;
	logmsg_timestamp(ts, NULL);
	do {
		chunk = len > LOGMSG_LINE_MAX ? LOGMSG_LINE_MAX : len;
		n = logmsg_format(d, sizeof(d), logmsg_pri(source, dyno), ts,
		    m->app.name, source, dyno, msg, chunk);
		if (n >= sizeof(d))
			return;
		push(q, d, n);
		msg += chunk;
		len -= chunk;
	} while (len > 0);
	/*
	 * Connected: out once this round of events is over, many lines per
	 * write.  Not connected and not waiting for a restart: try now, so
	 * that without logplexd the line reaches stderr at once.
	 */
	if (q->fd != -1)
		watch(q, 1);
	else if (q->retry == NULL)
		next_step(q, drain(q));
}
