/* SPDX-License-Identifier: ISC */
/* dyno-run: a pty for an interactive dyno, and our terminal in raw mode. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "dyno-run.h"

static struct termios saved;
static int saved_fd = -1;

/*
 * The master stays with us (non-blocking, for the relay); the slave goes
 * to the dyno, where it becomes the command's controlling terminal.
 */
int
tty_open_pty(int *master, int *slave, char *err, size_t errlen)
{
	char *name;

	*slave = -1;
	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(*master) == -1 || unlockpt(*master) == -1 ||
	    (name = ptsname(*master)) == NULL ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    fcntl(*master, F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "allocate a terminal: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
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
