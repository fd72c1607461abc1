/* SPDX-License-Identifier: ISC */
/*
 * dyno-route: one worker: its loop and events, accepting, per-address
 * limits, timeouts and the sweep, signals, setup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"
#include "logclient.h"

#define SWEEP_MS	100
#define LINGER_MS	2000	/* reading a closing client's leftovers */
#define ACCEPT_PAUSE_MS	100	/* no accepting this long when fds run out */

/* ---- connections per client address ---- */

/* Open connections of one client address: IPv4, or an IPv6 /64. */
struct ipslot {
	unsigned char	 key[16];
	unsigned	 n;
	struct ipslot	*next;
};

/* IPv4 as v4-mapped; IPv6 by its /64, what one subscriber is given. */
static void
ip_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		memcpy(key, &s6->sin6_addr, 16);
	else
		memcpy(key, &s6->sin6_addr, 8);
}

static struct ipslot **
ip_bucket(struct worker *w, const unsigned char key[16])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return &w->ipt[h & (IP_BUCKETS - 1)];
}

/* The address's slot, made when new; NULL only without memory. */
static struct ipslot *
ip_get(struct worker *w, const unsigned char key[16])
{
	struct ipslot **bp = ip_bucket(w, key), *s;

	for (s = *bp; s != NULL; s = s->next)
		if (memcmp(s->key, key, 16) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	memcpy(s->key, key, 16);
	s->next = *bp;
	*bp = s;
	return s;
}

/* One connection fewer; the slot goes with its last one. */
static void
ip_put(struct worker *w, struct ipslot *s)
{
	struct ipslot **pp;

	if (s == NULL || --s->n > 0)
		return;
	for (pp = ip_bucket(w, s->key); *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

/* ---- client connections ---- */

/* One clock read per event: reading it per byte moved showed in profiles. */
static uint64_t
tick(struct worker *w)
{
	return w->now = evloop_now_ms();
}

/* c leaves the worker's due list (h2_due). */
static void
due_unlink(struct worker *w, struct conn *c)
{
	struct conn **pp;

	for (pp = &w->due; *pp != NULL; pp = &(*pp)->due_next)
		if (*pp == c) {
			*pp = c->due_next;
			break;
		}
	c->due = 0;
}

static void
conn_free(struct worker *w, struct conn *c)
{
	if (c->due)
		due_unlink(w, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	ip_put(w, c->ips);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	splice_close(&c->sdown);
	splice_close(&c->sup);
	free(c->cin.p);
	free(c->up.p);
	free(c->bin.p);
	free(c->down.p);
	free(c);
	if (w->draining && w->nconns == 0)
		evloop_stop(w->ev);
}

/*
 * The TLS handshake, before any request byte: ALPN then says whether the
 * connection speaks HTTP/2 or HTTP/1.x.  1 when it is over.
 */
static int
handshake(struct worker *w, struct conn *c)
{
	uint32_t want = EPOLLIN;
	int r, wantw;

	if ((r = tls_handshake(c->ssl, &wantw)) == 0) {
		if (wantw)
			want |= EPOLLOUT;
		if (want != c->events && evloop_mod_fd(w->ev, c->fd,
		    want) == 0)
			c->events = want;
		return 0;
	}
	c->hs_done = 1;
	c->rready = 1;
	if (r == -1 || (tls_alpn_h2(c->ssl) && h2_start(w, c) == -1)) {
		proxy_close(w, c);
		return 1;
	}
	return 1;
}

static void	service(struct worker *, struct conn *);

/* The HTTP/2 connections whose streams moved in the round just over. */
static void
h2_due(struct evloop *ev, void *arg)
{
	struct worker *w = arg;
	struct conn *c;

	(void)ev;
	(void)tick(w);
	w->due_armed = 0;
	while ((c = w->due) != NULL) {
		w->due = c->due_next;
		c->due = 0;
		service(w, c);
	}
}

/*
 * A stream's bytes wake its connection (frames to send) once the round
 * of events is over: one pump and one SSL_write for all the streams whose
 * dynos answered in it, not one each.
 */
static void
h2_later(struct worker *w, struct conn *c)
{
	if (c->due)
		return;
	if (!w->due_armed) {
		if (evloop_timer(w->ev, 0, h2_due, w) == NULL) {
			service(w, c);
			return;
		}
		w->due_armed = 1;
	}
	c->due = 1;
	c->due_next = w->due;
	w->due = c;
}

/* Move c's bytes as far as they go; free it once it is closed. */
static void
service(struct worker *w, struct conn *c)
{
	if (c->sio != NULL) {
		h2_later(w, h2_stream_pump(w, c));
		return;
	}
	if (c->ssl != NULL && !c->hs_done && !c->closed && !handshake(w, c))
		return;
	if (c->h2 != NULL ? h2_pump(w, c) : proxy_pump(w, c))
		conn_free(w, c);
}

static void
backend_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct bsock *b = arg;
	struct conn *c = b->owner;
	struct worker *w = b->w;

	(void)tick(w);
	(void)ev;
	(void)fd;
	if (c == NULL) {
		pool_remove(w, b);
		pool_close(w, b);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		b->rready = 1;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		b->wblocked = 0;
	if (b->connecting) {
		b->rready = 0;
		proxy_connected(w, c);
	}
	service(w, c);
}

static void
client_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;

	(void)tick(w);
	(void)ev;
	(void)fd;
	if ((events & (EPOLLHUP | EPOLLERR)) && c->state != C_DRAIN &&
	    c->state != C_HEAD) {
		proxy_client_gone(w, c);
		conn_free(w, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->rready = 1;
	if (events & EPOLLOUT) {
		c->wblocked = 0;
		c->ssl_wantw = 0;
		if (c->ssl != NULL)
			c->rready = 1;
	}
	service(w, c);
}

/* ---- accepting ---- */

static void
peer_ip(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)size);
	else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
		    (socklen_t)size);
	else
		inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)size);
}

