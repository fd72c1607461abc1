/* SPDX-License-Identifier: ISC */
/* dyno-route: private interfaces between the router's source files. */
#ifndef DYNO_ROUTE_H
#define DYNO_ROUTE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conf.h"
#include "dyno-route-http.h"

struct logclient;

/*
 * File descriptors one client connection may hold: its own, the dyno's,
 * two splice pipes (four) and one kept-alive dyno connection in the pool
 * (the pool is capped at max_connections).  LimitNOFILE in
 * dyno-route.service is sized by it.
 */
#define FDS_PER_CONN		7

/* ---- dyno-route-http.c: see dyno-route-http.h ---- */

/* ---- dyno-route-apps.c: host names, routes, dyno states ---- */

/* One backend address; lives as long as the worker. */
struct upstream {
	struct sockaddr_storage sa;
	socklen_t	 salen;
	char		 name[64];	/* "127.0.0.1:5001" */
	uint64_t	 quarantined_until;
	struct bsock	*idle;		/* keep-alive pool */
	unsigned	 nidle;
};

struct route {
	char		 dyno[32];
	struct upstream	*up;
};

/* An app; never freed while the worker runs (reloads update it in place). */
struct app {
	char		 name[32];
	char		*hosts;		/* NUL-separated, lowercase */
	size_t		 hostslen;
	struct route	*routes;
	unsigned	 nroutes;
	unsigned	 inflight;	/* requests in progress (H11) */
	int		 present;
	int		 maintenance;	/* app.conf maintenance=: H80 */
	uint64_t	 conf_hash;	/* of the app.conf read last */
};

struct apps;

struct apps *apps_open(const char *root, char *err, size_t errlen);
void	apps_close(struct apps *a);
/* The inotify fd to watch (-1 when none); apps_reload after events. */
int	apps_fd(struct apps *a);
/* Drain inotify; 1 if something changed.  */
int	apps_drain(struct apps *a);
/* Re-read every app.  0, or -1 with err (old tables kept). */
int	apps_reload(struct apps *a, char *err, size_t errlen);
/* The app answering to host (port stripped, case-insensitive), or NULL. */
struct app *apps_lookup(struct apps *a, const char *host, size_t len);
/* Whether the app's web dynos are all crashed (H10) rather than absent. */
int	apps_crashed(struct apps *a, const struct app *app);
/* Whether one of the app's web dynos is starting (its state file says so). */
int	apps_booting(struct apps *a, const struct app *app);
void	apps_dump(struct apps *a);
/* Every upstream known so far (for the keep-alive pool sweep). */
struct upstream **apps_upstreams(struct apps *a, size_t *n);

/* ---- dyno-route-tls.c ---- */

struct tls;
struct tls *tls_new(char *const *certs, char *const *keys, int n,
	    char *err, size_t errlen);
void	tls_free(struct tls *t);
/* A new server-side SSL object for fd (an SSL *, as void *), or NULL. */
void	*tls_accept(struct tls *t, int fd);

/* ---- dyno-route-proxy.c: a worker ---- */

struct listener {
	int		 fd;
	int		 tls;
	unsigned	 port;
};

struct worker_cfg {
	struct conf	*conf;
	struct listener	*ls;
	int		 nls;
	struct tls	*tls;
};

/* Run one worker's loop until SIGTERM drains it; returns an exit code. */
int	proxy_run(struct worker_cfg *wc);

/* A byte buffer: data is p[off..len). */
struct buf {
	char		*p;
	size_t		 off, len, cap;
};

/* A connection to a dyno; idle in its upstream's pool when owner is NULL. */
struct bsock {
	int		 fd;
	struct conn	*owner;
	struct upstream	*up;
	struct bsock	*next;		/* pool link */
	uint64_t	 idle_since;
	int		 rready;	/* epoll said readable */
	int		 wblocked;	/* last write hit EAGAIN */
	uint32_t	 events;	/* epoll interest now */
	int		 connecting;
};

enum body { B_NONE, B_LENGTH, B_CHUNKED, B_CLOSE };
enum cstate { C_HEAD, C_CONNECT, C_PROXY, C_TUNNEL, C_DRAIN };

/* What the log line and the error page of one request need. */
struct reqinfo {
	char		 method[HTTP_METHOD_MAX + 1];
	char		 path[1024];
	char		 host[256];
	char		 reqid[REQID_MAX + 1];
	char		 fwd[512];
	char		 dyno[32];
	uint64_t	 start_ms;	/* monotonic */
	uint64_t	 connect_ms, sent_ms;
	int		 connected;
	uint64_t	 bytes;		/* body bytes from dyno to client */
	int		 status;
};

/* A pipe that bytes cross between two sockets with splice(2). */
struct spipe {
	int		 fd[2];		/* -1 until first used */
	size_t		 n;		/* bytes in it */
	int		 full;		/* the last splice in found no room */
	int		 broken;	/* no pipe could be made: buffers only */
};

struct conn {
	int		 fd;
	void		*ssl;
	struct listener	*l;
	char		 ip[48];
	struct buf	 cin, up, bin, down;
	struct bsock	*b;
	struct app	*app;
	enum cstate	 state;
	int		 rready, wblocked, ssl_wantw, cin_eof;
	uint32_t	 events;
	/* the request */
	struct reqinfo	 ri;
	int		 minor, is_head, upgrade, keep, replayable, tries;
	enum body	 req_body;
	uint64_t	 req_left;
	struct http_chunker req_ck;
	int		 req_done;
	/* the response */
	int		 first_byte, resp_head_done, resp_done, dechunk, bkeep;
	enum body	 resp_body;
	uint64_t	 resp_left;
	struct http_chunker resp_ck;
	uint64_t	 last_active;
	const char	*last_err;	/* "H19" or "H21" while retrying */
	const char	*wait_code;	/* "H20"/"H99" while waiting for a dyno */
	size_t		 up_sent;	/* bytes of up.p already sent */
	struct spipe	 sdown, sup;	/* dyno to client, client to dyno */
	int		 sent, reused, logged, closed, beof, shut;
	uint64_t	 connect_start;
	uint64_t	 head_start;	/* a head under way since; 0: idle */
	struct ipslot	*ips;		/* the client address's count */
	struct conn	*next, *prev;
};

/* ---- dyno-route-msg.c: heads we write, pages, log lines ---- */

/* Make room for n more bytes (compacting, growing up to max). 0 or -1. */
int	buf_reserve(struct buf *b, size_t n, size_t max);
void	buf_append(struct buf *b, const char *p, size_t n);

/* Fill c->ri from a parsed request and write the dyno's head into c->up. */
int	msg_request(struct conn *c, const struct http_msg *m, size_t headlen,
	    int64_t now_wall_ms);
/* Write the client's head for a parsed response into c->down. */
int	msg_response(struct conn *c, const struct http_msg *m);
/* Queue the router's own error page for code (or NULL and a status). */
void	msg_error_page(struct conn *c, int status, const char *code);
/* Send the router log line of the finished request. */
void	msg_log(struct logclient *lc, const struct conn *c, const char *code,
	    const char *cause, const char *sock);
/* Desc of an H-code. */
const char *msg_desc(const char *code);
/* A fresh UUID v4 into out[37]. */
void	msg_uuid(char out[37]);

#endif
