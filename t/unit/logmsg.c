/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/logmsg, lib/linebuf and lib/evloop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "linebuf.h"
#include "logmsg.h"
#include "tap.h"

static void
test_logmsg(void)
{
	char buf[512], disp[512], ts[LOGMSG_TS_LEN + 1];
	struct timespec t = { 1795341600, 123456789 };
	struct logmsg m;
	size_t n;

	logmsg_timestamp(ts, &t);
	is_str(ts, "2026-11-22T10:00:00.123456+00:00", "timestamp");
	/* The date part is kept for a second: the same second, then others. */
	t.tv_nsec = 5000;
	logmsg_timestamp(ts, &t);
	is_str(ts, "2026-11-22T10:00:00.000005+00:00", "same second");
	t.tv_sec += 61;
	t.tv_nsec = 999999999;
	logmsg_timestamp(ts, &t);
	is_str(ts, "2026-11-22T10:01:01.999999+00:00", "a second later");
	t.tv_sec -= 86400 * 366;
	t.tv_nsec = 0;
	logmsg_timestamp(ts, &t);
	is_str(ts, "2025-11-21T10:01:01.000000+00:00", "back a year");
	t.tv_sec += 86400 * 366 - 61;
	t.tv_nsec = 123456789;
	logmsg_timestamp(ts, &t);
	n = logmsg_format(buf, sizeof(buf), 190, ts, "myapp", "app", "web.1",
	    "Listening on 5000", 17);
	is_str(buf, "<190>1 2026-11-22T10:00:00.123456+00:00 myapp app web.1 - - "
	    "Listening on 5000", "datagram");
	is_int(n, strlen(buf), "length returned");
	ok(logmsg_parse(buf, n, &m) == 0, "parses");
	is_int(m.pri, 190, "pri");
	ok(m.app.len == 5 && memcmp(m.app.p, "myapp", 5) == 0, "app field");
	ok(m.dyno.len == 5 && memcmp(m.dyno.p, "web.1", 5) == 0, "dyno field");
	logmsg_display(disp, sizeof(disp), &m);
	is_str(disp, "2026-11-22T10:00:00.123456+00:00 app[web.1]: Listening on 5000",
	    "display form");

	strcpy(buf, "<45>1 TS a heroku web.1 - - - - spaces  kept ");
	ok(logmsg_parse(buf, strlen(buf), &m) == 0 && m.msg.len == 17 &&
	    memcmp(m.msg.p, "- - spaces  kept ", 17) == 0, "message kept verbatim");
	strcpy(buf, "<45>1 TS a heroku web.1 - -");
	ok(logmsg_parse(buf, strlen(buf), &m) == 0 && m.msg.len == 0, "empty msg");
	strcpy(buf, "<45>1 TS a heroku web.1 - - line\n");
	ok(logmsg_parse(buf, strlen(buf), &m) == 0 && m.msg.len == 4,
	    "trailing newline dropped");
	ok(logmsg_parse("<999>1 a b c d - - x", 20, &m) == -1, "bad pri");
	ok(logmsg_parse("<45>2 a b c d - - x", 19, &m) == -1, "bad version");
	ok(logmsg_parse("<45>1 a b c", 11, &m) == -1, "too few fields");
	ok(logmsg_parse("<45>1 a b c d x - m", 19, &m) == -1, "msgid not -");
	ok(logmsg_parse("", 0, &m) == -1 && errno == EINVAL, "empty");
	is_int(logmsg_pri("app", "web.1"), 190, "app pri");
	is_int(logmsg_pri("heroku", "router"), 158, "router pri");
	is_int(logmsg_pri("app", "api"), 45, "api pri");
}

