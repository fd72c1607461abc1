/* SPDX-License-Identifier: ISC */
/* Fire-and-forget log datagrams to logplexd, falling back to stderr. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logclient.h"
#include "logmsg.h"

struct logclient {
	int			 fd;
	int			 quiet;
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;
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
	 * Unconnected and non-blocking: sendto() names logplexd each time, so
	 * a restarted logplexd is found again, and a full queue never blocks.
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
	close(lc->fd);
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

static int
send_one(struct logclient *lc, const char *ts, int pri, const char *app,
    const char *source, const char *dyno, const char *msg, size_t len)
{
	char dgram[LOGMSG_MAX + 512];
	size_t n;

	if (lc != NULL) {
		n = logmsg_format(dgram, sizeof(dgram), pri, ts, app, source, dyno,
		    msg, len);
		if (n < sizeof(dgram) && sendto(lc->fd, dgram, n, MSG_DONTWAIT |
		    MSG_NOSIGNAL, (struct sockaddr *)&lc->addr, lc->addrlen) ==
		    (ssize_t)n)
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
logclient_sendf(struct logclient *lc, const char *app, const char *source,
    const char *dyno, const char *fmt, ...)
{
	char msg[LOGMSG_LINE_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return logclient_send(lc, app, source, dyno, msg,
	    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}
