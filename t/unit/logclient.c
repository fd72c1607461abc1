/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/logclient: held lines, a full logplexd, no logplexd. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logclient.h"
#include "logmsg.h"
#include "tap.h"

static char dir[] = "/tmp/dynotest-logclient-XXXXXX";
static char sockpath[100];
static int errpipe[2];

/* A stand-in logplexd: a bound datagram socket. */
static int
sink_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return -1;
	return fd;
}

/* Read every queued line; checks each is "line N" with N above *last. */
static int
sink_drain(int fd, int *last, int *inorder)
{
	char buf[LOGMSG_MAX + 1];
	struct logmsg m;
	ssize_t n;
	int got = 0, v;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (logmsg_parse(buf, (size_t)n, &m) == -1 || m.msg.len < 6 ||
		    memcmp(m.msg.p, "line ", 5) != 0 ||
		    (v = atoi(m.msg.p + 5)) <= *last)
			*inorder = 0;
		else
			*last = v;
		got++;
	}
	return got;
}

/* Lines that went to the stderr fallback since the last call. */
static int
spilled(void)
{
	char buf[65536];
	ssize_t n;
	int lines = 0;

	while ((n = read(errpipe[0], buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	return lines;
}

static void
test_held(void)
{
	struct logclient *lc = logclient_open(dir);
	int fd = sink_open(), last = -1, inorder = 1;

	if (!ok(lc != NULL && fd != -1, "client and sink"))
		return;
	logclient_hold(lc, 1);
	for (int i = 0; i < 3; i++)
		logclient_sendf(lc, "app", "heroku", "router", "line %d", i);
	is_int(sink_drain(fd, &last, &inorder), 0, "held lines wait");
	is_int(logclient_flush(lc), 0, "flush sends them all");
	is_int(sink_drain(fd, &last, &inorder), 3, "three lines arrive");
	ok(inorder, "in order");
	logclient_close(lc);
	close(fd);
	unlink(sockpath);
}

/* A logplexd that does not read: nothing is lost, only held or spilled. */
static void
test_full(void)
{
	struct logclient *lc = logclient_open(dir);
	int fd = sink_open(), got, spill, held, inorder = 1, last = -1;

	if (!ok(lc != NULL && fd != -1, "client and sink"))
		return;
	logclient_hold(lc, 1);
	for (int i = 0; i < 40; i++)
		logclient_sendf(lc, "app", "heroku", "router", "line %d", i);
	held = (int)logclient_flush(lc);
	spill = spilled();
	got = sink_drain(fd, &last, &inorder);
	ok(inorder, "what arrived came in order");
	is_int(logclient_flush(lc), 0, "the held rest goes out later");
	got += sink_drain(fd, &last, &inorder);
	ok(inorder, "and the rest after it");
	is_int(got + spill, 40, "every line arrived or spilled "
	    "(%d arrived, %d spilled, %d were held)", got, spill, held);
	logclient_close(lc);
	close(fd);
	unlink(sockpath);
}

static void
test_absent(void)
{
	struct logclient *lc = logclient_open(dir);

	if (!ok(lc != NULL, "client"))
		return;
	logclient_hold(lc, 1);
	logclient_sendf(lc, "app", "heroku", "router", "line 0");
	is_int(logclient_flush(lc), 0, "nothing held without logplexd");
	is_int(spilled(), 1, "the line went to stderr");
	is_int(logclient_send(lc, "app", "app", "web.1", "x", 1), 1,
	    "a held send counts as sent");
	logclient_close(lc);
	is_int(spilled(), 1, "closing spills what is held");
}

/* A tool's printf-like wrapper, as dyno-run's hlog() is. */
static int __attribute__((format(printf, 2, 3)))
hlog(struct logclient *lc, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = logclient_vsendf(lc, "app", "heroku", "web.1", fmt, ap);
	va_end(ap);
	return r;
}

static int __attribute__((format(printf, 3, 4)))
vformat(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = logclient_vformat(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_vsendf(void)
{
	char buf[LOGMSG_MAX + 1], big[LOGMSG_LINE_MAX + 2];
	struct logclient *lc;
	struct logmsg m;
	ssize_t n;
	int fd = sink_open();

	if (!ok(fd != -1 && (lc = logclient_open(dir)) != NULL, "sink, client"))
		return;
	is_int(hlog(lc, "State changed from %s to %s", "starting", "up"), 1,
	    "vsendf: sent");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && logmsg_parse(buf, (size_t)n, &m) == 0, "one datagram");
	snprintf(big, sizeof(big), "%.*s %.*s", (int)m.source.len, m.source.p,
	    (int)m.msg.len, m.msg.p);
	is_str(big, "heroku State changed from starting to up",
	    "the message, formatted, from heroku");
	is_int(hlog(lc, "%s", ""), 1, "an empty message is still a line");
	sink_drain(fd, &(int){ -1 }, &(int){ 1 });
	logclient_close(lc);
	close(fd);
	unlink(sockpath);

	is_int(vformat(buf, 8, "%s", "0123456789"), 7, "vformat: cut at size-1");
	is_str(buf, "0123456", "vformat: the cut line");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(vformat(buf, LOGMSG_LINE_MAX + 1, "%s", big), LOGMSG_LINE_MAX,
	    "vformat: LOGMSG_LINE_MAX + 1 bytes hold a whole line");
	is_int(vformat(buf, 0, "x"), -1, "vformat: no room is an error");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL || pipe2(errpipe, O_NONBLOCK) == -1 ||
	    dup2(errpipe[1], STDERR_FILENO) == -1) {
		printf("Bail out! setup: %s\n", strerror(errno));
		return 1;
	}
	snprintf(sockpath, sizeof(sockpath), "%s/logplexd.sock", dir);
	test_held();
	test_full();
	test_absent();
	test_vsendf();
	rmdir(dir);
	return done_testing();
}
