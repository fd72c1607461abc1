/* SPDX-License-Identifier: ISC */
/* Diagnostics on stderr in err(3) form, for the tools (lib code never prints). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "version.h"

static const char *prog = "dyno";
int diag_verbosity;

void
diag_setprog(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	prog = slash ? slash + 1 : argv0;
}

void
diag_start(int argc, char **argv)
{
	if (argc < 1 || argv[0] == NULL || *argv[0] == '\0')
		return;
	diag_setprog(argv[0]);
	/* prog points into argv[0]: getopt then names the tool as we do */
	argv[0] = (char *)(uintptr_t)prog;
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", prog, dyno_version);
		exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_CANTCREAT);
	}
}

const char *
diag_prog(void)
{
	return prog;
}

/* One fprintf per message so lines from several processes do not mix. */
static void
vmsg(const char *kind, int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void
vmsg(const char *kind, int err, const char *fmt, va_list ap)
{
	char body[2048];

	vsnprintf(body, sizeof(body), fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s%s: %s\n", prog, kind, body, strerror(err));
	else
		fprintf(stderr, "%s: %s%s\n", prog, kind, body);
}

void
diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", 0, fmt, ap);
	va_end(ap);
}

void
diag_warn_errno(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vmsg("warning: ", err, fmt, ap);
	va_end(ap);
}

void
diag_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", 0, fmt, ap);
	va_end(ap);
}

void
diag_error_errno(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vmsg("", err, fmt, ap);
	va_end(ap);
}

void
diag_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", 0, fmt, ap);
	va_end(ap);
	exit(code);
}

void
diag_die_errno(int code, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vmsg("", err, fmt, ap);
	va_end(ap);
	exit(code);
}

void
diag_verbose(const char *fmt, ...)
{
	va_list ap;

	if (diag_verbosity == 0)
		return;
	va_start(ap, fmt);
	vmsg("", 0, fmt, ap);
	va_end(ap);
}

#define RATE_SLOTS 16

void
diag_warn_ratelimited(unsigned slot, unsigned interval_ms, const char *fmt, ...)
{
	static struct timespec last[RATE_SLOTS];
	struct timespec now;
	va_list ap;
	long long gap;

	slot %= RATE_SLOTS;
	clock_gettime(CLOCK_MONOTONIC, &now);
	gap = (now.tv_sec - last[slot].tv_sec) * 1000LL +
	    (now.tv_nsec - last[slot].tv_nsec) / 1000000;
	if (last[slot].tv_sec != 0 && gap < (long long)interval_ms)
		return;
	last[slot] = now;
	va_start(ap, fmt);
	vmsg("warning: ", 0, fmt, ap);
	va_end(ap);
}

int
diag_exit_for_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return EXIT_NOINPUT;
	case EACCES:
	case EPERM:
		return EXIT_NOPERM;
	case EWOULDBLOCK:
	case ETIMEDOUT:
		return EXIT_TEMPFAIL;
	case EINVAL:
		return EXIT_DATAERR;
	default:
		return EXIT_OSERR;
	}
}
