/* SPDX-License-Identifier: ISC */
/* Format and parse the RFC 5424 log datagram; render the display form. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logmsg.h"

/*
 * A busy producer stamps thousands of lines a second: the date and time
 * part changes once a second, so it is made then (gmtime_r and strftime
 * cost more than the rest of a line) and kept per thread.
 */
void
logmsg_timestamp(char buf[LOGMSG_TS_LEN + 1], const struct timespec *t)
{
	static __thread time_t last_sec = -1;
	static __thread char last[20];
	struct timespec now;
	struct tm tm;
	unsigned us, i;

	if (t == NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		t = &now;
	}
	if (t->tv_sec != last_sec) {
		gmtime_r(&t->tv_sec, &tm);
		if (strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm) !=
		    19) {
			last_sec = -1;
			strcpy(buf, "1970-01-01T00:00:00.000000+00:00");
			return;
		}
		last_sec = t->tv_sec;
	}
	memcpy(buf, last, 19);
	buf[19] = '.';
	us = (unsigned)(t->tv_nsec / 1000) % 1000000u;
	for (i = 0; i < 6; i++, us /= 10)
		buf[25 - i] = (char)('0' + us % 10);
	memcpy(buf + 26, "+00:00", 7);
}

/* n decimal digits at p, within [min, max]: the value, or -1. */
static int
digits(const char *p, int n, int min, int max)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v < min || v > max ? -1 : v;
}

static int
mdays(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/* "HH:MM" with an hour 00-23 and minutes 00-59 (times and offsets). */
static int
hhmm(const char *p)
{
	return digits(p, 2, 0, 23) == -1 || p[2] != ':' ||
	    digits(p + 3, 2, 0, 59) == -1 ? -1 : 0;
}

int
logmsg_ts_check(const char *p, size_t len)
{
	const char *end = p + len;
	int year, month;

	if (len == 1 && *p == '-')
		return 1;
	/* "YYYY-MM-DDTHH:MM:SS" is 19 bytes, the shortest offset one more. */
	if (len < 20 || (year = digits(p, 4, 0, 9999)) == -1 || p[4] != '-' ||
	    (month = digits(p + 5, 2, 1, 12)) == -1 || p[7] != '-' ||
	    digits(p + 8, 2, 1, mdays(year, month)) == -1 || p[10] != 'T' ||
	    hhmm(p + 11) == -1 || p[16] != ':' ||
	    digits(p + 17, 2, 0, 59) == -1)
		return -1;
	p += 19;
	if (*p == '.') {
		const char *frac = ++p;

		while (p < end && *p >= '0' && *p <= '9' && p - frac < 7)
			p++;
		if (p == frac || p - frac > 6)
			return -1;
	}
	if (end - p == 1 && *p == 'Z')
		return 0;
	if (end - p != 6 || (*p != '+' && *p != '-') || hhmm(p + 1) == -1)
		return -1;
	return 0;
}

int
logmsg_pri(const char *source, const char *dyno)
{
	if (strcmp(source, "app") == 0)
		return strcmp(dyno, "api") == 0 ? 45 : 190;
	if (strcmp(dyno, "router") == 0)
		return 158;
	return 45;
}

size_t
logmsg_format(char *buf, size_t size, int pri, const char *ts,
    const char *app, const char *source, const char *dyno, const char *msg,
    size_t msglen)
{
	int n;

	n = snprintf(buf, size, "<%d>1 %s %s %s %s - - ", pri, ts, app, source,
	    dyno);
	if (n < 0)
		return 0;
	if ((size_t)n < size) {
		size_t room = size - (size_t)n - 1;
		memcpy(buf + n, msg, msglen < room ? msglen : room);
		buf[(size_t)n + (msglen < room ? msglen : room)] = '\0';
	}
	return (size_t)n + msglen;
}

/* Next space-separated field; NULL when there is none. */
static const char *
field(const char *p, const char *end, struct logfield *f)
{
	const char *sp;

	if (p >= end || *p == ' ')
		return NULL;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return NULL;
	f->p = p;
	f->len = (size_t)(sp - p);
	return sp + 1;
}

static int
parse_pri(const char **pp, const char *end, int *pri)
{
	const char *p = *pp;
	int v = 0, digits = 0;

	if (p >= end || *p++ != '<')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
		v = v * 10 + (*p - '0');
	if (digits == 0 || v > 191 || p + 3 > end || p[0] != '>' || p[1] != '1' ||
	    p[2] != ' ')
		return -1;
	*pri = v;
	*pp = p + 3;
	return 0;
}

int
logmsg_parse(const char *buf, size_t len, struct logmsg *m)
{
	const char *p = buf, *end = buf + len;
	struct logfield dash1, dash2;

	if (len > 0 && end[-1] == '\n')
		end--;
	if (parse_pri(&p, end, &m->pri) == -1 ||
	    (p = field(p, end, &m->ts)) == NULL ||
	    (p = field(p, end, &m->app)) == NULL ||
	    (p = field(p, end, &m->source)) == NULL ||
	    (p = field(p, end, &m->dyno)) == NULL ||
	    (p = field(p, end, &dash1)) == NULL ||
	    dash1.len != 1 || *dash1.p != '-')
		goto bad;
	/* "- -" then the message; a bare "- -" at the very end is an empty line. */
	if (end - p == 1 && *p == '-') {
		m->msg.p = end;
		m->msg.len = 0;
		return 0;
	}
	if ((p = field(p, end, &dash2)) == NULL || dash2.len != 1 ||
	    *dash2.p != '-')
		goto bad;
	m->msg.p = p;
	m->msg.len = (size_t)(end - p);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

size_t
logmsg_display(char *buf, size_t size, const struct logmsg *m)
{
	int n;

	n = snprintf(buf, size, "%.*s %.*s[%.*s]: %.*s", (int)m->ts.len, m->ts.p,
	    (int)m->source.len, m->source.p, (int)m->dyno.len, m->dyno.p,
	    (int)m->msg.len, m->msg.p);
	return n < 0 ? 0 : (size_t)n;
}
