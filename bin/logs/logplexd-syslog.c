/* SPDX-License-Identifier: ISC */
/* syslog:// and syslog+tls:// drains: octet-counted RFC 5424 over TCP/TLS. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "logframe.h"
#include "logplexd.h"

#define OUT_CAP		(32 * 1024)	/* ~4 KiB writes in logplex; more here */
#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	60000
#define PUMP_AT		256		/* queued lines that start a write at once */
#define SHRINK_TRIES	10		/* logplex's failures before degrading */
#define FWD_BACKOFF_MAX_MS 2000	/* a forward: the owner is back soon */

enum sstate { S_WAIT, S_RESOLVING, S_CONNECTING, S_HANDSHAKE, S_UP };

struct lpd_tls {
	gnutls_certificate_credentials_t cred;
};

struct sys {
	struct drain	*d;
	enum sstate	 st;
	int		 fd;
	struct resolve	*rs;		/* while S_RESOLVING */
	struct addrinfo	*addrs, *next;	/* while S_CONNECTING */
	gnutls_session_t tls;
	unsigned	 failures;
	struct evtimer	*timer;
	struct evtimer	*aging;		/* idle and TTL checks while up */
	uint64_t	 up_since, last_write, idle_ms;
	int		 recycle;	/* close once out is written */
	size_t		 outoff, outlen;
	unsigned	 outmsgs;	/* messages in out, lost on a failure */
	int		 want_out;	/* EPOLLOUT registered */
	int		 blocked;	/* the last write hit EAGAIN */
	char		 out[OUT_CAP];
};

static void	sys_connect(struct evloop *, void *);
static void	connect_next(struct sys *);
static void	sys_pump(struct sys *);
static void	want_out(struct sys *, int);

static const char *
sys_state(const struct drain *d)
{
	static const char *names[] = { "waiting", "resolving", "connecting",
	    "handshake", "up" };

	return names[((const struct sys *)d->impl)->st];
}

static void
addrs_free(struct sys *s)
{
	if (s->addrs != NULL)
		freeaddrinfo(s->addrs);
	s->addrs = s->next = NULL;
}

