/* SPDX-License-Identifier: ISC */
/* The log datagram of design.md "Log lines": RFC 5424 out, display form in. */
#ifndef DYNO_LOGMSG_H
#define DYNO_LOGMSG_H

#include <stddef.h>
#include <time.h>

#define LOGMSG_LINE_MAX	10000	/* longer lines are split (heroku.md 4.1) */
#define LOGMSG_MAX	10400	/* the largest datagram: header + line */
#define LOGMSG_TS_LEN	32	/* "2026-11-22T10:00:00.123456+00:00" */

/* A view of a field inside a buffer: not NUL-terminated. */
struct logfield {
	const char	*p;
	size_t		 len;
};

/*
 * "<PRI>1 TIMESTAMP APP SOURCE DYNO - - MSG", MSGID and STRUCTURED-DATA
 * empty ("-").  Fields point into the parsed buffer.
 */
struct logmsg {
	int		 pri;
	struct logfield	 ts, app, source, dyno, msg;
};

/*
 * Parse one datagram.  A trailing newline is not part of msg.  0, or -1
 * with errno EINVAL when it is not the format above (bad PRI, version,
 * empty field, missing "- -").
 */
int	logmsg_parse(const char *buf, size_t len, struct logmsg *m);

/*
 * Write the datagram for these fields into buf (NUL-terminated when it
 * fits).  Returns the length it needs, like snprintf.
 */
size_t	logmsg_format(char *buf, size_t size, int pri, const char *ts,
	    const char *app, const char *source, const char *dyno,
	    const char *msg, size_t msglen);

/* Display form "TS SOURCE[DYNO]: MSG" (no newline); returns needed length. */
size_t	logmsg_display(char *buf, size_t size, const struct logmsg *m);

/*
 * Check a TIMESTAMP field against RFC 5424 section 6.2.3: FULL-DATE "T"
 * PARTIAL-TIME TIME-OFFSET, upper-case "T" and "Z", a real calendar day,
 * hours 00-23, minutes and seconds 00-59 (no leap second), at most six
 * fraction digits, offsets up to 23:59.  Returns 0 when valid, 1 for the
 * NILVALUE "-" (the time is unknown: the receiver's clock is meant), -1
 * for anything else.
 */
int	logmsg_ts_check(const char *p, size_t len);

/* RFC 3339 UTC with microseconds of `t` (now when NULL) into buf[33]. */
void	logmsg_timestamp(char buf[LOGMSG_TS_LEN + 1], const struct timespec *t);

/*
 * The PRI Heroku uses (heroku.md 4.3): app lines local7.info (190), the
 * router local3.info (158), other platform lines and app[api] 45.
 */
int	logmsg_pri(const char *source, const char *dyno);

#endif