/* RFC 5424 6.2.3 golden cases: the text and logmsg_ts_check's answer. */
static const struct {
	const char	*ts;
	int		 want;
} ts_cases[] = {
	{ "2026-11-22T10:00:00.123456+00:00", 0 },	/* what we write */
	{ "1985-04-12T23:20:50.52Z", 0 },		/* RFC 5424's examples */
	{ "1985-04-12T19:20:50.52-04:00", 0 },
	{ "2003-10-11T22:14:15.003Z", 0 },
	{ "2003-08-24T05:14:15.000003-07:00", 0 },
	{ "2026-11-22T10:00:00Z", 0 },			/* no fraction */
	{ "2026-11-22T10:00:00+23:59", 0 },
	{ "2024-02-29T00:00:00Z", 0 },			/* leap day */
	{ "2000-02-29T00:00:00Z", 0 },
	{ "0000-01-01T00:00:00Z", 0 },
	{ "2026-12-31T23:59:59.9Z", 0 },
	{ "-", 1 },					/* NILVALUE */
	{ "2003-08-24T05:14:15.000000003-07:00", -1 },	/* > 6 digits */
	{ "2003-08-24T05:14:15.-07:00", -1 },		/* empty fraction */
	{ "2003-08-24T05:14:15", -1 },			/* no offset */
	{ "2003-08-24t05:14:15Z", -1 },			/* lower-case t */
	{ "2003-08-24T05:14:15z", -1 },			/* lower-case z */
	{ "2003-08-24 05:14:15Z", -1 },
	{ "2003-08-24T05:14:60Z", -1 },			/* leap second */
	{ "2003-08-24T24:00:00Z", -1 },
	{ "2003-08-24T23:60:00Z", -1 },
	{ "2003-13-01T00:00:00Z", -1 },
	{ "2003-00-01T00:00:00Z", -1 },
	{ "2003-04-31T00:00:00Z", -1 },			/* 30 days */
	{ "2023-02-29T00:00:00Z", -1 },			/* not a leap year */
	{ "1900-02-29T00:00:00Z", -1 },
	{ "2003-01-00T00:00:00Z", -1 },
	{ "03-08-24T05:14:15Z", -1 },
	{ "2003-8-24T05:14:15Z", -1 },
	{ "2003-08-24T05:14:15+0700", -1 },		/* no colon */
	{ "2003-08-24T05:14:15+07", -1 },
	{ "2003-08-24T05:14:15+24:00", -1 },
	{ "2003-08-24T05:14:15+07:00x", -1 },		/* trailing junk */
	{ "2003-08-24T05:14:15ZZ", -1 },
	{ "+2003-08-24T05:14:15Z", -1 },
	{ "2003-08-24T05:14:15.12a4Z", -1 },
	{ "2003-08-24T05:14:1\r5Z", -1 },
	{ "--", -1 },
	{ "", -1 },
	{ "ts", -1 },
	{ "Oct 11 22:14:15", -1 },			/* RFC 3164 */
	{ "1700000000", -1 },
};

static void
test_ts(void)
{
	size_t i;

	for (i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++)
		is_int(logmsg_ts_check(ts_cases[i].ts, strlen(ts_cases[i].ts)),
		    ts_cases[i].want, "timestamp \"%s\"", ts_cases[i].ts);
	/* The length counts, not a NUL: a valid prefix is not enough. */
	is_int(logmsg_ts_check("2026-11-22T10:00:00Z", 19), -1,
	    "timestamp cut before its offset");
	is_int(logmsg_ts_check("2026-11-22T10:00:00Zjunk", 20), 0,
	    "timestamp read only to its length");
}

static char pumped[256];

static void
pump_cb(void *arg, const char *line, size_t len)
{
	(*(int *)arg)++;
	strncat(pumped, line, len);
	strcat(pumped, "|");
}