static void
conn_new(struct worker *w, struct listener *l, int fd,
    const struct sockaddr_storage *ss, struct ipslot *ips)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (l->tls && (c->ssl = tls_accept(w->wc->tls, fd)) == NULL) ||
	    evloop_add_fd(w->ev, fd, EPOLLIN, client_ev, c) == -1) {
		if (c != NULL && c->ssl != NULL)
			SSL_free(c->ssl);
		free(c);
		close(fd);
		ip_put(w, ips);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->w = w;
	c->l = l;
	c->sdown.fd[0] = c->sdown.fd[1] = -1;
	c->sup.fd[0] = c->sup.fd[1] = -1;
	c->events = EPOLLIN;
	c->last_active = w->now;
	/* The first head is on the clock from the accept (and TLS). */
	c->head_start = c->last_active;
	c->ips = ips;
	peer_ip(ss, c->ip, sizeof(c->ip));
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
}

/* What a refused client gets: no read, one send, one close. */
static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";

static void
refuse(struct worker *w, int fd, const struct sockaddr_storage *ss,
    const char *why)
{
	char ip[48];

	(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	w->refused++;
	peer_ip(ss, ip, sizeof(ip));
	diag_warn_ratelimited(2, 10000, "%s: %s; connections refused with "
	    "503: %llu so far", ip, why, (unsigned long long)w->refused);
}

/*
 * The client address's slot if it may have one more connection (both
 * limits of dyno.conf's [router]); else the connection is refused.
 */
static struct ipslot *
admit_conn(struct worker *w, int fd, const struct sockaddr_storage *ss)
{
	const struct conf *cf = w->conf;
	unsigned char key[16];
	struct ipslot *ips;

	if (w->nconns >= cf->max_connections) {
		refuse(w, fd, ss, "max_connections reached");
		return NULL;
	}
	ip_key(ss, key);
	if ((ips = ip_get(w, key)) == NULL) {
		close(fd);
		return NULL;
	}
	if (cf->max_conns_per_ip > 0 && ips->n >= cf->max_conns_per_ip) {
		refuse(w, fd, ss, "max_connections_per_ip reached");
		return NULL;
	}
	ips->n++;
	return ips;
}

static void
resume_accepting(struct evloop *ev, void *arg)
{
	struct worker *w = arg;
	int i;

	w->accept_paused = 0;
	if (w->draining)
		return;
	if (w->reserve_fd == -1)
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < w->wc->nls; i++)
		(void)evloop_mod_fd(ev, w->wc->ls[i].fd, EPOLLIN);
}

