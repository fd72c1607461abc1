/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/sdnotify: the datagram systemd's Type=notify waits for. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"
#include "tap.h"

/* A datagram socket bound at `name` (a path, or "@x" abstract). */
static int
listener(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == -1)
		return -1;
	return fd;
}

static void
check(const char *name, const char *what)
{
	char buf[64];
	ssize_t n;
	int fd;

	ok((fd = listener(name)) != -1, "%s socket bound", what);
	setenv("NOTIFY_SOCKET", name, 1);
	is_int(sdnotify_send("READY=1"), 0, "%s: sent", what);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "READY=1", "%s: one datagram READY=1", what);
	close(fd);
}

int
main(void)
{
	char path[] = "/tmp/dynotest-notify-XXXXXX", sock[64], abs[64];

	unsetenv("NOTIFY_SOCKET");
	is_int(sdnotify_send("READY=1"), 0, "no NOTIFY_SOCKET: nothing to do");
	if (mkdtemp(path) == NULL)
		return 1;
	snprintf(sock, sizeof(sock), "%s/notify", path);
	check(sock, "path");
	unlink(sock);
	rmdir(path);
	snprintf(abs, sizeof(abs), "@dynotest-notify-%ld", (long)getpid());
	check(abs, "abstract");
	setenv("NOTIFY_SOCKET", "relative", 1);
	ok(sdnotify_send("READY=1") == -1 && errno == EAFNOSUPPORT,
	    "a relative name is refused");
	setenv("NOTIFY_SOCKET", sock, 1);
	ok(sdnotify_send("READY=1") == -1, "no listener: an error");
	return done_testing();
}
