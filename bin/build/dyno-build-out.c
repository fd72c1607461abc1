/* SPDX-License-Identifier: ISC */
/* dyno-build: the build's output, streamed to the pusher and kept with vN. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-build.h"
#include "logclient.h"
#include "state.h"

/* The kept copy stops at BUILD_LOG_MAX; the stream goes on. */
static void
keep(struct build *b, const char *p, size_t n)
{
	char *nl;

	if (b->logcut || n > BUILD_LOG_MAX - b->loglen - 1) {
		b->logcut = 1;
		return;
	}
	if ((nl = realloc(b->log, b->loglen + n + 1)) == NULL) {
		b->logcut = 1;
		return;
	}
	b->log = nl;
	memcpy(b->log + b->loglen, p, n);
	b->loglen += n;
	b->log[b->loglen++] = '\n';
}

/*
 * One line, as it came: on stdout at once (the pusher's terminal through
 * git's side band), and in the kept copy.  A pusher that went away
 * (EPIPE) does not stop the build.
 */
void
out_line(struct build *b, const char *line, size_t len)
{
	char buf[LINE_MAX * 2];
	size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;

	memcpy(buf, line, n);
	buf[n++] = '\n';
	(void)!write(STDOUT_FILENO, buf, n);
	keep(b, line, len);
}

static void
vout(struct build *b, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vout(struct build *b, const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	n = snprintf(line, sizeof(line), "%s", prefix);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	out_line(b, line, strlen(line));
}

/* "-----> Python app detected" */
void
out_head(struct build *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(b, "-----> ", fmt, ap);
	va_end(ap);
}

/* "       Done: 23.4M" */
void
out_text(struct build *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(b, "       ", fmt, ap);
	va_end(ap);
}

/* " !     Push rejected, ...": Heroku's mark for a failure. */
void
out_fail(struct build *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(b, " !     ", fmt, ap);
	va_end(ap);
}

/* app[api] lines in the app's log stream. */
void
out_api(struct build *b, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->lc != NULL)
		(void)logclient_send(b->lc, b->app, "app", "api", msg,
		    strlen(msg));
}

/*
 * The whole output next to the release it made: builds/vN.log, or
 * builds/failed.log for the last build that made none (version 0).
 */
int
out_keep(struct build *b, unsigned version)
{
	char path[PATH_MAX];
	static const char cut[] = "(output past 16 MiB not kept)\n";

	if (state_pathf(path, sizeof(path), "%s/builds", b->appdir) == -1 ||
	    state_mkdirs(path, 0755) == -1)
		return -1;
	if (version != 0)
		(void)state_pathf(path, sizeof(path), "%s/builds/v%u.log",
		    b->appdir, version);
	else
		(void)state_pathf(path, sizeof(path), "%s/builds/failed.log",
		    b->appdir);
	if (b->logcut && b->loglen + sizeof(cut) <= BUILD_LOG_MAX + 64) {
		char *nl = realloc(b->log, b->loglen + sizeof(cut));

		if (nl != NULL) {
			b->log = nl;
			memcpy(b->log + b->loglen, cut, sizeof(cut) - 1);
			b->loglen += sizeof(cut) - 1;
		}
	}
	if (state_replace(path, b->log ? b->log : "", b->loglen, 0644,
	    STATE_FSYNC) == -1) {
		diag_warn_errno("%s", path);
		return -1;
	}
	return 0;
}
