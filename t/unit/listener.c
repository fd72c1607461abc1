/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/listener: modes whatever the umask, flags, addresses. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "tap.h"

static char dir[] = "/tmp/dynotest-listener-XXXXXX";

static int
flags_ok(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
	    (fcntl(fd, F_GETFL) & O_NONBLOCK);
}

static int
connect_to(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The number of entries of dir: the temporary names must be gone. */
static int
entries(void)
{
	char cmd[128];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void
test_unix(void)
{
	char path[128], longp[200];
	struct stat st;
	int fd, old, c;

	snprintf(path, sizeof(path), "%s/stream.sock", dir);
	umask(0);
	fd = listener_unix(path, SOCK_STREAM, 0600, 8);
	ok(fd != -1, "unix stream: made");
	ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "a socket at path");
	is_int(st.st_mode & 07777, 0600, "mode 0600 under umask 0");
	ok(flags_ok(fd), "close-on-exec, non-blocking");
	ok((c = connect_to(path, SOCK_STREAM)) != -1, "listening already");
	close(c);

	/* A restart: the old socket replaced, never missing. */
	umask(077);
	old = fd;
	fd = listener_unix(path, SOCK_STREAM, 0660, 8);
	ok(fd != -1, "made again over the old one");
	is_int(stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1, 0660,
	    "mode 0660 under umask 077: exactly the mode asked");
	ok((c = connect_to(path, SOCK_STREAM)) != -1 &&
	    accept4(fd, NULL, NULL, SOCK_CLOEXEC) >= 0,
	    "the new socket takes the connection");
	close(c);
	close(old);
	close(fd);

	snprintf(path, sizeof(path), "%s/dgram.sock", dir);
	umask(0);
	fd = listener_unix(path, SOCK_DGRAM, 0600, 0);
	ok(fd != -1 && flags_ok(fd), "unix datagram: made, flags");
	is_int(stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1, 0600,
	    "datagram mode 0600 under umask 0");
	ok((c = connect_to(path, SOCK_DGRAM)) != -1 && send(c, "x", 1, 0) == 1,
	    "a datagram reaches it");
	close(c);
	close(fd);
	is_int(entries(), 2, "no temporary name left beside them");

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	is_int(listener_unix(longp, SOCK_STREAM, 0600, 8), -1, "too long: -1");
	is_int(errno, ENAMETOOLONG, "ENAMETOOLONG");
	snprintf(path, sizeof(path), "%s/nodir/x.sock", dir);
	is_int(listener_unix(path, SOCK_STREAM, 0600, 8), -1, "no folder: -1");
	is_int(errno, ENOENT, "ENOENT");
	umask(022);
}

static void
test_split(void)
{
	char host[16];
	const char *port;

	ok(listener_split("127.0.0.1:80", host, sizeof(host), &port) == 0 &&
	    strcmp(host, "127.0.0.1") == 0 && strcmp(port, "80") == 0,
	    "split HOST:PORT");
	ok(listener_split("[::1]:443", host, sizeof(host), &port) == 0 &&
	    strcmp(host, "::1") == 0 && strcmp(port, "443") == 0,
	    "split [V6]:PORT");
	is_int(listener_split("127.0.0.1", host, sizeof(host), &port), -1,
	    "no port");
	is_int(listener_split("1.2.3.4:", host, sizeof(host), &port), -1,
	    "empty port");
	is_int(listener_split(":80", host, sizeof(host), &port), -1,
	    "empty host");
	is_int(listener_split("[]:80", host, sizeof(host), &port), -1,
	    "empty brackets");
	is_int(listener_split("255.255.255.255.255:1", host, sizeof(host),
	    &port), -1, "host too long for the buffer");
	is_int(errno, EINVAL, "EINVAL");
}

static void
test_tcp(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa), ol = sizeof(int);
	int fd, fd2, one = 0;
	char addr[64];

	fd = listener_tcp_addr("127.0.0.1:0", LISTENER_NUMERIC, 8);
	ok(fd != -1 && flags_ok(fd), "tcp: listening, flags");
	ok(getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	    sa.sin_family == AF_INET && sa.sin_port != 0, "on a port");
	ok(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, &ol) == 0 && one,
	    "SO_REUSEADDR");
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	is_int(listener_tcp_addr(addr, LISTENER_NUMERIC, 8), -1,
	    "the same port twice without SO_REUSEPORT");
	is_int(errno, EADDRINUSE, "EADDRINUSE");
	close(fd);

	fd = listener_tcp("127.0.0.1", "0", LISTENER_NUMERIC |
	    LISTENER_REUSEPORT, 8);
	len = sizeof(sa);
	ok(fd != -1 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
	    "reuseport: listening");
	snprintf(addr, sizeof(addr), "%u", ntohs(sa.sin_port));
	fd2 = listener_tcp("127.0.0.1", addr, LISTENER_NUMERIC |
	    LISTENER_REUSEPORT, 8);
	ok(fd2 != -1, "reuseport: a second socket on the same port");
	close(fd2);
	close(fd);

	is_int(listener_tcp_addr("localhost:0", LISTENER_NUMERIC, 8), -1,
	    "numeric only: a name refused");
	is_int(errno, EINVAL, "EINVAL");
	is_int(listener_tcp_addr("127.0.0.1:http", LISTENER_NUMERIC,
	    8), -1,
	    "a service name refused");
	is_int(errno, EINVAL, "EINVAL");
	is_int(listener_tcp_addr("127.0.0.1:99999", LISTENER_NUMERIC, 8), -1,
	    "a port above 65535 refused (getaddrinfo would bind 34463)");
	is_int(errno, EINVAL, "EINVAL");
	is_int(listener_tcp_addr("127.0.0.1", 0, 8), -1, "no port");
	is_int(errno, EINVAL, "EINVAL");
	fd = listener_tcp_addr("[::1]:0", LISTENER_NUMERIC, 8);
	ok(fd != -1 || errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT,
	    "[::1]:0 listens where the host has IPv6");
	if (fd != -1)
		close(fd);
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_unix();
	test_split();
	test_tcp();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", dir);
	return done_testing();
}
