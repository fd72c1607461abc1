/* SPDX-License-Identifier: ISC */
/* dyno-slugd's private interfaces, file by file: each function under its file. */
#ifndef DYNO_SLUGD_H
#define DYNO_SLUGD_H

#include <stdint.h>

struct evloop;

/* The daemon's state: the store folder, the listener, the connections. */
struct slugd {
	struct evloop	*ev;
	int		 dirfd;		/* DYNO_ROOT/slugs, O_PATH */
	int		 listen_fd;
	unsigned	 nconns;
	struct sconn	*conns;
	int		 stopping;
	unsigned long long served, refused, timeouts, busy;
};

#define SLUGD_CONN_MAX		64	/* connections at once; more: 503 */
#define SLUGD_HEAD_MAX		8192	/* request line and headers */
#define SLUGD_HEAD_MS		10000	/* the whole request head within */
#define SLUGD_IDLE_MS		30000	/* no byte sent for this long: drop */

/* dyno-slugd-conn.c: one connection, one request, one answer. */
/* Take the new connection cfd (non-blocking); closes it on failure. */
void	sconn_accept(struct slugd *s, int cfd);
/* Close every connection (shutdown). */
void	sconn_close_all(struct slugd *s);

#endif
