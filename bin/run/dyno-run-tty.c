/* SPDX-License-Identifier: ISC */
/* dyno-run: a pty for an interactive dyno, and our terminal in raw mode. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "dyno-run.h"

static struct termios saved;
static int saved_fd = -1;

/*
 * Inside the dyno, as its root, once its /dev/pts is mounted: a pty of the
 * dyno's own devpts, so ttyname() finds its slave at /dev/pts/N there.
 * The slave goes to the dyno user (as login does) and becomes the
 * command's controlling terminal; the master goes to the monitor over
 * `sock`, for the relay, and is closed here.
 */
int
tty_dyno_pty(const struct dyno *d, const struct winsize *ws, int sock,
    int *slave, char *err, size_t errlen)
{
	int master, unlock = 0;
	char byte = 't';

	*slave = -1;
	if ((master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC))
	    == -1 || ioctl(master, TIOCSPTLCK, &unlock) == -1 ||
	    (*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY |
	    O_CLOEXEC)) == -1 || fchown(*slave, host_uid(d), host_gid(d))
	    == -1) {
		snprintf(err, errlen, "allocate a terminal: %s",
		    strerror(errno));
		return -1;
	}
	if (ws->ws_row != 0 || ws->ws_col != 0)
		(void)ioctl(master, TIOCSWINSZ, ws);
	if (fdpass_send(sock, &byte, 1, &master, 1) == -1) {
		snprintf(err, errlen, "pass the terminal: %s", strerror(errno));
		close(master);
		return -1;
	}
	close(master);
	return 0;
}

/* The monitor's end: the dyno's pty master, non-blocking; -1 on EOF. */
int
tty_recv_master(int sock)
{
	char byte;
	int fd;

	if (fdpass_recv(sock, &byte, 1, &fd, 1) != 1)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Keys go to the dyno untouched: ^C is a byte the dyno's pty turns into SIGINT. */
int
tty_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &saved) == -1)
		return -1;
	saved_fd = fd;
	t = saved;
	cfmakeraw(&t);
	return tcsetattr(fd, TCSADRAIN, &t);
}

void
tty_restore(void)
{
	if (saved_fd != -1)
		(void)tcsetattr(saved_fd, TCSADRAIN, &saved);
	saved_fd = -1;
}

void
tty_copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(to, TIOCSWINSZ, &ws);
}
