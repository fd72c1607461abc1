/* SPDX-License-Identifier: ISC */
/* Send log lines to logplexd.sock without ever blocking; stderr as fallback. */
#ifndef DYNO_LOGCLIENT_H
#define DYNO_LOGCLIENT_H

#include <stdarg.h>
#include <stddef.h>

struct logclient;

/*
 * A client for DYNO_RUNDIR/logplexd.sock under `rundir`.  Never fails
 * because logplexd is absent: that is checked on every send.  NULL only on
 * ENOMEM or when no socket can be made (then use NULL: sends fall back).
 */
struct logclient *logclient_open(const char *rundir);
void	logclient_close(struct logclient *lc);

/*
 * Send one message as APP SOURCE[DYNO].  Lines longer than LOGMSG_LINE_MAX
 * are split into chunks; a trailing newline is dropped.  When logplexd is
 * not running, or its socket buffer is full, the line is written to stderr
 * in display form instead; the call never blocks.  lc may be NULL (always
 * stderr).  Returns 1 if sent to logplexd, 0 if it went to stderr.
 */
int	logclient_send(struct logclient *lc, const char *app, const char *source,
	    const char *dyno, const char *msg, size_t len);
int	logclient_sendf(struct logclient *lc, const char *app,
	    const char *source, const char *dyno, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* logclient_sendf for a tool's own printf-like wrapper (heroku[NAME] lines);
 * 0 without sending when fmt cannot be formatted. */
int	logclient_vsendf(struct logclient *lc, const char *app,
	    const char *source, const char *dyno, const char *fmt, va_list ap)
	    __attribute__((format(printf, 5, 0)));

/*
 * The message of a formatted line, as logclient_vsendf makes it, for a
 * tool with its own queue (dyno-manager): into buf of size bytes, cut at
 * size - 1 (LOGMSG_LINE_MAX + 1 bytes hold any line unsplit).  Returns
 * the message's length, or -1 with errno (EINVAL: size 0 or above INT_MAX;
 * vsnprintf's own) and nothing to send.
 */
int	logclient_vformat(char *buf, size_t size, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

/* With quiet set, the stderr fallback is off (lines are just dropped). */
void	logclient_set_quiet(struct logclient *lc, int quiet);

/*
 * With hold set, sends are queued (and count as sent) until
 * logclient_flush, which sends them in one sendmmsg(2).  Lines logplexd has
 * no room for stay held for the next flush; logclient_flush returns how
 * many (0 when all went out, or went to the fallback because logplexd is
 * absent), so the caller can flush again soon.  At most 8 lines are held
 * (fewer than Debian's net.unix.max_dgram_qlen): beyond, the oldest goes to
 * the fallback.  Clearing hold, and logclient_close, send what they can
 * and give the rest to the fallback.  For a busy event loop: hold, and
 * flush once per round of events.
 */
void	logclient_hold(struct logclient *lc, int hold);
unsigned logclient_flush(struct logclient *lc);

#endif
