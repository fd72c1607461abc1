/* SPDX-License-Identifier: ISC */
/* http:// and https:// drains: logplex-1 batches through curl's multi socket API. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "logframe.h"
#include "logplexd.h"

#define TARGET_BYTES	102400	/* http_drain_target_bytes */
#define TRIES		3	/* 1 + http_frame_retries */
#define CONNECT_MS	3000
#define REQUEST_MS	5000
#define RETRY_MIN_MS	100
#define RETRY_MAX_MS	5000
#define USER_AGENT	"Logplex/v1"

/*
 * A socket curl opened.  curl only closes a pooled connection when it
 * next looks at the pool, so logplexd closes idle ones itself: it shuts
 * the socket down, the receiver sees the close at once, and curl finds it
 * dead and closes the fd on its next request.
 */
struct hsock {
	struct hsock	*next;
	struct lpd_http	*x;
	int		 fd;
	uint64_t	 opened;	/* ms, for drain_max_ttl */
	struct evtimer	*idle;		/* armed while curl does not watch it */
};

struct lpd_http {
	struct lpd	*l;
	CURLM		*multi;
	struct evtimer	*timer;
	struct hsock	*socks;
};

/* One drain: at most one batch at a time, kept until delivered or dropped. */
struct hd {
	struct drain	*d;
	CURL		*easy;
	struct curl_slist *hdrs;
	struct evtimer	*timer;		/* the next send or retry */
	int		 inflight;
	char		*body;
	size_t		 len, cap;
	unsigned	 nmsg;		/* frames in body, L10 included */
	unsigned long long nlost;	/* losses the body's L10 reports */
	unsigned	 tries, failures;
	uint64_t	 last_ok;	/* a delivery, or the start (ms) */
	char		 frame_id[33];
	char		 errbuf[CURL_ERROR_SIZE];
};

static void	hd_send(struct evloop *, void *);
static curl_socket_t open_sock(void *, curlsocktype, struct curl_sockaddr *);
static int	close_sock(void *, curl_socket_t);

static const char *
hd_state(const struct drain *d)
{
	const struct hd *h = d->impl;

	return h->inflight ? "posting" : h->len > 0 ? "retrying" : "idle";
}

static int
body_add(struct hd *h, const struct logmsg *v)
{
	size_t need = logframe_http(NULL, 0, v);
	char *nb;

	if (h->len + need > h->cap) {
		size_t ncap = h->cap ? h->cap : TARGET_BYTES + 16384;
		while (ncap < h->len + need)
			ncap *= 2;
		if ((nb = realloc(h->body, ncap)) == NULL)
			return -1;
		h->body = nb;
		h->cap = ncap;
	}
	h->len += logframe_http(h->body + h->len, h->cap - h->len, v);
	h->nmsg++;
	return 0;
}

/* A new batch from the queue: L10 first, then up to ~100 KiB. */
static int
batch(struct hd *h)
{
	struct drain *d = h->d;
	unsigned char r[16];
	struct logmsg v;
	struct lmsg *m;
	int i;

	h->len = h->nmsg = h->tries = 0;
	if (d->queue.len == 0)
		return -1;
	h->nlost = d->dropped;
	if ((m = drain_take_l10(d)) != NULL) {
		lmsg_view(m, &v);
		i = body_add(h, &v);
		lmsg_unref(m);
		if (i == -1)
			return -1;
	}
	while (h->len < TARGET_BYTES && (m = lring_at(&d->queue, 0)) != NULL) {
		lmsg_view(m, &v);
		if (body_add(h, &v) == -1)
			break;
		lmsg_unref(lring_pop(&d->queue));
	}
	/* Like logplex's MD5 ids: 32 uppercase hex digits, kept on retries. */
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (i = 0; i < 16; i++)
		snprintf(h->frame_id + 2 * i, 3, "%02X", r[i]);
	return h->nmsg > 0 ? 0 : -1;
}

static int
headers(struct hd *h)
{
	char line[128];

	curl_slist_free_all(h->hdrs);
	h->hdrs = NULL;
	snprintf(line, sizeof(line), "Logplex-Msg-Count: %u", h->nmsg);
	h->hdrs = curl_slist_append(h->hdrs, line);
	snprintf(line, sizeof(line), "Logplex-Frame-Id: %s", h->frame_id);
	h->hdrs = curl_slist_append(h->hdrs, line);
	snprintf(line, sizeof(line), "Logplex-Drain-Token: %s", h->d->ent.token);
	h->hdrs = curl_slist_append(h->hdrs, line);
	h->hdrs = curl_slist_append(h->hdrs,
	    "Content-Type: application/logplex-1");
	/* No "Expect: 100-continue" round trip before each batch. */
	h->hdrs = curl_slist_append(h->hdrs, "Expect:");
	return h->hdrs == NULL ? -1 : 0;
}

