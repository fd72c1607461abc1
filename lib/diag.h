/* SPDX-License-Identifier: ISC */
/* Diagnostics and the exit-code convention shared by every dyno tool. */
#ifndef DYNO_DIAG_H
#define DYNO_DIAG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/*
 * Exit codes, the same in every tool (sysexits(3) values) and listed in each
 * man page's EXIT STATUS.
 */
enum {
	EXIT_NO = 1,		/* a "no" answer or a documented soft failure */
	EXIT_USAGE = 64,	/* bad command line */
	EXIT_DATAERR = 65,	/* bad input data */
	EXIT_NOINPUT = 66,	/* input missing */
	EXIT_UNAVAILABLE = 69,	/* a peer is not running, or a remote failed */
	EXIT_SOFTWARE = 70,	/* internal error */
	EXIT_OSERR = 71,	/* a system call failed */
	EXIT_CANTCREAT = 73,	/* cannot create output */
	EXIT_TEMPFAIL = 75,	/* try again later: timeout, lock held */
	EXIT_NOPERM = 77,	/* missing privilege */
	EXIT_CONFIG = 78,	/* bad configuration */
	EXIT_CANTRUN = 126,	/* the command cannot be run */
	EXIT_NOTFOUND = 127,	/* the command is not found */
};

/*
 * diag is the one lib module that prints: tools call it, lib code never
 * does.  Every message goes to stderr as "prog: message" (and ": strerror"
 * for the *_errno forms).  diag_setprog() takes argv[0]'s basename.
 */
void	diag_setprog(const char *argv0);

/*
 * What every main() does first: diag_setprog(argv[0]), argv[0] replaced by
 * its basename so getopt's messages read like the tool's own ("dyno-run:
 * unrecognized option '--x'"), and "TOOL --version" answered here: it
 * prints "TOOL VERSION" on stdout and exits 0.  Every tool prints the same
 * VERSION (the VERSION file, or git describe in a checkout).
 */
void	diag_start(int argc, char **argv);
const char *diag_prog(void);
void	diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	diag_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	diag_error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void diag_die(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
noreturn void diag_die_errno(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Print "prog: warning: msg" at most once per `interval_ms` per `slot`. */
void	diag_warn_ratelimited(unsigned slot, unsigned interval_ms,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Exit code for an errno from a failed system call on an input/output path. */
int	diag_exit_for_errno(int err);

/* Set by -v; diag_verbose() prints only when it is non-zero. */
extern int diag_verbosity;
void	diag_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
