/* SPDX-License-Identifier: ISC */
/* --ready-fd: parse and check the descriptor, then signal readiness once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "num.h"
#include "ready.h"
#include "sdnotify.h"

int
ready_parse(const char *s, int *fd, char *err, size_t errlen)
{
	unsigned u;
	int fl;

	if (num_parse_uint(s, 0, INT_MAX, &u) == -1) {
		snprintf(err, errlen, "--ready-fd \"%s\": expected a file "
		    "descriptor", s);
		return -1;
	}
	/* Checked now, so a typo is a usage error and not a silent hang. */
	if ((fl = fcntl((int)u, F_GETFL)) == -1) {
		snprintf(err, errlen, "--ready-fd %u: %s", u, strerror(errno));
		return -1;
	}
	if ((fl & O_ACCMODE) == O_RDONLY) {
		snprintf(err, errlen, "--ready-fd %u: open read-only", u);
		errno = EACCES;
		return -1;
	}
	*fd = (int)u;
	return 0;
}

int
ready_signal(int fd, char *err, size_t errlen)
{
	int saved = 0;
	size_t n;

	if (errlen > 0)
		err[0] = '\0';
	if (sdnotify_send("READY=1") == -1) {	/* systemd's Type=notify */
		saved = errno;
		snprintf(err, errlen, "NOTIFY_SOCKET: %s", strerror(errno));
	}
	if (fd < 0)
		goto out;
	if (write(fd, "\n", 1) != 1) {
		if (saved == 0)
			saved = errno;
		n = strlen(err);
		snprintf(err + n, errlen - n, "%s--ready-fd %d: %s",
		    n > 0 ? "; " : "", fd, strerror(errno));
	}
	close(fd);
out:
	if (saved == 0)
		return 0;
	errno = saved;
	return -1;
}