static void
sys_close(struct sys *s)
{
	evloop_timer_cancel(s->d->lpd->ev, s->aging);
	s->aging = NULL;
	s->recycle = 0;
	if (s->tls != NULL) {
		gnutls_deinit(s->tls);
		s->tls = NULL;
	}
	if (s->fd != -1) {
		evloop_del_fd(s->d->lpd->ev, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	s->want_out = 0;
	s->blocked = 0;
}

/* Drop the connection and try again later, backing off exponentially. */
static void
sys_fail(struct sys *s, const char *what)
{
	struct drain *d = s->d;
	uint64_t ms;

	diag_warn_ratelimited(4, 10000, "%s: drain %s: %s", d->app->name,
	    d->ent.url, what);
	sys_close(s);
	addrs_free(s);
	/* Frames cut off mid-write are lost; the next L10 counts them. */
	drain_lost(d, s->outmsgs);
	s->outoff = s->outlen = s->outmsgs = 0;
	s->st = S_WAIT;
	ms = (uint64_t)BACKOFF_MIN_MS << (s->failures < 7 ? s->failures : 7);
	if (ms > (d->forward ? FWD_BACKOFF_MAX_MS : BACKOFF_MAX_MS))
		ms = d->forward ? FWD_BACKOFF_MAX_MS : BACKOFF_MAX_MS;
	s->failures++;
	/*
	 * heroku.md 4.6: a long outage keeps only the newest few messages.
	 * Not a forward: its full queue is what the owner gets back.
	 */
	if (s->failures > SHRINK_TRIES && d->dropped > 0 && !d->forward)
		drain_degrade(d);
	if (s->timer == NULL)
		s->timer = evloop_timer(d->lpd->ev, ms, sys_connect, s);
}

/*
 * A clean close for an idle or old connection (heroku.md 4.6): nothing is
 * lost, and queued lines, now or later, open a new one.
 */
static void
sys_recycle(struct sys *s)
{
	diag_verbose("%s: drain %s: closing an idle or old connection",
	    s->d->app->name, s->d->ent.url);
	sys_close(s);
	s->st = S_WAIT;
	if (s->d->queue.len > 0 && s->timer == NULL)
		s->timer = evloop_timer(s->d->lpd->ev, 0, sys_connect, s);
}

static void
on_aging(struct evloop *ev, void *arg)
{
	struct sys *s = arg;
	const struct conf *c = &s->d->lpd->conf;
	uint64_t now = evloop_now_ms(), idle_at, ttl_at, next;

	s->aging = NULL;
	idle_at = s->last_write + s->idle_ms;
	ttl_at = s->up_since + c->drain_ttl_ms;
	if (now >= idle_at || now >= ttl_at) {
		/* Half-written frames finish first (sys_pump closes then). */
		if (s->outoff == s->outlen)
			return sys_recycle(s);
		s->recycle = 1;
		return;
	}
	next = idle_at < ttl_at ? idle_at : ttl_at;
	s->aging = evloop_timer(ev, next - now, on_aging, s);
}

static void
sys_up(struct sys *s)
{
	s->st = S_UP;
	s->failures = 0;
	s->up_since = s->last_write = evloop_now_ms();
	s->idle_ms = drain_fuzz_ms(s->d->lpd->conf.syslog_idle_ms);
	drain_restore(s->d);
	/* Checked now and then, not re-armed on every write. */
	s->aging = evloop_timer(s->d->lpd->ev, s->idle_ms <
	    s->d->lpd->conf.drain_ttl_ms ? s->idle_ms :
	    s->d->lpd->conf.drain_ttl_ms, on_aging, s);
	diag_verbose("%s: drain %s: connected", s->d->app->name, s->d->ent.url);
	sys_pump(s);
}

/* L14 in the app's own log, as Heroku does, then retry later. */
static void
sys_l14(struct sys *s)
{
	char text[DRAINS_URL_MAX + 100];
	struct drain *d = s->d;

	snprintf(text, sizeof(text), "Error L14 (certificate validation): "
	    "error=\"bad certificate\" uri=\"syslog+tls://%s:%u/\"",
	    d->url.host, d->url.port);
	diag_warn("%s: drain %s: %s", d->app->name, d->ent.token, text);
	drain_notice(d, text);
}

static void
sys_handshake(struct sys *s)
{
	int rc;

	rc = gnutls_handshake(s->tls);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		want_out(s, gnutls_record_get_direction(s->tls));
		return;
	}
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	    rc == GNUTLS_E_CERTIFICATE_ERROR) {
		sys_l14(s);
		return sys_fail(s, "TLS: bad certificate");
	}
	if (rc < 0)
		return sys_fail(s, gnutls_strerror(rc));
	sys_up(s);
}

static int
tls_start(struct sys *s)
{
	struct drain *d = s->d;
	struct lpd_tls *t = d->lpd->tls;

	if (gnutls_init(&s->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		return -1;
	if (gnutls_set_default_priority(s->tls) < 0 ||
	    gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE, t->cred) < 0)
		return -1;
	/* SNI only for names; the certificate is checked against either. */
	if (strspn(d->url.host, "0123456789.:") != strlen(d->url.host))
		gnutls_server_name_set(s->tls, GNUTLS_NAME_DNS, d->url.host,
		    strlen(d->url.host));
	gnutls_session_set_verify_cert(s->tls, d->url.host, 0);
	gnutls_transport_set_int(s->tls, s->fd);
	gnutls_handshake_set_timeout(s->tls, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
	return 0;
}

/* Read and discard; 0 when the receiver closed or failed. */
static int
drain_input(struct sys *s, int fd, char *buf, size_t size)
{
	ssize_t n;

	if (s->tls != NULL) {
		n = gnutls_record_recv(s->tls, buf, size);
		return n > 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED;
	}
	n = read(fd, buf, size);
	return n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR));
}