static int
post(struct hd *h)
{
	struct lpd *l = h->d->lpd;
	CURL *e = h->easy;

	if (headers(h) == -1)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, h->d->ent.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->len);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)REQUEST_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (l->conf.drain_ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, l->conf.drain_ca_file);
	/* heroku.md 4.5: idle connections go, and none lives past the TTL. */
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN,
	    (long)((l->conf.http_idle_ms + 999) / 1000));
	curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN,
	    (long)(l->conf.drain_ttl_ms < 1000 ? 1 : l->conf.drain_ttl_ms / 1000));
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, l->http);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_sock);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, l->http);
	h->errbuf[0] = '\0';
	h->tries++;
	if (curl_multi_add_handle(l->http->multi, e) != CURLM_OK)
		return -1;
	h->inflight = 1;
	return 0;
}

static void
hd_later(struct hd *h, uint64_t ms)
{
	if (h->timer == NULL)
		h->timer = evloop_timer(h->d->lpd->ev, ms, hd_send, h);
}

static void
hd_send(struct evloop *ev, void *arg)
{
	struct hd *h = arg;

	(void)ev;
	h->timer = NULL;
	if (h->inflight)
		return;
	if (h->len == 0 && batch(h) == -1)
		return;
	if (post(h) == -1) {
		diag_warn("%s: drain %s: cannot start a request", h->d->app->name,
		    h->d->ent.token);
		hd_later(h, RETRY_MAX_MS);
	}
}

/* Delivered, or given up on: the batch goes; start the next one. */
static void
finish(struct hd *h, int delivered)
{
	if (delivered)
		h->d->sent += h->nmsg;
	else	/* the L10 inside is lost too: its count comes back */
		drain_lost(h->d, h->nmsg - (h->nlost > 0) + h->nlost);
	h->len = h->nmsg = 0;
	h->nlost = 0;
	/* Losses ride on the next batch of lines, as logplex reports them. */
	if (h->d->queue.len > 0)
		hd_later(h, 0);
}

/* heroku.md 4.5: 2xx ok, 4xx but 429 dropped, the rest retried 3 times. */
static void
done(struct hd *h, CURLcode rc)
{
	long status = 0;
	uint64_t ms;

	h->inflight = 0;
	curl_multi_remove_handle(h->d->lpd->http->multi, h->easy);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	diag_verbose("%s: drain %s: frame %s try %u: %ld %s", h->d->app->name,
	    h->d->ent.token, h->frame_id, h->tries, status,
	    rc == CURLE_OK ? "" : curl_easy_strerror(rc));
	if (status >= 200 && status < 300) {
		h->failures = 0;
		h->last_ok = evloop_now_ms();
		drain_restore(h->d);
		return finish(h, 1);
	}
	/* heroku.md 4.5: a long outage keeps only the newest few messages. */
	if (evloop_now_ms() - h->last_ok >= h->d->lpd->conf.drain_degraded_ms)
		drain_degrade(h->d);
	if ((status >= 400 && status < 500 && status != 429) || h->tries >= TRIES) {
		diag_warn_ratelimited(5, 10000, "%s: drain %s: batch of %u "
		    "dropped: %s%ld", h->d->app->name, h->d->ent.token, h->nmsg,
		    rc == CURLE_OK ? "status " : h->errbuf, status);
		h->failures++;
		return finish(h, 0);
	}
	ms = (uint64_t)RETRY_MIN_MS << (h->tries < 6 ? h->tries : 6);
	hd_later(h, ms > RETRY_MAX_MS ? RETRY_MAX_MS : ms);
}

static void
check_done(struct lpd_http *x)
{
	struct hd *h;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(x->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		h = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		if (h != NULL)
			done(h, msg->data.result);
	}
}

static void
on_curl_fd(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd_http *x = arg;
	int flags = 0, running;

	(void)ev;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(x->multi, fd, flags, &running);
	check_done(x);
}

static struct hsock *
hsock_find(struct lpd_http *x, int fd)
{
	struct hsock *s;

	for (s = x->socks; s != NULL && s->fd != fd; s = s->next)
		;
	return s;
}

static void
on_idle(struct evloop *ev, void *arg)
{
	struct hsock *s = arg;

	(void)ev;
	s->idle = NULL;
	diag_verbose("closing an idle or old drain connection (fd %d)", s->fd);
	(void)shutdown(s->fd, SHUT_RDWR);
}

