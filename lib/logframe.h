/* SPDX-License-Identifier: ISC */
/* Drain frames (heroku.md 4.4) and RFC 6587 octet counting. */
#ifndef DYNO_LOGFRAME_H
#define DYNO_LOGFRAME_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "logmsg.h"

#define LOGFRAME_PRI_L10	172	/* local5.warning, as logplex sends it */
#define LOGFRAME_TS_SEC_LEN	25	/* "2013-04-17T19:04:46+00:00" */

/*
 * A syslog (TCP or TLS) drain frame, logplex's to_msg/2 then frame/1:
 *   "LEN <PRI>1 TS TOKEN SOURCE DYNO - - MSG\n"
 * with the newline ensured and counted in LEN.  Written into buf when it
 * fits (not NUL-terminated); returns the length it needs.
 */
size_t	logframe_syslog(char *buf, size_t size, const struct logmsg *m,
	    const char *token);

/*
 * A frame for a logplexd --listen input (Logplex's input, one host
 * forwarding an app's lines to its log owner):
 *   "LEN <PRI>1 TS - TOKEN DYNO - - MSG"
 * the token standing for the app and the source, MSG's bytes as they are.
 * Written into buf when it fits; returns the length it needs, 0 when the
 * head is too long.
 */
size_t	logframe_input(char *buf, size_t size, const struct logmsg *m,
	    const char *token);

/*
 * An HTTPS drain frame, logplex's rfc5424/8 then frame/1:
 *   "LEN <PRI>1 TS host SOURCE DYNO - MSG\n"
 * (literal "host", no STRUCTURED-DATA); newline ensured and counted.
 */
size_t	logframe_http(char *buf, size_t size, const struct logmsg *m);

/* Seconds-precision UTC time as logplex prints it, into buf[26]. */
void	logframe_ts_seconds(char buf[LOGFRAME_TS_SEC_LEN + 1], time_t t);

/*
 * The L10 text "Error L10 (output buffer overflow): N messages dropped
 * since TIME." into buf (NUL-terminated); returns its length.
 */
size_t	logframe_l10(char *buf, size_t size, unsigned long long n,
	    time_t since);

/*
 * Take one octet-counted frame "LEN SP MSG" off the front of buf.
 * Returns the bytes used (*msg, *msglen point into buf), 0 when more input
 * is needed, or -1 with errno EINVAL (not octet counting) or EMSGSIZE
 * (LEN over max).
 */
ssize_t	logframe_unframe(const char *buf, size_t len, size_t max,
	    const char **msg, size_t *msglen);

#endif