/* linebuf_pump: whole lines while open, the rest at EOF, then 0. */
static void
test_pump(void)
{
	struct linebuf lb;
	int fds[2], n = 0;

	linebuf_init(&lb, 100);
	ok(pipe(fds) == 0 && write(fds[1], "a\nb\nc", 5) == 5, "pipe for pump");
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	ok(linebuf_pump(&lb, fds[0], pump_cb, &n) == 1 && n == 2,
	    "pump hands out the whole lines, stream still open");
	ok(linebuf_pump(&lb, fds[0], pump_cb, &n) == 1 && n == 2,
	    "nothing to read yet: still open, the partial line held");
	close(fds[1]);
	ok(linebuf_pump(&lb, fds[0], pump_cb, &n) == 0 && n == 3,
	    "at EOF the rest comes out and the stream ends");
	is_str(pumped, "a|b|c|", "lines in order");
	close(fds[0]);
	linebuf_free(&lb);
}

static void
test_linebuf(void)
{
	struct linebuf lb;
	const char *l;
	size_t len;
	int fds[2];

	linebuf_init(&lb, 8);
	linebuf_append(&lb, "ab\ncd\r\nef", 9);
	ok(linebuf_next(&lb, &l, &len) && len == 2 && memcmp(l, "ab", 2) == 0,
	    "first line");
	ok(linebuf_next(&lb, &l, &len) && len == 2 && memcmp(l, "cd", 2) == 0,
	    "CRLF line");
	ok(!linebuf_next(&lb, &l, &len), "partial line held back");
	linebuf_append(&lb, "gh\n", 3);
	ok(linebuf_next(&lb, &l, &len) && len == 4 && memcmp(l, "efgh", 4) == 0,
	    "partial line completed");
	linebuf_append(&lb, "0123456789ABCDEFXY", 18);
	ok(linebuf_next(&lb, &l, &len) && len == 8 &&
	    memcmp(l, "01234567", 8) == 0, "long line split at max");
	ok(linebuf_next(&lb, &l, &len) && len == 8, "second piece");
	ok(!linebuf_next(&lb, &l, &len), "short rest held");
	ok(linebuf_rest(&lb, &l, &len) && len == 2 && memcmp(l, "XY", 2) == 0,
	    "rest at EOF");
	ok(!linebuf_rest(&lb, &l, &len), "nothing after rest");
	ok(pipe(fds) == 0 && write(fds[1], "from a pipe\n", 12) == 12, "pipe");
	close(fds[1]);
	linebuf_free(&lb);
	linebuf_init(&lb, 100);
	ok(linebuf_read(&lb, fds[0]) == 12 && linebuf_next(&lb, &l, &len) &&
	    len == 11, "read from fd");
	ok(linebuf_read(&lb, fds[0]) == 0, "EOF");
	close(fds[0]);
	linebuf_free(&lb);
	test_pump();
}

static int order[8], norder;

static void
timer_cb(struct evloop *ev, void *arg)
{
	order[norder++] = (int)(long)arg;
	if (norder == 3)
		evloop_stop(ev);
}

static void
sig_cb(struct evloop *ev, int signo, void *arg)
{
	(void)arg;
	order[norder++] = signo;
	evloop_stop(ev);
}

static void
test_evloop(void)
{
	struct evloop *ev = evloop_new();
	struct evtimer *t;

	evloop_timer(ev, 30, timer_cb, (void *)3L);
	evloop_timer(ev, 10, timer_cb, (void *)1L);
	t = evloop_timer(ev, 15, timer_cb, (void *)9L);
	evloop_timer(ev, 20, timer_cb, (void *)2L);
	evloop_timer_cancel(ev, t);
	ok(evloop_run(ev) == 0, "loop ran");
	ok(norder == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3,
	    "timers fire in deadline order; a cancelled one never fires");
	norder = 0;
	ok(evloop_add_signal(ev, SIGUSR1, sig_cb, NULL) == 0, "signal added");
	kill(getpid(), SIGUSR1);
	evloop_run(ev);
	ok(norder == 1 && order[0] == SIGUSR1, "signal delivered through the loop");
	evloop_free(ev);
}

int
main(void)
{
	test_logmsg();
	test_ts();
	test_linebuf();
	test_evloop();
	return done_testing();
}