/*
 * Idle from curl's REMOVE until it watches the socket again: closed after
 * http_drain_idle, or once past drain_max_ttl (curl's own checks count
 * whole seconds and only run on reuse).
 */
static void
hsock_idle(struct lpd_http *x, int fd, int idle)
{
	const struct conf *c = &x->l->conf;
	uint64_t ms, age;
	struct hsock *s;

	if ((s = hsock_find(x, fd)) == NULL)
		return;
	evloop_timer_cancel(x->l->ev, s->idle);
	s->idle = NULL;
	if (!idle)
		return;
	ms = drain_fuzz_ms(c->http_idle_ms);
	age = evloop_now_ms() - s->opened;
	if (age + ms > c->drain_ttl_ms)
		ms = age >= c->drain_ttl_ms ? 0 : c->drain_ttl_ms - age;
	s->idle = evloop_timer(x->l->ev, ms, on_idle, s);
}

static curl_socket_t
open_sock(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct lpd_http *x = clientp;
	struct hsock *s;

	(void)purpose;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CURL_SOCKET_BAD;
	if ((s->fd = socket(a->family, a->socktype | SOCK_CLOEXEC,
	    a->protocol)) == -1) {
		free(s);
		return CURL_SOCKET_BAD;
	}
	s->x = x;
	s->opened = evloop_now_ms();
	s->next = x->socks;
	x->socks = s;
	return s->fd;
}

static int
close_sock(void *clientp, curl_socket_t fd)
{
	struct lpd_http *x = clientp;
	struct hsock *s, **pp;

	for (pp = &x->socks; (s = *pp) != NULL; pp = &s->next)
		if (s->fd == fd) {
			*pp = s->next;
			evloop_timer_cancel(x->l->ev, s->idle);
			free(s);
			break;
		}
	return close(fd);
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct lpd_http *x = userp;
	uint32_t events = 0;

	(void)e;
	hsock_idle(x, fd, what == CURL_POLL_REMOVE);
	if (what == CURL_POLL_REMOVE) {
		evloop_del_fd(x->l->ev, fd);
		curl_multi_assign(x->multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (socketp != NULL || evloop_add_fd(x->l->ev, fd, events, on_curl_fd,
	    x) == -1)
		return evloop_mod_fd(x->l->ev, fd, events) == -1 ? -1 : 0;
	curl_multi_assign(x->multi, fd, x);
	return 0;
}

static void
on_curl_timer(struct evloop *ev, void *arg)
{
	struct lpd_http *x = arg;
	int running;

	(void)ev;
	x->timer = NULL;
	curl_multi_socket_action(x->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(x);
}

static int
timer_cb(CURLM *m, long ms, void *userp)
{
	struct lpd_http *x = userp;

	(void)m;
	evloop_timer_cancel(x->l->ev, x->timer);
	x->timer = NULL;
	if (ms >= 0 && (x->timer = evloop_timer(x->l->ev, (uint64_t)ms,
	    on_curl_timer, x)) == NULL)
		return -1;
	return 0;
}

static void
hd_kick(struct drain *d)
{
	struct hd *h = d->impl;

	/* Lines that arrive while a batch is out wait for the next one. */
	if (!h->inflight && h->len == 0)
		hd_later(h, 0);
}

static int
hd_busy(const struct drain *d)
{
	const struct hd *h = d->impl;

	return h->inflight || h->len > 0 || d->queue.len > 0;
}

static int
hd_start(struct drain *d)
{
	struct hd *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	if ((h->easy = curl_easy_init()) == NULL) {
		free(h);
		return -1;
	}
	h->d = d;
	h->last_ok = evloop_now_ms();
	d->impl = h;
	return 0;
}

static void
hd_stop(struct drain *d)
{
	struct hd *h = d->impl;

	if (h->inflight)
		curl_multi_remove_handle(d->lpd->http->multi, h->easy);
	evloop_timer_cancel(d->lpd->ev, h->timer);
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->hdrs);
	free(h->body);
	free(h);
}

const struct drain_ops http_ops = {
	hd_start, hd_kick, hd_busy, hd_stop, hd_state,
};

int
http_init(struct lpd *l)
{
	struct lpd_http *x;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->l = l;
	if ((x->multi = curl_multi_init()) == NULL) {
		free(x);
		return -1;
	}
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x);
	l->http = x;
	return 0;
}

void
http_free(struct lpd *l)
{
	if (l->http == NULL)
		return;
	evloop_timer_cancel(l->ev, l->http->timer);
	curl_multi_cleanup(l->http->multi);
	free(l->http);
	l->http = NULL;
	curl_global_cleanup();
}