static void
pause_accepting(struct worker *w)
{
	int i;

	if (w->accept_paused ||
	    evloop_timer(w->ev, ACCEPT_PAUSE_MS, resume_accepting, w) == NULL)
		return;
	w->accept_paused = 1;
	for (i = 0; i < w->wc->nls; i++)
		(void)evloop_mod_fd(w->ev, w->wc->ls[i].fd, 0);
}

/*
 * accept failed for want of fds or kernel memory.  The listening socket
 * is level-triggered, so just returning brings the same event straight
 * back: a worker at 97% CPU serving no one.  The reserve fd is given up to
 * take the connection and close it (the client learns at once instead of
 * waiting in the backlog); when even that fails, accepting pauses for
 * ACCEPT_PAUSE_MS.  Returns whether to go on accepting.
 */
static int
accept_failed(struct worker *w, int lfd, int err)
{
	int cfd, e;

	if ((err == EMFILE || err == ENFILE) && w->reserve_fd != -1) {
		close(w->reserve_fd);
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		e = errno;
		if (cfd != -1)
			close(cfd);
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (cfd == -1 && (e == EAGAIN || e == EWOULDBLOCK))
			return 0;
		if (cfd != -1) {
			w->shed++;
			diag_warn_ratelimited(1, 10000, "accept: %s; new "
			    "connections closed at once: %llu so far",
			    strerror(err), (unsigned long long)w->shed);
			if (w->reserve_fd != -1)
				return 1;
		}
	}
	diag_warn_ratelimited(1, 10000, "accept: %s; pausing for %d ms",
	    strerror(err), ACCEPT_PAUSE_MS);
	pause_accepting(w);
	return 0;
}

static void
accept_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct worker *w = arg;
	struct listener *l = NULL;
	struct sockaddr_storage ss;
	struct ipslot *ips;
	socklen_t sl;
	int cfd, i;

	(void)tick(w);
	(void)ev;
	(void)events;
	for (i = 0; i < w->wc->nls && l == NULL; i++)
		if (w->wc->ls[i].fd == fd)
			l = &w->wc->ls[i];
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (cfd == -1 && !accept_failed(w, fd, errno))
			return;
		if (cfd != -1 && (ips = admit_conn(w, cfd, &ss)) != NULL)
			conn_new(w, l, cfd, &ss, ips);
	}
}

/* ---- timeouts, shutdown, signals ---- */

static void
timeout_proxy(struct worker *w, struct conn *c, uint64_t now)
{
	const struct conf *cf = w->conf;
	uint64_t base;

	if (!c->req_done) {
		if (now - c->last_active >= cf->idle_timeout_ms) {
			c->ri.status = 499;
			proxy_log_done(w, c, "H28", NULL, NULL);
			proxy_close(w, c);
		}
	} else if (c->resp == R_WAIT) {
		base = c->sent ? c->ri.sent_ms : c->last_active;
		if (now - base >= cf->response_timeout_ms)
			proxy_fail(w, c, "H12", 503, NULL, NULL);
	} else if (now - c->last_active >= cf->idle_timeout_ms)
		proxy_fail(w, c, "H15", 503, NULL, NULL);
}

/* A request waiting for a dyno: try again once there is one. */
static void
timeout_wait(struct worker *w, struct conn *c, uint64_t now)
{
	if (now - c->ri.start_ms >= pool_connect_budget(w)) {
		proxy_fail(w, c, c->wait_code, 503, NULL, NULL);
		return;
	}
	if (!pool_any_ready(w, c->app))
		return;
	c->wait_code = NULL;
	proxy_connect(w, c);
}

