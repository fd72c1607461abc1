/* SPDX-License-Identifier: ISC */
/* Daemons' listening sockets: a unix one by path, a TCP one by address. */
#ifndef DYNO_LISTENER_H
#define DYNO_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Every socket made here is non-blocking and close-on-exec; errors are
 * returned (-1 and errno), never printed.
 */

/*
 * A unix socket of `type` (SOCK_STREAM: listening with `backlog`;
 * SOCK_DGRAM: bound only) at `path`, whose file has exactly `mode`
 * whatever the umask, owned by the caller's user and group.  It is bound
 * under a temporary name beside `path` (PATH.PID), never wider than
 * `mode`, then renamed over `path`: a client finds the old socket or the
 * new one, listening, never no file nor one the umask opened up.  Returns
 * the fd, or -1 with errno (ENAMETOOLONG when PATH.PID does not fit a
 * sockaddr_un; the temporary name is gone on failure).
 */
int	listener_unix(const char *path, int type, mode_t mode, int backlog);

#define LISTENER_NUMERIC	0x1	/* the host is an address, not a name */
#define LISTENER_REUSEPORT	0x2	/* SO_REUSEPORT: one socket per worker */

/*
 * A TCP socket listening with `backlog` on host (NULL: every address) and
 * the decimal port (0 to 65535), SO_REUSEADDR set.  Returns the fd, or
 * -1 with errno: EINVAL a port, or (with LISTENER_NUMERIC) a host, that
 * is not one; EADDRNOTAVAIL a name that does not resolve; else bind(2)'s
 * and listen(2)'s.
 */
int	listener_tcp(const char *host, const char *port, int flags,
	    int backlog);

/*
 * "HOST:PORT" or "[V6]:PORT" into host (NUL-terminated, of size bytes)
 * and *port (pointing into addr).  0, or -1 with EINVAL when either part
 * is empty or host does not fit.
 */
int	listener_split(const char *addr, char *host, size_t size,
	    const char **port);

/* listener_split, then listener_tcp: the same fd or -1 and errno. */
int	listener_tcp_addr(const char *addr, int flags, int backlog);

#endif
