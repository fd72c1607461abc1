/* SPDX-License-Identifier: ISC */
/* Fire-and-forget log datagrams to logplexd, falling back to stderr. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logclient.h"
#include "logmsg.h"

#define HOLD_MAX	8	/* under net.unix.max_dgram_qlen, 10 on Debian */
#define HOLD_BYTES	(64 * 1024)

struct logclient {
	int			 fd;
	int			 quiet;
	int			 connected;
	int			 hold;
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;
	char			*q;		/* held datagrams, back to back */
	size_t			 qlen;
	unsigned		 nq;
	struct iovec		 qiov[HOLD_MAX];
};

struct logclient *
logclient_open(const char *rundir)
{
	struct logclient *lc;
	int n;

	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		return NULL;
	lc->addr.sun_family = AF_UNIX;
	n = snprintf(lc->addr.sun_path, sizeof(lc->addr.sun_path),
	    "%s/logplexd.sock", rundir);
	if (n < 0 || (size_t)n >= sizeof(lc->addr.sun_path)) {
		free(lc);
		errno = ENAMETOOLONG;
		return NULL;
	}
	lc->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
	/*
	 * Non-blocking, so a full queue never blocks.  Connected lazily (a
	 * sendto() naming the path costs a lookup per line); a send that finds
	 * the peer gone connects again, so a restarted logplexd is found.
	 */
	lc->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lc->fd == -1) {
		free(lc);
		return NULL;
	}
	return lc;
}

void
logclient_close(struct logclient *lc)
{
	if (lc == NULL)
		return;
	logclient_hold(lc, 0);
	close(lc->fd);
	free(lc->q);
	free(lc);
}

void
logclient_set_quiet(struct logclient *lc, int quiet)
{
	if (lc != NULL)
		lc->quiet = quiet;
}

/* The display form on stderr in one write(2), so lines never interleave. */
static void
fallback(const char *ts, const char *source, const char *dyno,
    const char *msg, size_t len)
{
	char line[LOGMSG_MAX + 64];
	int n;

	n = snprintf(line, sizeof(line), "%s %s[%s]: %.*s\n", ts, source, dyno,
	    (int)len, msg);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * Connect to logplexd.sock; 0, or -1 when logplexd is absent.  Absence is
 * not remembered: a line sent just after logplexd came back must reach it.
 */
static int
lc_connect(struct logclient *lc)
{
	if (lc->connected)
		return 0;
	if (connect(lc->fd, (struct sockaddr *)&lc->addr, lc->addrlen) == -1)
		return -1;
	lc->connected = 1;
	return 0;
}

/* Whether a failed send means logplexd went away (connect again). */
static int
peer_gone(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN || err == EPIPE ||
	    err == ECONNRESET || err == ENOENT;
}

/* Hand one datagram to logplexd; 1, or 0 when it did not take it. */
static int
deliver(struct logclient *lc, const char *d, size_t n)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (lc_connect(lc) == -1)
			return 0;
		if (send(lc->fd, d, n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)n)
			return 1;
		if (!peer_gone(errno))
			return 0;	/* full queue: the fallback takes it */
		lc->connected = 0;
	}
	return 0;
}