static void
on_sys(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct sys *s = arg;
	char junk[4096];
	int err = 0;
	socklen_t len = sizeof(err);

	(void)ev;
	if (s->st == S_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err) {
			if (s->next == NULL)
				return sys_fail(s, strerror(err ? err : errno));
			sys_close(s);
			return connect_next(s);
		}
		addrs_free(s);
		if (s->d->url.kind == DRAIN_SYSLOG)
			return sys_up(s);
		s->st = S_HANDSHAKE;
		if (tls_start(s) == -1)
			return sys_fail(s, "TLS setup failed");
	}
	if (s->st == S_HANDSHAKE)
		return sys_handshake(s);
	/* Receivers say nothing; input means close or garbage. */
	if ((events & EPOLLIN) && !drain_input(s, fd, junk, sizeof(junk)))
		return sys_fail(s, "connection closed by the receiver");
	if (events & (EPOLLERR | EPOLLHUP))
		return sys_fail(s, "connection lost");
	sys_pump(s);
}

/* Try the addresses in turn (localhost may be ::1, then 127.0.0.1). */
static void
connect_next(struct sys *s)
{
	struct evloop *ev = s->d->lpd->ev;
	struct addrinfo *a;
	int fd, e = EADDRNOTAVAIL;

	while ((a = s->next) != NULL) {
		s->next = a->ai_next;
		if ((fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1) {
			e = errno;
			continue;
		}
		if ((connect(fd, a->ai_addr, a->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) ||
		    evloop_add_fd(ev, fd, EPOLLOUT, on_sys, s) == -1) {
			e = errno;
			close(fd);
			continue;
		}
		s->fd = fd;
		s->st = S_CONNECTING;
		s->want_out = 1;
		return;
	}
	sys_fail(s, strerror(e));
}

static void
connect_to(struct sys *s, struct addrinfo *res)
{
	addrs_free(s);
	s->addrs = s->next = res;
	connect_next(s);
}

static void
on_resolved(void *arg, int rc, struct addrinfo *res)
{
	struct sys *s = arg;

	s->rs = NULL;
	if (rc != 0)
		return sys_fail(s, gai_strerror(rc));
	connect_to(s, res);
}

static void
sys_connect(struct evloop *ev, void *arg)
{
	struct sys *s = arg;
	struct addrinfo *res;

	s->timer = NULL;
	/* Addresses connect at once; names are looked up off the loop. */
	if (resolve_numeric(s->d->url.host, s->d->url.port, &res) == 0)
		return connect_to(s, res);
	if ((s->rs = resolve_start(ev, s->d->url.host, s->d->url.port,
	    on_resolved, s)) == NULL)
		return sys_fail(s, errno == EAGAIN ? "too many name lookups "
		    "running" : strerror(errno));
	s->st = S_RESOLVING;
}

/*
 * A forward's token for the line's source: the owner takes the app and
 * the source from it.  NULL when the app has none for that source.
 */
static const char *
fwd_token(const struct drain *d, const struct logmsg *v)
{
	int k = v->source.len == 6 && memcmp(v->source.p, "heroku", 6) == 0;

	return d->fwd_token[k][0] != '\0' ? d->fwd_token[k] : NULL;
}

/* m's frame into buf: the drain's format, or an input frame (forward). */
static size_t
frame(struct drain *d, char *buf, size_t size, const struct lmsg *m,
    int count)
{
	struct logmsg v;
	const char *tok;

	lmsg_view(m, &v);
	if (!d->forward)
		return logframe_syslog(buf, size, &v, d->ent.token);
	if ((tok = fwd_token(d, &v)) == NULL) {
		if (!count)
			return 0;
		/* Said and counted (L10), never dropped in silence. */
		d->no_token++;
		drain_lost(d, 1);
		diag_warn_ratelimited(9, 10000, "%s: no %.*s input token: line "
		    "not forwarded (%llu so far)", d->app->name,
		    (int)v.source.len, v.source.p, d->no_token);
		return 0;
	}
	return logframe_input(buf, size, &v, tok);
}

/* Frame queued messages into the empty out, an L10 first when some were lost. */
static void
sys_fill(struct sys *s)
{
	struct drain *d = s->d;
	struct lmsg *m;
	size_t n;

	if ((m = drain_take_l10(d)) != NULL) {
		n = frame(d, s->out, OUT_CAP, m, 0);
		s->outlen = n <= OUT_CAP ? n : 0;
		lmsg_unref(m);
	}
	while ((m = lring_at(&d->queue, 0)) != NULL) {
		n = frame(d, s->out + s->outlen, OUT_CAP - s->outlen, m, 1);
		if (n > OUT_CAP - s->outlen)
			return;
		if (n > 0) {
			s->outlen += n;
			s->outmsgs++;
			d->sent++;
		}
		lmsg_unref(lring_pop(&d->queue));
	}
}

static void
want_out(struct sys *s, int on)
{
	if (s->fd != -1 && s->want_out != on)
		evloop_mod_fd(s->d->lpd->ev, s->fd, on ? EPOLLIN | EPOLLOUT :
		    EPOLLIN);
	s->want_out = on;
}

static void
blocked(struct sys *s)
{
	s->blocked = 1;
	want_out(s, 1);
}

/* Write until the socket is full or nothing is queued. */
static void
sys_pump(struct sys *s)
{
	ssize_t n;

	for (;;) {
		if (s->outoff == s->outlen) {
			if (s->recycle)
				return sys_recycle(s);
			s->outoff = s->outlen = s->outmsgs = 0;
			sys_fill(s);
			if (s->outlen == 0)
				break;
		}
		if (s->tls != NULL) {
			n = gnutls_record_send(s->tls, s->out + s->outoff,
			    s->outlen - s->outoff);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return blocked(s);
			if (n < 0)
				return sys_fail(s, gnutls_strerror((int)n));
		} else {
			n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return blocked(s);
			if (n == -1)
				return sys_fail(s, strerror(errno));
		}
		s->outoff += (size_t)n;
		s->last_write = evloop_now_ms();
	}
	s->blocked = 0;
	want_out(s, 0);
}

static void
sys_kick(struct drain *d)
{
	struct sys *s = d->impl;

	/* Closed while idle: the first new line opens a connection. */
	if (s->st == S_WAIT && s->timer == NULL && s->fd == -1)
		s->timer = evloop_timer(d->lpd->ev, 0, sys_connect, s);
	if (s->st != S_UP)
		return;
	/*
	 * Writes happen in batches: when epoll says so, or right here once a
	 * batch is queued, so a fast producer cannot overrun the queue
	 * between two turns of the loop.  A full socket waits for EPOLLOUT.
	 */
	if (d->queue.len >= PUMP_AT && !s->blocked)
		sys_pump(s);
	else if (!s->want_out)
		want_out(s, 1);
}

static int
sys_busy(const struct drain *d)
{
	const struct sys *s = d->impl;

	return d->queue.len > 0 || s->outoff < s->outlen;
}

static int
sys_start(struct drain *d)
{
	struct sys *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->d = d;
	s->fd = -1;
	d->impl = s;
	if ((s->timer = evloop_timer(d->lpd->ev, 0, sys_connect, s)) == NULL) {
		free(s);
		return -1;
	}
	return 0;
}

static void
sys_stop(struct drain *d)
{
	struct sys *s = d->impl;

	evloop_timer_cancel(d->lpd->ev, s->timer);
	resolve_cancel(s->rs);
	sys_close(s);
	addrs_free(s);
	free(s);
}

const struct drain_ops syslog_ops = {
	sys_start, sys_kick, sys_busy, sys_stop, sys_state,
};

int
tls_init(struct lpd *l)
{
	struct lpd_tls *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	l->tls = t;
	if (gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		errno = ENOMEM;
		return -1;
	}
	/* drain_ca_file replaces the system store, as CURLOPT_CAINFO does. */
	if (l->conf.drain_ca_file[0] == '\0')
		(void)gnutls_certificate_set_x509_system_trust(t->cred);
	else {
		rc = gnutls_certificate_set_x509_trust_file(t->cred,
		    l->conf.drain_ca_file, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			errno = rc == 0 ? EINVAL : ENOENT;
			return -1;
		}
	}
	return 0;
}

void
tls_free(struct lpd *l)
{
	if (l->tls == NULL)
		return;
	if (l->tls->cred != NULL)
		gnutls_certificate_free_credentials(l->tls->cred);
	free(l->tls);
	l->tls = NULL;
}
