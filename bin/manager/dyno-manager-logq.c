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
 * logplexd's socket queue is short (net.unix.max_dgram_qlen, 10 on
 * Debian): what it cannot take yet waits here, in order, and goes out when
 * the socket is writable again.  Above LOGQ_HIGH the dynos' pipes are no
 * longer read, so a dyno writing faster than logplexd takes its lines
 * blocks on its stdout, as on any full pipe; reading resumes below
 * LOGQ_LOW.  LOGQ_MAX bounds what may still arrive meanwhile (the lines of
 * one read, the manager's own, a dead dyno's last output): beyond it the
 * oldest lines are dropped and counted in an L10 line, as Logplex does.
 */
#define LOGQ_MAX	(4U << 20)
#define LOGQ_HIGH	(1U << 20)
#define LOGQ_LOW	(256U << 10)

struct logq {
	struct mgr	*m;
	int		 fd;
	int		 connected;
	int		 watching;	/* EPOLLOUT armed */
	struct sockaddr_un addr;
	socklen_t	 addrlen;
	char		*buf;		/* [uint16 len][datagram] ... */
	size_t		 start, end;
	unsigned long long dropped;
	void		(*room)(struct mgr *);	/* below the low mark again */
	char		 since[LOGMSG_TS_LEN + 1];
};

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

static int
peer_gone(int e)
{
	return e == ECONNREFUSED || e == ENOTCONN || e == EPIPE ||
	    e == ECONNRESET || e == ENOENT;
}

/* 1 sent, 0 try later (queue full), -1 logplexd is not running. */
static int
try_send(struct logq *q, const char *d, size_t n)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (!q->connected) {
			if (connect(q->fd, (struct sockaddr *)&q->addr,
			    q->addrlen) == -1)
				return -1;
			q->connected = 1;
		}
		if (send(q->fd, d, n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)n)
			return 1;
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
			return 0;
		if (!peer_gone(errno))
			return -1;
		q->connected = 0;
	}
	return -1;
}

static size_t
held(const struct logq *q)
{
	return q->end - q->start;
}

static void
drop_oldest(struct logq *q)
{
	uint16_t n;

	memcpy(&n, q->buf + q->start, sizeof(n));
	q->start += sizeof(n) + n;
	if (q->dropped++ == 0)
		logmsg_timestamp(q->since, NULL);
}

static void
push(struct logq *q, const char *d, size_t n)
{
	uint16_t len = (uint16_t)n;

	while (held(q) + sizeof(len) + n > LOGQ_MAX)
		drop_oldest(q);
	if (q->end + sizeof(len) + n > LOGQ_MAX) {
		memmove(q->buf, q->buf + q->start, held(q));
		q->end -= q->start;
		q->start = 0;
	}
	memcpy(q->buf + q->end, &len, sizeof(len));
	memcpy(q->buf + q->end + sizeof(len), d, n);
	q->end += sizeof(len) + n;
}

static void
watch(struct logq *q, int on)
{
	if (q->watching == on)
		return;
	if (evloop_mod_fd(q->m->ev, q->fd, on ? EPOLLOUT : 0) == 0)
		q->watching = on;
}

/* The L10 line for what was dropped, before the lines that follow it. */
static int
send_l10(struct logq *q)
{
	char msg[256], ts[LOGMSG_TS_LEN + 1], d[LOGMSG_MAX];
	size_t n;
	int r;

	snprintf(msg, sizeof(msg), "Error L10 (output buffer overflow): %llu "
	    "messages dropped since %s.", q->dropped, q->since);
	logmsg_timestamp(ts, NULL);
	n = logmsg_format(d, sizeof(d), logmsg_pri("heroku", "logplex"), ts,
	    q->m->app.name, "heroku", "logplex", msg, strlen(msg));
	if ((r = try_send(q, d, n)) != 0) {
		if (r == -1)
			fallback(d, n);
		q->dropped = 0;
	}
	return r;
}

/* Send what logplexd takes; 1 when the queue is empty. */
static int
drain(struct logq *q)
{
	uint16_t n;
	int r;

	while (held(q) > 0 || q->dropped > 0) {
		if (q->dropped > 0) {
			if (send_l10(q) == 0)
				return 0;
			continue;
		}
		memcpy(&n, q->buf + q->start, sizeof(n));
		if ((r = try_send(q, q->buf + q->start + sizeof(n), n)) == 0)
			return 0;
		/* logplexd went away: its lines go where every line goes then. */
		if (r == -1)
			fallback(q->buf + q->start + sizeof(n), n);
		q->start += sizeof(n) + n;
	}
	q->start = q->end = 0;
	return 1;
}

static void
on_writable(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct logq *q = arg;

	int err;
	socklen_t len = sizeof(err);

	(void)ev;
	/* logplexd went away: take the error (or it stays ready), connect
	 * again on the next line. */
	if (events & EPOLLERR) {
		(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		q->connected = 0;
	}
	watch(q, !drain(q));
	if (held(q) < LOGQ_LOW && q->room != NULL)
		q->room(q->m);
}

int
logq_open(struct mgr *m, void (*room)(struct mgr *))
{
	struct logq *q;
	int n;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->buf = malloc(LOGQ_MAX)) == NULL)
		goto fail;
	q->m = m;
	q->room = room;
	q->addr.sun_family = AF_UNIX;
	n = snprintf(q->addr.sun_path, sizeof(q->addr.sun_path),
	    "%s/logplexd.sock", m->conf->rundir);
	if (n < 0 || (size_t)n >= sizeof(q->addr.sun_path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	q->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
	q->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd == -1)
		goto fail;
	if (evloop_add_fd(m->ev, q->fd, 0, on_writable, q) == -1) {
		close(q->fd);
		goto fail;
	}
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
	q->connected = 0;
	q->addr.sun_path[0] = '\0';	/* nothing connects any more */
	drain(q);
	evloop_del_fd(m->ev, q->fd);
	close(q->fd);
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
	int r;

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
		/* In order: straight out only when nothing waits before it. */
		if (held(q) > 0 || q->dropped > 0 ||
		    (r = try_send(q, d, n)) == 0) {
			push(q, d, n);
			watch(q, 1);
		} else if (r == -1)
			fallback(d, n);
		msg += chunk;
		len -= chunk;
	} while (len > 0);
}