/* A datagram logplexd did not take, in display form on stderr. */
static void
fallback_dgram(struct logclient *lc, const char *d, size_t n)
{
	struct logmsg m;
	char line[LOGMSG_MAX + 64];
	size_t len;

	if (lc->quiet || logmsg_parse(d, n, &m) == -1)
		return;
	len = logmsg_display(line, sizeof(line) - 1, &m);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

/* Forget the first k held datagrams (sent or spilled), keeping the rest. */
static void
drop_held(struct logclient *lc, unsigned k)
{
	size_t skip;
	unsigned i;

	if (k == 0)
		return;
	skip = k < lc->nq ? (size_t)((char *)lc->qiov[k].iov_base - lc->q) :
	    lc->qlen;
	memmove(lc->q, lc->q + skip, lc->qlen - skip);
	lc->qlen -= skip;
	lc->nq -= k;
	for (i = 0; i < lc->nq; i++) {
		lc->qiov[i] = lc->qiov[i + k];
		lc->qiov[i].iov_base = (char *)lc->qiov[i].iov_base - skip;
	}
}

/* Send what logplexd takes now; the rest stays held. */
static void
send_held(struct logclient *lc)
{
	struct mmsghdr mm[HOLD_MAX];
	unsigned i, done = 0, tries = 0;
	int r;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < lc->nq; i++) {
		mm[i].msg_hdr.msg_iov = &lc->qiov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < lc->nq && tries < 2 && lc_connect(lc) == 0) {
		r = sendmmsg(lc->fd, mm + done, lc->nq - done, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (!peer_gone(errno))
			break;
		lc->connected = 0;
		tries++;
	}
	drop_held(lc, done);
}

/* Give up on the oldest k held datagrams: the fallback takes them. */
static void
spill_held(struct logclient *lc, unsigned k)
{
	unsigned i;

	for (i = 0; i < k && i < lc->nq; i++)
		fallback_dgram(lc, lc->qiov[i].iov_base, lc->qiov[i].iov_len);
	drop_held(lc, i);
}

unsigned
logclient_flush(struct logclient *lc)
{
	if (lc == NULL || lc->nq == 0)
		return 0;
	send_held(lc);
	/* Absent logplexd will not take them later either. */
	if (lc->nq > 0 && !lc->connected)
		spill_held(lc, lc->nq);
	return lc->nq;
}

void
logclient_hold(struct logclient *lc, int hold)
{
	if (lc == NULL)
		return;
	if (!hold) {
		send_held(lc);
		spill_held(lc, lc->nq);
	}
	lc->hold = hold;
}

/* Queue a datagram while held; 0 when it cannot be queued. */
static int
enqueue(struct logclient *lc, const char *d, size_t n)
{
	unsigned i;

	if (n > HOLD_BYTES || (lc->q == NULL &&
	    (lc->q = malloc(HOLD_BYTES)) == NULL))
		return 0;
	if (lc->nq == HOLD_MAX || lc->qlen + n > HOLD_BYTES)
		send_held(lc);
	/* Still full: logplexd is behind, the oldest line spills. */
	while (lc->nq == HOLD_MAX || lc->qlen + n > HOLD_BYTES)
		spill_held(lc, 1);
	memcpy(lc->q + lc->qlen, d, n);
	i = lc->nq++;
	lc->qiov[i].iov_base = lc->q + lc->qlen;
	lc->qiov[i].iov_len = n;
	lc->qlen += n;
	return 1;
}

static int
send_one(struct logclient *lc, const char *ts, int pri, const char *app,
    const char *source, const char *dyno, const char *msg, size_t len)
{
	char dgram[LOGMSG_MAX + 512];
	size_t n;

	if (lc != NULL) {
		n = logmsg_format(dgram, sizeof(dgram), pri, ts, app, source, dyno,
		    msg, len);
		if (n < sizeof(dgram) && lc->hold && enqueue(lc, dgram, n))
			return 1;
		if (n < sizeof(dgram) && deliver(lc, dgram, n))
			return 1;
		if (lc->quiet)
			return 0;
	}
	fallback(ts, source, dyno, msg, len);
	return 0;
}

int
logclient_send(struct logclient *lc, const char *app, const char *source,
    const char *dyno, const char *msg, size_t len)
{
	char ts[LOGMSG_TS_LEN + 1];
	int pri = logmsg_pri(source, dyno), sent = 1;
	size_t chunk;

	if (len > 0 && msg[len - 1] == '\n')
		len--;
	logmsg_timestamp(ts, NULL);
	do {
		chunk = len > LOGMSG_LINE_MAX ? LOGMSG_LINE_MAX : len;
		sent &= send_one(lc, ts, pri, app, source, dyno, msg, chunk);
		msg += chunk;
		len -= chunk;
	} while (len > 0);
	return sent;
}

int
logclient_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (size == 0 || size > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((n = vsnprintf(buf, size, fmt, ap)) < 0) {
		buf[0] = '\0';
		return -1;
	}
	return (size_t)n < size ? n : (int)size - 1;
}

int
logclient_vsendf(struct logclient *lc, const char *app, const char *source,
    const char *dyno, const char *fmt, va_list ap)
{
	char msg[LOGMSG_LINE_MAX + 1];
	int n;

	if ((n = logclient_vformat(msg, sizeof(msg), fmt, ap)) == -1)
		return 0;
	return logclient_send(lc, app, source, dyno, msg, (size_t)n);
}

int
logclient_sendf(struct logclient *lc, const char *app, const char *source,
    const char *dyno, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = logclient_vsendf(lc, app, source, dyno, fmt, ap);
	va_end(ap);
	return r;
}
