/* SPDX-License-Identifier: ISC */
/* dyno-route: private interfaces between the router's source files. */
#ifndef DYNO_ROUTE_H
#define DYNO_ROUTE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "certstore.h"
#include "conf.h"
#include "dyno-route-http.h"
#include "evloop.h"

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
	struct certstore_domains domains; /* custom domains (dyno-domains) */
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
/* Every app known so far (present or not), for the SNI table. */
struct app **apps_list(struct apps *a, size_t *n);
/* Every upstream known so far (for the keep-alive pool sweep). */
struct upstream **apps_upstreams(struct apps *a, size_t *n);

/* ---- dyno-route-tls.c ---- */

struct tls;
struct tls *tls_new(char *const *certs, char *const *keys, int n,
	    char *err, size_t errlen);
void	tls_free(struct tls *t);
/* A new server-side SSL object for fd (an SSL *, as void *), or NULL. */
void	*tls_accept(struct tls *t, int fd);
/*
 * Before tls_new and before the workers fork: the cipher settings of cf
 * (checked: -1 with err when OpenSSL takes none of them) and the secret
 * every worker derives its session ticket keys from, so that a session
 * made by one worker resumes on any other.
 */
int	tls_setup(const struct conf *cf, char *err, size_t errlen);
/* Rebuild the SNI table from every app's store after apps_reload. */
void	tls_sni_reload(struct tls *t, struct apps *a, const char *root);
/*
 * Rebuild it when a certificate it chose expires or one it passed over
 * becomes valid (sni_due); cheap otherwise.  From the sweep timer.
 */
void	tls_sni_tick(struct tls *t, struct apps *a, const char *root);
/*
 * ssl's records as read(2) and send(2) would: the bytes; for tls_read 0
 * when the peer closed; -1 with EAGAIN when it must wait (*wantw set to 1
 * when it waits to write, left alone otherwise), else -1 with ECONNRESET
 * (read) or EPIPE (write).
 */
ssize_t	tls_read(void *ssl, char *p, size_t n, int *wantw);
ssize_t	tls_write(void *ssl, const char *p, size_t n, int *wantw);
/*
 * Go on with ssl's handshake: 1 done, 0 not yet (*wantw when it waits to
 * write), -1 failed.
 */
int	tls_handshake(void *ssl, int *wantw);
/* Whether the handshake chose HTTP/2 by ALPN. */
int	tls_alpn_h2(void *ssl);

/* ---- dyno-route-sni.c: the apps' certificates by host name ---- */

struct sni;
struct sni *sni_new(void);
void	sni_free(struct sni *s);
/*
 * Make the table anew from the apps' domains and certificate stores:
 * each domain of an app gets the app's certificate certstore_pick()
 * chooses, never another app's; a domain two apps list is left out.
 * Unchanged certificate folders are not read again; a dropped certificate
 * lives on in the connections that hold it.  Never fails as a whole: a
 * broken certificate is warned about and skipped.
 */
void	sni_reload(struct sni *s, struct apps *a, const char *root);
/* Whether a certificate became valid or expired since the last reload. */
int	sni_due(const struct sni *s, time_t now);
/*
 * Give ssl (an SSL *, in the SNI callback) the certificate of the app that
 * has the SNI host name: an exact domain first, then a "*." domain.
 * 1 done; 0 the app has none for it (the default certificate, never
 * another app's); -1 no app has the name; -2 OpenSSL refused it.
 */
int	sni_use(struct sni *s, void *ssl, const char *host);

/*
 * ---- a worker: the types its files share ----
 *
 * Calls go one way: dyno-route-worker.c (events, accept, timeouts,
 * signals) -> dyno-route-proxy.c (one connection's request and response)
 * -> dyno-route-pool.c (dyno connections), dyno-route-splice.c (pipes),
 * dyno-route-acme.c (HTTP-01 answers), dyno-route-msg.c (heads, pages,
 * log lines).  A lower file answers with
 * a result its caller acts on; the dyno sockets' event handler, the
 * worker's, reaches the pool as a pointer (worker.backend_ev).
 */

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

/* A byte buffer: data is p[off..len). */
struct buf {
	char		*p;
	size_t		 off, len, cap;
};