/*
 * Waiting for a head.  Between requests a kept-alive client may idle for
 * client_keepalive; once a head has begun (for the first one, from the
 * accept on) it must be whole within request_head_timeout, however it
 * trickles in: an idle timer alone restarts on every byte (slowloris).
 */
static void
timeout_head(struct worker *w, struct conn *c, uint64_t now)
{
	const struct conf *cf = w->conf;

	if (c->head_start == 0 || cf->head_timeout_ms == 0) {
		if (now - c->last_active >= cf->client_idle_ms)
			proxy_close(w, c);
		return;
	}
	if (now - c->head_start < cf->head_timeout_ms)
		return;
	w->head_timeouts++;
	diag_warn_ratelimited(3, 10000, "%s: H28 request head not whole "
	    "within request_head_timeout; 408: %llu so far", c->ip,
	    (unsigned long long)w->head_timeouts);
	c->cin.off = c->cin.len = 0;
	c->is_head = 0;
	msg_error_page(c, 408, "H28");
	proxy_transition(c, CE_CLOSE);
	c->last_active = now;
}

/* c's timeouts (a client connection's, or an HTTP/2 stream's). */
static void
timeout_conn(struct worker *w, struct conn *c, uint64_t now)
{
	const struct conf *cf = w->conf;

	switch (c->state) {
	case C_HEAD:
		timeout_head(w, c, now);
		break;
	case C_CONNECT:
		if (c->b == NULL) {
			timeout_wait(w, c, now);
			break;
		}
		if (now - c->connect_start < cf->connect_timeout_ms)
			return;
		c->ri.connect_ms = now - c->connect_start;
		pool_quarantine(w, c->b->up, "H19", c);
		pool_release(w, c, 0);
		proxy_connect(w, c);
		break;
	case C_PROXY:
		timeout_proxy(w, c, now);
		break;
	case C_TUNNEL:
		if (now - c->last_active >= cf->idle_timeout_ms)
			proxy_close(w, c);
		break;
	case C_DRAIN:
		if (now - c->last_active >= LINGER_MS)
			proxy_close(w, c);
		break;
	}
}

static void
sweep(struct evloop *ev, void *arg)
{
	struct worker *w = arg;
	struct conn *c, *next;
	uint64_t now = tick(w);

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (w->draining && now >= w->drain_deadline) {
			c->ri.status = 0;
			proxy_log_done(w, c, "H24", NULL, NULL);
			proxy_close(w, c);
		} else if (c->h2 != NULL)
			h2_sweep(w, c, now, timeout_conn);
		else
			timeout_conn(w, c, now);
		service(w, c);
	}
	pool_sweep(w, now);
	tls_sni_tick(w->wc->tls, w->apps, w->conf->root);
	if (w->draining && w->nconns == 0)
		evloop_stop(ev);
	w->sweeper = evloop_timer(ev, SWEEP_MS, sweep, w);
}

static void
start_drain(struct worker *w)
{
	struct conn *c, *next;
	int i;

	if (w->draining)
		return;
	w->draining = 1;
	w->drain_deadline = w->now + w->conf->shutdown_timeout_ms;
	for (i = 0; i < w->wc->nls; i++) {
		evloop_del_fd(w->ev, w->wc->ls[i].fd);
		close(w->wc->ls[i].fd);
	}
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		c->keep = 0;
		if (c->h2 != NULL) {
			h2_drain(w, c);
			service(w, c);
		} else if (c->state == C_HEAD && c->cin.off == c->cin.len) {
			proxy_close(w, c);
			service(w, c);
		}
	}
	pool_sweep(w, w->now);
	if (w->nconns == 0)
		evloop_stop(w->ev);
}

