/* SPDX-License-Identifier: ISC */
/* Daemons' listening sockets: a unix one by path, a TCP one by address. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "num.h"

/* Close fd (if open) keeping errno: the failure the caller reports. */
static int
fail_close(int fd)
{
	int e = errno;

	if (fd != -1)
		close(fd);
	errno = e;
	return -1;
}

int
listener_unix(const char *path, int type, mode_t mode, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path,
	    (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	/*
	 * Linux makes the file with the socket inode's mode less the umask:
	 * set first, the file is never wider than mode, even for the instant
	 * before the chmod that takes back what the umask removed.
	 */
	(void)unlink(sa.sun_path);
	if (fchmod(fd, mode) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return fail_close(fd);
	if (chmod(sa.sun_path, mode) == -1 ||
	    (type == SOCK_STREAM && listen(fd, backlog) == -1) ||
	    rename(sa.sun_path, path) == -1) {
		fail_close(fd);
		n = errno;
		(void)unlink(sa.sun_path);
		errno = n;
		return -1;
	}
	return fd;
}

/* getaddrinfo's failure as an errno. */
static int
gai_errno(int e, int numeric)
{
	switch (e) {
	case EAI_SYSTEM:
		return errno;
	case EAI_MEMORY:
		return ENOMEM;
	case EAI_AGAIN:
		return EAGAIN;
	case EAI_NONAME:
		return numeric ? EINVAL : EADDRNOTAVAIL;
	default:
		return EINVAL;
	}
}

int
listener_tcp(const char *host, const char *port, int flags, int backlog)
{
	struct addrinfo hints, *res;
	unsigned n;
	int fd, e, on = 1;

	/* getaddrinfo takes 99999 and binds its low 16 bits. */
	if (num_parse_uint(port, 0, 65535, &n) == -1) {
		errno = EINVAL;
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (flags & LISTENER_NUMERIC)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		errno = gai_errno(e, flags & LISTENER_NUMERIC);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    ((flags & LISTENER_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1)
		fd = fail_close(fd);
	e = errno;
	freeaddrinfo(res);
	errno = e;
	return fd;
}

int
listener_split(const char *addr, char *host, size_t size, const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t len;

	if (colon == NULL || colon[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	len = (size_t)(colon - addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= size) {
		errno = EINVAL;
		return -1;
	}
	memcpy(host, addr, len);
	host[len] = '\0';
	*port = colon + 1;
	return 0;
}

int
listener_tcp_addr(const char *addr, int flags, int backlog)
{
	char host[256];
	const char *port;

	if (listener_split(addr, host, sizeof(host), &port) == -1)
		return -1;
	return listener_tcp(host, port, flags, backlog);
}