/* A connection to a dyno; idle in its upstream's pool when owner is NULL. */
struct bsock {
	int		 fd;
	struct worker	*w;		/* for its event handler */
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

/*
 * A client connection's life; proxy_transition moves it, by the table in
 * dyno-route-proxy.c, on these events:
 *
 *            CONNECTING  CONNECTED  UPGRADED  NEXT    CLOSE
 *   HEAD     CONNECT     PROXY      -         -       DRAIN
 *   CONNECT  CONNECT     PROXY      -         -       DRAIN
 *   PROXY    CONNECT     PROXY      TUNNEL    HEAD    DRAIN
 *   TUNNEL   -           -          -         -       DRAIN
 *   DRAIN    -           -          -         -       DRAIN
 *
 * PROXY goes back to CONNECT (or takes another pooled connection) when a
 * kept-alive dyno connection died before answering and the request is
 * replayed; closing itself is not a state (conn.closed), any state may.
 */
enum cstate {
	C_HEAD,		/* reading a request head */
	C_CONNECT,	/* connecting to a dyno, or waiting for one */
	C_PROXY,	/* request and response under way */
	C_TUNNEL,	/* after a 101: bytes both ways */
	C_DRAIN		/* answered: write out, half-close, read leftovers */
};
enum cevent {
	CE_CONNECTING,	/* a dyno connection is under way, or awaited */
	CE_CONNECTED,	/* the request has a dyno connection */
	CE_UPGRADED,	/* the dyno switched protocols */
	CE_NEXT,	/* the exchange is over; the client may send another */
	CE_CLOSE	/* answered or failed: nothing more to proxy */
};

/* How far the response of the request under way is. */
enum rstate {
	R_WAIT,		/* nothing from the dyno yet */
	R_HEAD,		/* the dyno's head is coming in */
	R_BODY,		/* the head went out; the body (or tunnel) follows */
	R_DONE		/* the whole response went out or into down */
};

/*
 * Whether the dyno closed its connection, and how.  Its bytes still in
 * the buffers or the pipe go out first; then END ends a close-delimited
 * body or a tunnel, and CUT (closed or reset inside a response) is H18.
 */
enum dyno_eof { DEOF_NONE, DEOF_END, DEOF_CUT };

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

/*
 * The client side of a conn that is an HTTP/2 stream rather than a
 * socket (dyno-route-h2.c): read and write behave as on a non-blocking
 * socket (-1 with EAGAIN, or EPIPE once the stream is gone; read 0 when
 * the client reset it); end says the response is over, whole or cut.
 */
struct stream_io {
	ssize_t	(*read)(struct conn *c, char *p, size_t n);
	ssize_t	(*write)(struct conn *c, const char *p, size_t n);
	void	(*end)(struct conn *c, int whole);
};

struct h2;
struct h2s;

struct conn {
	int		 fd;		/* -1 for an HTTP/2 stream */
	struct worker	*w;		/* for its event handler */
	void		*ssl;
	int		 hs_done;	/* the TLS handshake is over */
	/* HTTP/2: the connection's session; a stream's, its I/O */
	struct h2	*h2;
	struct h2s	*h2s;
	const struct stream_io *sio;
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
	enum rstate	 resp;
	enum dyno_eof	 dyno_eof;
	int		 dechunk, bkeep;
	enum body	 resp_body;
	uint64_t	 resp_left;
	struct http_chunker resp_ck;
	uint64_t	 last_active;
	const char	*last_err;	/* "H19" or "H21" while retrying */
	const char	*wait_code;	/* "H20"/"H99" while waiting for a dyno */
	size_t		 up_sent;	/* bytes of up.p already sent */
	struct spipe	 sdown, sup;	/* dyno to client, client to dyno */
	int		 sent, reused, logged, closed, shut;
	uint64_t	 connect_start;
	uint64_t	 head_start;	/* a head under way since; 0: idle */
	struct ipslot	*ips;		/* the client address's count */
	struct conn	*next, *prev;
	struct conn	*due_next;	/* HTTP/2: in worker's due list */
	int		 due;
};

#define IP_BUCKETS	4096

/* Everything a worker owns; one per process, made by worker_run. */
struct worker {
	struct evloop	*ev;
	struct conf	*conf;
	struct apps	*apps;
	struct logclient *lc;
	struct worker_cfg *wc;
	struct conn	*conns;
	unsigned	 nconns;
	int		 draining;
	struct evtimer	*sweeper;
	int		 flush_armed;	/* a 0 ms timer will flush the log */
	/* HTTP/2 connections whose streams moved, pumped after the round */
	struct conn	*due;
	int		 due_armed;
	uint64_t	 now;		/* monotonic ms, read once per event */
	uint64_t	 spliced;	/* bytes splice(2) moved, for dump() */
	uint64_t	 drain_deadline;
	uint64_t	 rng;
	evloop_fd_fn	*backend_ev;	/* the handler of dyno sockets */
	struct http_hdr	 hdr[HTTP_MAX_HEADERS];
	struct ipslot	*ipt[IP_BUCKETS];
	int		 reserve_fd;	/* given up to shed a connection */
	int		 accept_paused;
	unsigned	 npooled;	/* idle dyno connections, all pools */
	uint64_t	 refused, shed, head_timeouts;
};

/* ---- dyno-route-worker.c: events, accept, timeouts, signals, setup ---- */

/* Run one worker's loop until SIGTERM drains it; returns an exit code. */
int	worker_run(struct worker_cfg *wc);

/* ---- dyno-route-h2.c: HTTP/2 to clients ---- */

/* A conn's timeout step (the worker's), run on each stream by h2_sweep. */
typedef void h2_timeout_fn(struct worker *w, struct conn *c, uint64_t now);

/* c finished a TLS handshake choosing h2: its session.  0, or -1. */
int	h2_start(struct worker *w, struct conn *c);
/*
 * As proxy_pump for an HTTP/2 connection: 1 when c is closed (the caller
 * frees it; its streams are gone with it), else 0.
 */
int	h2_pump(struct worker *w, struct conn *c);
/* Pump one stream; returns its connection, for the caller to pump. */
struct conn *h2_stream_pump(struct worker *w, struct conn *sc);
/* Timeouts: each stream's by fn, the connection's idle one. */
void	h2_sweep(struct worker *w, struct conn *c, uint64_t now,
	    h2_timeout_fn *fn);
/* SIGTERM: GOAWAY; the streams under way finish. */
void	h2_drain(struct worker *w, struct conn *c);

/* ---- dyno-route-proxy.c: the request/response core ---- */

/*
 * Move c's bytes as far as they go now.  Returns 1 when c is closed (the
 * caller frees it), 0 when it waits for events (its interest is set).
 */
int	proxy_pump(struct worker *w, struct conn *c);
/* Close c at once (its dyno connection too); freed after its pump. */
void	proxy_close(struct worker *w, struct conn *c);
/* Send the request's log line, once, with code (an H-code) if not NULL. */
void	proxy_log_done(struct worker *w, struct conn *c, const char *code,
	    const char *cause, const char *sock);
/* Log an H-code, answer with the router's page if nothing went out yet. */
void	proxy_fail(struct worker *w, struct conn *c, const char *code,
	    int status, const char *cause, const char *sock);
/* Move c's state on ev (table above); an impossible move drains c. */
void	proxy_transition(struct conn *c, enum cevent ev);
/* The client left before the answer: H27, 499, closed. */
void	proxy_client_gone(struct worker *w, struct conn *c);
/* Get the request a dyno connection, or fail it (H21/H99), or wait. */
void	proxy_connect(struct worker *w, struct conn *c);
/* c's dyno connection became writable: it is up, or the next try. */
void	proxy_connected(struct worker *w, struct conn *c);

/* ---- dyno-route-pool.c: picking, connecting, quarantine, the pool ---- */

enum pool_res {
	POOL_REUSED,		/* c->b is a kept-alive connection */
	POOL_CONNECTING,	/* c->b is a connection under way */
	POOL_WAIT,		/* every dyno is quarantined */
	POOL_FAILED		/* no dyno: *code says why */
};
/*
 * Pick one of the app's dynos not quarantined and take a pooled
 * connection to it or begin one; up to max_tries dynos, each refusal
 * quarantines one.
 */
enum pool_res pool_connect(struct worker *w, struct conn *c,
	    const char **code);
/*
 * c's connection under way: 1 connected (connect_ms set), 0 not yet, -1
 * refused (the dyno quarantined, the connection closed).
 */
int	pool_connected(struct worker *w, struct conn *c);
/* Whether one of the app's dynos is out of quarantine. */
int	pool_any_ready(const struct worker *w, const struct app *app);
/* How long a request may wait for a dyno (connect_wait), in ms. */
uint64_t pool_connect_budget(const struct worker *w);
/* Keep u out of picks for quarantine_ms; c->last_err = code. */
void	pool_quarantine(struct worker *w, struct upstream *u,
	    const char *code, struct conn *c);
/* Give c's dyno connection back: pooled if reuse and there is room. */
void	pool_release(struct worker *w, struct conn *c, int reuse);
/* Take b out of its pool; pool_close then closes and frees it. */
void	pool_remove(struct worker *w, struct bsock *b);
void	pool_close(struct worker *w, struct bsock *b);
/* Set b's epoll interest, if it changed. */
void	pool_set_events(struct worker *w, struct bsock *b, uint32_t want);
/* Close pooled connections idle past keepalive_timeout (all if draining). */
void	pool_sweep(struct worker *w, uint64_t now);

/* ---- dyno-route-splice.c: tunnels and long bodies skip the buffers ---- */

enum splice_res {
	SPLICE_IDLE,		/* nothing moved */
	SPLICE_MOVED,		/* bytes moved */
	SPLICE_CLIENT_GONE,	/* writing to the client failed */
	SPLICE_EOF,		/* the dyno closed */
	SPLICE_RESET,		/* the dyno reset */
	SPLICE_BODY_END		/* the last byte of a sized body went in */
};
/* Whether dyno (client) bytes go by the pipe now. */
int	splice_down_by_pipe(const struct conn *c);
int	splice_up_by_pipe(const struct conn *c);
/* Dyno to pipe to client: what happened. */
enum splice_res splice_down(struct worker *w, struct conn *c);
/* Client to pipe to dyno: whether anything moved. */
int	splice_up(struct worker *w, struct conn *c);
/* Close a pipe (a no-op when none was made). */
void	splice_close(struct spipe *sp);

/* ---- dyno-route-acme.c: HTTP-01 answers on plain HTTP ---- */

/*
 * Answer GET/HEAD /.well-known/acme-challenge/TOKEN from the challenge
 * store (200 with the key authorization, 404 otherwise), before any Host
 * lookup, consuming the head (hl bytes).  1 when answered (the caller
 * closes c), 0 when the request is not one (TLS listeners never are).
 */
int	acme_answer(struct worker *w, struct conn *c, const struct http_msg *m,
	    size_t hl);

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