static void
reload(struct worker *w)
{
	struct conf nc;
	char err[512];

	if (conf_load(&nc, err, sizeof(err)) == -1)
		diag_warn("reload: %s; keeping the running configuration", err);
	else
		*w->conf = nc;
	if (apps_reload(w->apps, err, sizeof(err)) == -1)
		diag_warn("reload: %s", err);
	tls_sni_reload(w->wc->tls, w->apps, w->conf->root);
}

static void
dump(struct worker *w)
{
	struct conn *c;
	unsigned n[C_DRAIN + 1] = { 0 }, waiting = 0;

	for (c = w->conns; c != NULL; c = c->next) {
		n[c->state]++;
		waiting += c->state == C_CONNECT && c->b == NULL;
	}
	fprintf(stderr, "%s: worker %ld: %u connections (head %u, connect %u, "
	    "waiting for a dyno %u, proxy %u, tunnel %u, closing %u), "
	    "%llu bytes spliced, %u pooled, %llu refused, %llu shed, "
	    "%llu head timeouts%s\n", diag_prog(), (long)getpid(), w->nconns,
	    n[C_HEAD], n[C_CONNECT] - waiting, waiting, n[C_PROXY],
	    n[C_TUNNEL], n[C_DRAIN], (unsigned long long)w->spliced,
	    w->npooled, (unsigned long long)w->refused,
	    (unsigned long long)w->shed, (unsigned long long)w->head_timeouts,
	    w->draining ? ", draining" : "");
	apps_dump(w->apps);
}

static void
signal_ev(struct evloop *ev, int signo, void *arg)
{
	struct worker *w = arg;

	(void)tick(w);
	(void)ev;
	if (signo == SIGHUP)
		reload(w);
	else if (signo == SIGUSR1)
		dump(w);
	else
		start_drain(w);
}

static void
inotify_ev(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct worker *w = arg;
	char err[512];

	(void)tick(w);
	(void)ev;
	(void)fd;
	(void)events;
	if (!apps_drain(w->apps))
		return;
	if (apps_reload(w->apps, err, sizeof(err)) == -1)
		diag_warn("%s", err);
	tls_sni_reload(w->wc->tls, w->apps, w->conf->root);
}

static void
setup(struct worker *w, struct worker_cfg *wc)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char err[512];
	size_t i;

	w->wc = wc;
	w->conf = wc->conf;
	w->backend_ev = backend_ev;
	/* Kept for the day accept finds no fd left (accept_failed). */
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng) ||
	    w->rng == 0)
		w->rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL | 1;
	if ((w->ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "epoll");
	if ((w->apps = apps_open(w->conf->root, err, sizeof(err))) == NULL)
		diag_die(EXIT_OSERR, "%s", err);
	tls_sni_reload(wc->tls, w->apps, w->conf->root);
	w->lc = logclient_open(w->conf->rundir);
	logclient_hold(w->lc, 1);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (evloop_add_signal(w->ev, sigs[i], signal_ev, w) == -1)
			diag_die_errno(EXIT_OSERR, "signalfd");
	if (evloop_add_fd(w->ev, apps_fd(w->apps), EPOLLIN, inotify_ev,
	    w) == -1)
		diag_die_errno(EXIT_OSERR, "inotify");
	for (i = 0; i < (size_t)wc->nls; i++)
		if (evloop_add_fd(w->ev, wc->ls[i].fd, EPOLLIN, accept_ev,
		    w) == -1)
			diag_die_errno(EXIT_OSERR, "epoll");
	if ((w->sweeper = evloop_timer(w->ev, SWEEP_MS, sweep, w)) == NULL)
		diag_die_errno(EXIT_OSERR, "timer");
}

int
worker_run(struct worker_cfg *wc)
{
	struct worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		diag_die_errno(EXIT_OSERR, "worker");
	setup(w, wc);
	if (evloop_run(w->ev) == -1)
		diag_die_errno(EXIT_OSERR, "epoll_wait");
	logclient_close(w->lc);
	apps_close(w->apps);
	evloop_free(w->ev);
	free(w);
	return 0;
}
