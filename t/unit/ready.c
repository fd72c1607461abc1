/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/ready: the --ready-fd contract of every daemon. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ready.h"
#include "tap.h"

/* One refused option value: -1, the errno, *fd untouched, the reason. */
static void
refused(const char *s, int want_errno, const char *want_err)
{
	char err[128];
	int fd = -7, rc;

	rc = ready_parse(s, &fd, err, sizeof(err));
	is_int(rc, -1, "\"%s\" refused", s);
	is_int(errno, want_errno, "\"%s\": errno", s);
	is_int(fd, -7, "\"%s\": fd untouched", s);
	is_str(err, want_err, "\"%s\": reason", s);
}

static void
test_parse(void)
{
	char err[128], s[16], want[64];
	int p[2], fd = -1;

	refused("", EINVAL, "--ready-fd \"\": expected a file descriptor");
	refused("x", EINVAL, "--ready-fd \"x\": expected a file descriptor");
	refused("-1", EINVAL, "--ready-fd \"-1\": expected a file descriptor");
	refused("4 ", EINVAL, "--ready-fd \"4 \": expected a file descriptor");
	refused("99999999999", ERANGE,
	    "--ready-fd \"99999999999\": expected a file descriptor");
	refused("999", EBADF, "--ready-fd 999: Bad file descriptor");
	if (pipe(p) == -1)
		exit(1);
	snprintf(s, sizeof(s), "%d", p[0]);
	snprintf(want, sizeof(want), "--ready-fd %d: open read-only", p[0]);
	refused(s, EACCES, want);
	snprintf(s, sizeof(s), "%d", p[1]);
	is_int(ready_parse(s, &fd, err, sizeof(err)), 0, "write end accepted");
	is_int(fd, p[1], "its number");
	is_int(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0,
	    "flags left alone: it crosses the manager's re-exec");
	close(p[0]);
	close(p[1]);
}

/* fd 0 is a descriptor like any other (dyno-route used to ignore it). */
static void
test_fd0(void)
{
	char err[128], c = 0;
	int p[2], fd = -1, saved = dup(0);

	if (saved == -1 || pipe(p) == -1 || dup2(p[1], 0) == -1)
		exit(1);
	close(p[1]);
	is_int(ready_parse("0", &fd, err, sizeof(err)), 0, "fd 0 accepted");
	is_int(ready_signal(fd, err, sizeof(err)), 0, "fd 0 signalled");
	ok(read(p[0], &c, 1) == 1 && c == '\n', "a newline on fd 0");
	close(p[0]);
	dup2(saved, 0);
	close(saved);
}

static void
test_signal(void)
{
	char err[128], buf[4], want[128];
	int p[2];

	unsetenv("NOTIFY_SOCKET");
	is_int(ready_signal(-1, err, sizeof(err)), 0, "no fd: nothing to do");
	is_str(err, "", "no fd: no reason");
	if (pipe(p) == -1)
		exit(1);
	is_int(ready_signal(p[1], err, sizeof(err)), 0, "signalled");
	is_int(read(p[0], buf, sizeof(buf)), 1, "one byte, then end-of-file");
	is_int(buf[0], '\n', "a newline");
	is_int(read(p[0], buf, sizeof(buf)), 0, "fd closed after");
	close(p[0]);

	/* A reader gone: a warning for the caller, and the fd still closed. */
	if (pipe(p) == -1)
		exit(1);
	close(p[0]);
	setenv("NOTIFY_SOCKET", "/nonexistent/dynotest-notify", 1);
	is_int(ready_signal(p[1], err, sizeof(err)), -1, "both failed");
	is_int(errno, ENOENT, "errno of the first failure");
	snprintf(want, sizeof(want), "NOTIFY_SOCKET: No such file or "
	    "directory; --ready-fd %d: Broken pipe", p[1]);
	is_str(err, want, "both reasons, in order");
	is_int(fcntl(p[1], F_GETFD), -1, "fd closed even so");
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_parse();
	test_fd0();
	test_signal();
	return done_testing();
}
