/* SPDX-License-Identifier: ISC */
/* Drain frames byte for byte (heroku.md 4.4) and octet-counted input. */
#include <errno.h>
#include <string.h>

#include "logframe.h"
#include "tap.h"

static void
frame(const char *dgram, const char *token, const char *want)
{
	struct logmsg m;
	char buf[512];
	size_t n;

	if (!ok(logmsg_parse(dgram, strlen(dgram), &m) == 0, "parse %s", dgram))
		return;
	n = token ? logframe_syslog(buf, sizeof(buf), &m, token) :
	    logframe_http(buf, sizeof(buf), &m);
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	is_str(buf, want, "%s frame", token ? "syslog" : "http");
	is_int(n, strlen(want), "length returned");
}

static void
test_frames(void)
{
	struct logmsg m;
	char small[8];
	const char *d = "<45>1 2014-11-11T08:24:24.064853+00:00 myapp heroku "
	    "web.1 - - State changed from starting to up";

	/* Heroku's real frame: 93 bytes with the newline it ends in. */
	frame(d, NULL, "93 <45>1 2014-11-11T08:24:24.064853+00:00 host heroku "
	    "web.1 - State changed from starting to up\n");
	frame(d, "d.01234567-89ab-4cde-8f01-23456789abcd", "129 <45>1 "
	    "2014-11-11T08:24:24.064853+00:00 "
	    "d.01234567-89ab-4cde-8f01-23456789abcd heroku web.1 - - "
	    "State changed from starting to up\n");
	frame("<190>1 2026-01-01T00:00:00.000001+00:00 a app web.2 - - ", "d.x",
	    "59 <190>1 2026-01-01T00:00:00.000001+00:00 d.x app web.2 - - \n");
	logmsg_parse(d, strlen(d), &m);
	is_int(logframe_http(small, sizeof(small), &m), 96,
	    "too small: the length needed");
}

static void
test_l10(void)
{
	char buf[200], ts[LOGFRAME_TS_SEC_LEN + 1];

	logframe_ts_seconds(ts, 1366225486);
	is_str(ts, "2013-04-17T19:04:46+00:00", "seconds timestamp");
	logframe_l10(buf, sizeof(buf), 500, 1366225486);
	is_str(buf, "Error L10 (output buffer overflow): 500 messages dropped "
	    "since 2013-04-17T19:04:46+00:00.", "L10 text");
}

static void
test_unframe(void)
{
	const char *msg = NULL;
	size_t len = 0;

	is_int(logframe_unframe("5 hello6 world!", 15, 100, &msg, &len), 7,
	    "first frame");
	ok(len == 5 && memcmp(msg, "hello", 5) == 0, "first message");
	is_int(logframe_unframe("6 worl", 6, 100, &msg, &len), 0, "partial");
	is_int(logframe_unframe("12", 2, 100, &msg, &len), 0, "partial length");
	errno = 0;
	is_int(logframe_unframe("x hello", 7, 100, &msg, &len), -1, "not a count");
	is_int(errno, EINVAL, "EINVAL");
	is_int(logframe_unframe("05 hello", 8, 100, &msg, &len), -1,
	    "leading zero");
	is_int(logframe_unframe("1000 ", 5, 100, &msg, &len), -1, "too big");
	is_int(errno, EMSGSIZE, "EMSGSIZE");
	is_int(logframe_unframe("99999999999999999999999 ", 24, 100, &msg,
	    &len), -1, "overflowing count");
}

int
main(void)
{
	test_frames();
	test_l10();
	test_unframe();
	return done_testing();
}
