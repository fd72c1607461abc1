/* SPDX-License-Identifier: ISC */
/*
 * dyno-route: HTTP/2 to clients (RFC 9113) with libnghttp2.  Each stream
 * is a client conn of its own with no socket: its request is written out
 * as an HTTP/1.1 head (with a chunked body when the client gave no
 * length) that the proxy reads as from a socket, and the proxy's HTTP/1.1
 * answer goes back as HEADERS and DATA frames.  So every router behaviour
 * (the strict parser, Heroku's headers, H-codes, timeouts, the log line)
 * is the HTTP/1 path's, per stream; dynos still get HTTP/1.1.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"

#define H2_STREAMS	100		/* SETTINGS_MAX_CONCURRENT_STREAMS */
#define H2_WINDOW	(128 * 1024)	/* a stream's request window */
#define H2_HEADERS_MAX	(64 * 1024)	/* SETTINGS_MAX_HEADER_LIST_SIZE */
#define H2_OUT_MAX	(64 * 1024)	/* a stream's response not yet DATA */
#define H2_WIRE_MAX	(64 * 1024)	/* frames not yet written: read no more */
#define H2_READ		(16 * 1024)
/* A stream's request bytes: the window, a head, chunk lines. */
#define H2_IN_MAX	(H2_WINDOW + 2 * H2_HEADERS_MAX + 64 * 1024)
/* Room for what one mem_send may give beyond H2_WIRE_MAX (a big HEADERS). */
#define H2_WIRE_CAP	(H2_WIRE_MAX + 2 * HEAD_MAX + 64 * 1024)

/* One HTTP/2 connection. */
struct h2 {
	nghttp2_session	*s;
	struct conn	*c;		/* the TLS connection */
	struct conn	*conns;		/* its streams' conns */
	struct h2s	*streams;	/* its open streams */
	unsigned	 nstreams;
	int		 fatal;		/* read no more; close once flushed */
	int		 goaway;
};

/* One stream, alive until nghttp2 closes it. */
struct h2s {
	struct h2	*h;
	int32_t		 id;
	struct conn	*c;		/* NULL once the proxy is done */
	struct buf	 in;		/* request bytes for the proxy */
	struct buf	 out;		/* response body bytes for DATA */
	struct buf	 hdrs;		/* header lines while HEADERS come */
	struct buf	 cookie;	/* cookie fields, joined by "; " */
	char		*method, *path, *auth;
	size_t		 hsize;		/* header list size so far */
	size_t		 unconsumed;	/* DATA bytes in `in' */
	int		 clen, chunked, in_end, head_sent, out_end;
	struct h2s	*next, *prev;
};

static ssize_t	stream_read(struct conn *, char *, size_t);
static ssize_t	stream_write(struct conn *, const char *, size_t);
static void	stream_end(struct conn *, int);

static const struct stream_io sio = { stream_read, stream_write, stream_end };

/* ---- streams ---- */

static void
h2s_free(struct h2s *st)
{
	struct h2 *h = st->h;

	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	h->nstreams--;
	if (st->c != NULL)
		st->c->h2s = NULL;
	/* Bytes no dyno took still hold the connection's window. */
	if (st->unconsumed > 0)
		(void)nghttp2_session_consume_connection(h->s, st->unconsumed);
	free(st->in.p);
	free(st->out.p);
	free(st->hdrs.p);
	free(st->cookie.p);
	free(st->method);
	free(st->path);
	free(st->auth);
	free(st);
}

static void
conn_unlink(struct h2 *h, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

/* A stream's conn, closed by the proxy: free it. */
static void
sconn_free(struct worker *w, struct conn *c)
{
	conn_unlink(c->h2, c);
	if (c->h2s != NULL)
		c->h2s->c = NULL;
	w->nconns--;
	free(c->cin.p);
	free(c->up.p);
	free(c->bin.p);
	free(c->down.p);
	free(c);
	if (w->draining && w->nconns == 0)
		evloop_stop(w->ev);
}

/* The stream's conn: a client conn with no socket. */
static struct conn *
sconn_new(struct worker *w, struct h2 *h, struct h2s *st)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	c->w = w;
	c->l = h->c->l;
	memcpy(c->ip, h->c->ip, sizeof(c->ip));
	/* No pipes: the bytes go through nghttp2. */
	c->sdown.fd[0] = c->sdown.fd[1] = c->sup.fd[0] = c->sup.fd[1] = -1;
	c->sdown.broken = c->sup.broken = 1;
	c->h2 = h;
	c->h2s = st;
	c->sio = &sio;
	c->hs_done = 1;
	c->rready = 1;
	c->last_active = c->head_start = w->now;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	w->nconns++;
	st->c = c;
	return c;
}

static ssize_t
stream_read(struct conn *c, char *p, size_t n)
{
	struct h2s *st = c->h2s;
	size_t k, d;

	if (st == NULL)
		return 0;	/* reset by the client: gone */
	if ((k = st->in.len - st->in.off) == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (k > n)
		k = n;
	memcpy(p, st->in.p + st->in.off, k);
	st->in.off += k;
	if (st->in.off == st->in.len)
		st->in.off = st->in.len = 0;
	/*
	 * The window reopens as the proxy takes bytes towards the dyno: a
	 * slow dyno slows its own upload, not the connection's others.
	 */
	d = k < st->unconsumed ? k : st->unconsumed;
	if (st->in.len == 0)
		d = st->unconsumed;
	if (d > 0) {
		st->unconsumed -= d;
		(void)nghttp2_session_consume(st->h->s, st->id, d);
	}
	return (ssize_t)k;
}

/* Headers HTTP/1.1 has and HTTP/2 must not (RFC 9113 8.2.2). */
static int
h1_only(const struct http_hdr *h)
{
	return http_name_is(h, "connection") ||
	    http_name_is(h, "keep-alive") ||
	    http_name_is(h, "proxy-connection") ||
	    http_name_is(h, "transfer-encoding") ||
	    http_name_is(h, "upgrade") || http_name_is(h, "te");
}

static ssize_t
data_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2s *st = src->ptr;
	size_t k = st->out.len - st->out.off;

	(void)s;
	(void)id;
	(void)arg;
	if (k > len)
		k = len;
	memcpy(buf, st->out.p + st->out.off, k);
	st->out.off += k;
	if (st->out.off == st->out.len) {
		st->out.off = st->out.len = 0;
		if (st->out_end)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
	}
	/* Room again: the proxy may go on reading the dyno. */
	if (k > 0 && st->c != NULL) {
		st->c->wblocked = 0;
		st->c->rready = 1;
	}
	if (k == 0 && !(*flags & NGHTTP2_DATA_FLAG_EOF))
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)k;
}

/* The response head the proxy wrote, as HEADERS (lowercase names). */
static int
submit_head(struct h2s *st, const struct http_msg *m, int body)
{
	nghttp2_data_provider dp = { .source.ptr = st, .read_callback = data_cb };
	nghttp2_nv *nv;
	char status[4], *names, *q;
	size_t i, n = 0, nlen = 0;
	int rv;

	for (i = 0; i < m->nhdr; i++)
		nlen += m->hdr[i].nlen;
	nv = calloc(m->nhdr + 1, sizeof(*nv));
	names = malloc(nlen + 1);
	if (nv == NULL || names == NULL) {
		free(nv);
		free(names);
		return -1;
	}
	status[0] = (char)('0' + m->status / 100 % 10);
	status[1] = (char)('0' + m->status / 10 % 10);
	status[2] = (char)('0' + m->status % 10);
	status[3] = '\0';
	nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7, 3,
	    NGHTTP2_NV_FLAG_NONE };
	for (i = 0, q = names; i < m->nhdr; i++) {
		if (h1_only(&m->hdr[i]))
			continue;
		for (size_t j = 0; j < m->hdr[i].nlen; j++)
			q[j] = (char)(m->hdr[i].name[j] | (m->hdr[i].name[j] >=
			    'A' && m->hdr[i].name[j] <= 'Z' ? 0x20 : 0));
		nv[n++] = (nghttp2_nv){ (uint8_t *)q, (uint8_t *)m->hdr[i].value,
		    m->hdr[i].nlen, m->hdr[i].vlen, NGHTTP2_NV_FLAG_NONE };
		q += m->hdr[i].nlen;
	}
	rv = nghttp2_submit_response(st->h->s, st->id, nv, n, body ? &dp : NULL);
	free(nv);
	free(names);
	return rv == 0 ? 0 : -1;
}

/* The head of the proxy's answer: HEADERS, or nothing for a 1xx. */
static ssize_t
write_head(struct conn *c, const char *p, size_t n)
{
	struct h2s *st = c->h2s;
	struct http_msg m;
	ssize_t hl;

	m.hdr = c->w->hdr;
	/* The proxy writes whole heads, and heads it checked. */
	if ((hl = http_parse_response(p, n, &m)) <= 0) {
		errno = EPIPE;
		return -1;
	}
	/* The router's own 100 Continue: an interim HEADERS. */
	if (m.status == 100) {
		(void)nghttp2_submit_headers(st->h->s, NGHTTP2_FLAG_NONE, st->id,
		    NULL, &(nghttp2_nv){ (uint8_t *)":status", (uint8_t *)"100",
		    7, 3, NGHTTP2_NV_FLAG_NONE }, 1, NULL);
		return hl;
	}
	if (m.status < 200)
		return hl;
	if (submit_head(st, &m, !(c->is_head || m.status == 204 ||
	    m.status == 304)) == -1) {
		errno = EPIPE;
		return -1;
	}
	st->head_sent = 1;
	return hl;
}

static ssize_t
stream_write(struct conn *c, const char *p, size_t n)
{
	struct h2s *st = c->h2s;
	size_t room;

	if (st == NULL) {
		errno = EPIPE;
		return -1;
	}
	if (!st->head_sent)
		return write_head(c, p, n);
	room = H2_OUT_MAX - (st->out.len - st->out.off);
	if (room == 0 || buf_reserve(&st->out, n < room ? n : room,
	    H2_OUT_MAX) == -1) {
		errno = EAGAIN;
		return -1;
	}
	if (n > room)
		n = room;
	buf_append(&st->out, p, n);
	(void)nghttp2_session_resume_data(st->h->s, st->id);
	return (ssize_t)n;
}

static void
stream_end(struct conn *c, int whole)
{
	struct h2s *st = c->h2s;

	if (st == NULL)
		return;
	if (whole && st->head_sent) {
		st->out_end = 1;
		(void)nghttp2_session_resume_data(st->h->s, st->id);
	} else
		(void)nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE,
		    st->id, NGHTTP2_INTERNAL_ERROR);
	/* What the client still sends goes to no one (data_chunk_cb). */
	if (st->unconsumed > 0)
		(void)nghttp2_session_consume(st->h->s, st->id, st->unconsumed);
	st->unconsumed = 0;
	st->in.off = st->in.len = 0;
	st->c = NULL;
	c->h2s = NULL;
}

/* ---- nghttp2's callbacks: the request in ---- */

static int
begin_headers_cb(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2 *h = arg;
	struct worker *w = h->c->w;
	struct h2s *st;

	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/* Each stream holds a dyno socket: max_connections counts them. */
	if (w->draining || w->nconns >= w->conf->max_connections ||
	    (st = calloc(1, sizeof(*st))) == NULL) {
		(void)nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE,
		    f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	st->h = h;
	st->id = f->hd.stream_id;
	st->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = st;
	h->streams = st;
	h->nstreams++;
	(void)nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

static int
put(struct buf *b, const char *p, size_t n)
{
	if (buf_reserve(b, n, H2_IN_MAX) == -1)
		return -1;
	buf_append(b, p, n);
	return 0;
}

static int
keep_pseudo(char **dst, const uint8_t *v, size_t n)
{
	if (*dst != NULL)
		return -1;	/* nghttp2 refuses it first; be sure */
	return (*dst = strndup((const char *)v, n)) == NULL ? -1 : 0;
}

static int
header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
    size_t nlen, const uint8_t *v, size_t vlen, uint8_t flags, void *arg)
{
	struct h2s *st = nghttp2_session_get_stream_user_data(s,
	    f->hd.stream_id);
	struct http_hdr hd = { (const char *)name, (const char *)v,
	    (uint32_t)nlen, (uint32_t)vlen };
	int r = 0;

	(void)flags;
	(void)arg;
	/* Trailers are dropped: the chunked body ends without them. */
	if (st == NULL || st->c != NULL || f->headers.cat !=
	    NGHTTP2_HCAT_REQUEST)
		return 0;
	/* RFC 9113 6.5.2: 32 bytes of overhead per field. */
	if ((st->hsize += nlen + vlen + 32) > H2_HEADERS_MAX)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (http_name_is(&hd, ":method"))
		r = keep_pseudo(&st->method, v, vlen);
	else if (http_name_is(&hd, ":path"))
		r = keep_pseudo(&st->path, v, vlen);
	else if (http_name_is(&hd, ":authority"))
		r = keep_pseudo(&st->auth, v, vlen);
	else if (name[0] == ':')
		r = 0;		/* :scheme: the listener says https */
	else if (http_name_is(&hd, "host"))
		r = st->auth != NULL ? 0 : keep_pseudo(&st->auth, v, vlen);
	else if (http_name_is(&hd, "cookie"))
		r = (st->cookie.len > 0 && put(&st->cookie, "; ", 2) == -1) ||
		    put(&st->cookie, (const char *)v, vlen) == -1 ? -1 : 0;
	else if (!http_name_is(&hd, "te")) {
		st->clen |= http_name_is(&hd, "content-length");
		r = put(&st->hdrs, (const char *)name, nlen) == -1 ||
		    put(&st->hdrs, ": ", 2) == -1 ||
		    put(&st->hdrs, (const char *)v, vlen) == -1 ||
		    put(&st->hdrs, "\r\n", 2) == -1 ? -1 : 0;
	}
	return r == 0 ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

#define PUT(b, s)	put((b), (s), strlen(s))

/*
 * The request as an HTTP/1.1 head in st->in: the proxy's parser checks it
 * as it checks any client's.  Without a content-length a body to come is
 * sent chunked.
 */
static int
request_head(struct h2s *st, int end)
{
	struct buf *b = &st->in;

	st->chunked = !end && !st->clen;
	if (PUT(b, st->method ? st->method : "") == -1 || PUT(b, " ") == -1 ||
	    PUT(b, st->path ? st->path : st->auth ? st->auth : "") == -1 ||
	    PUT(b, " HTTP/1.1\r\n") == -1)
		return -1;
	if (st->auth != NULL && (PUT(b, "Host: ") == -1 ||
	    PUT(b, st->auth) == -1 || PUT(b, "\r\n") == -1))
		return -1;
	if (st->hdrs.len > 0 && put(b, st->hdrs.p, st->hdrs.len) == -1)
		return -1;
	if (st->cookie.len > 0 && (PUT(b, "Cookie: ") == -1 ||
	    put(b, st->cookie.p, st->cookie.len) == -1 || PUT(b, "\r\n") == -1))
		return -1;
	if (st->chunked && PUT(b, "Transfer-Encoding: chunked\r\n") == -1)
		return -1;
	free(st->hdrs.p);
	free(st->cookie.p);
	memset(&st->hdrs, 0, sizeof(st->hdrs));
	memset(&st->cookie, 0, sizeof(st->cookie));
	return PUT(b, "\r\n");
}

/* The client's side of the stream is over. */
static void
request_end(struct h2s *st)
{
	if (st->in_end)
		return;
	st->in_end = 1;
	if (st->chunked && PUT(&st->in, "0\r\n\r\n") == -1)
		(void)nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE,
		    st->id, NGHTTP2_INTERNAL_ERROR);
	if (st->c != NULL)
		st->c->rready = 1;
}

static int
frame_recv_cb(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2 *h = arg;
	struct h2s *st;
	int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	if ((st = nghttp2_session_get_stream_user_data(s,
	    f->hd.stream_id)) == NULL)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS &&
	    f->headers.cat == NGHTTP2_HCAT_REQUEST && st->c == NULL) {
		if (request_head(st, end) == -1 ||
		    sconn_new(h->c->w, h, st) == NULL) {
			(void)nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE,
			    st->id, NGHTTP2_INTERNAL_ERROR);
			return 0;
		}
	}
	if (end)
		request_end(st);
	return 0;
}

static int
data_chunk_cb(nghttp2_session *s, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *arg)
{
	struct h2s *st = nghttp2_session_get_stream_user_data(s, id);
	char line[24];
	int n;

	(void)flags;
	(void)arg;
	/* Nobody to take it: give the window back at once. */
	if (st == NULL || st->c == NULL) {
		(void)nghttp2_session_consume(s, id, len);
		return 0;
	}
	n = snprintf(line, sizeof(line), "%zx\r\n", len);
	/* The window bounds `in': more is a client ignoring it. */
	if ((st->chunked && put(&st->in, line, (size_t)n) == -1) ||
	    put(&st->in, (const char *)data, len) == -1 ||
	    (st->chunked && put(&st->in, "\r\n", 2) == -1)) {
		(void)nghttp2_session_consume(s, id, len);
		(void)nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id,
		    NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	st->unconsumed += len;
	st->c->rready = 1;
	return 0;
}

/*
 * The stream is over for nghttp2 (both ends done, or a reset).  A conn
 * still on it sees its client gone: H27 unless it was answered.
 */
static int
stream_close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *arg)
{
	struct h2s *st = nghttp2_session_get_stream_user_data(s, id);

	(void)code;
	(void)arg;
	if (st == NULL)
		return 0;
	if (st->c != NULL) {
		st->c->cin_eof = 1;
		st->c->rready = 1;
		st->c->wblocked = 0;
	}
	(void)nghttp2_session_set_stream_user_data(s, id, NULL);
	h2s_free(st);
	return 0;
}

/* ---- the connection ---- */

static nghttp2_session_callbacks *
callbacks(void)
{
	static nghttp2_session_callbacks *cbs;

	if (cbs != NULL || nghttp2_session_callbacks_new(&cbs) != 0)
		return cbs;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
	    begin_headers_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
	    frame_recv_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
	    data_chunk_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	    stream_close_cb);
	return cbs;
}

int
h2_start(struct worker *w, struct conn *c)
{
	static const nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_STREAMS },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_HEADERS_MAX },
	};
	nghttp2_option *opt;
	struct h2 *h;
	int rv;

	(void)w;
	if (callbacks() == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	if (nghttp2_option_new(&opt) != 0) {
		free(h);
		return -1;
	}
	/* Windows reopen as the dynos take the bytes (stream_read). */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	rv = nghttp2_session_server_new2(&h->s, callbacks(), h, opt);
	nghttp2_option_del(opt);
	if (rv != 0) {
		free(h);
		return -1;
	}
	/*
	 * The connection's window holds every stream's: a stream whose dyno
	 * is slow never stops the others' uploads.
	 */
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv,
	    sizeof(iv) / sizeof(iv[0])) != 0 ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0,
	    H2_STREAMS * H2_WINDOW) != 0) {
		nghttp2_session_del(h->s);
		free(h);
		return -1;
	}
	h->c = c;
	c->h2 = h;
	return 0;
}

/* Frames in: TLS to nghttp2, while the frames out have room. */
static int
h2_in(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;
	char buf[H2_READ];
	ssize_t n, rv;

	if (!c->rready || h->fatal || c->down.len - c->down.off >= H2_WIRE_MAX)
		return 0;
	n = tls_read(c->ssl, buf, sizeof(buf), &c->ssl_wantw);
	if (n == -1 && errno == EAGAIN) {
		c->rready = 0;
		return 0;
	}
	if (n <= 0) {		/* closed, or a TLS error */
		proxy_close(w, c);
		return 1;
	}
	c->last_active = w->now;
	if ((size_t)n < sizeof(buf) && !SSL_has_pending(c->ssl))
		c->rready = 0;
	/* A bad preface or a flood: GOAWAY, then close. */
	if ((rv = nghttp2_session_mem_recv(h->s, (const uint8_t *)buf,
	    (size_t)n)) < 0) {
		h->fatal = 1;
		(void)nghttp2_session_terminate_session(h->s,
		    rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM :
		    NGHTTP2_PROTOCOL_ERROR);
	}
	return 1;
}

/* Frames out: nghttp2 to c->down to TLS. */
static int
h2_out(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;
	const uint8_t *d;
	ssize_t k;
	int progress = 0;

	while (c->down.len - c->down.off < H2_WIRE_MAX) {
		if ((k = nghttp2_session_mem_send(h->s, &d)) <= 0) {
			if (k < 0)
				proxy_close(w, c);
			break;
		}
		if (buf_reserve(&c->down, (size_t)k, H2_WIRE_CAP) == -1) {
			proxy_close(w, c);
			return 1;
		}
		buf_append(&c->down, (const char *)d, (size_t)k);
		progress = 1;
	}
	if (c->closed || c->wblocked || c->down.off == c->down.len)
		return progress;
	if ((k = tls_write(c->ssl, c->down.p + c->down.off,
	    c->down.len - c->down.off, &c->ssl_wantw)) == -1) {
		if (errno == EAGAIN)
			c->wblocked = 1;
		else
			proxy_close(w, c);
		return 1;
	}
	c->down.off += (size_t)k;
	if (c->down.off == c->down.len)
		c->down.off = c->down.len = 0;
	return 1;
}

/* Pump every stream with something to do; free those the proxy closed. */
static int
pump_streams(struct worker *w, struct h2 *h)
{
	struct conn *sc, *next;
	int progress = 0;

	for (sc = h->conns; sc != NULL; sc = next) {
		next = sc->next;
		/* rready wakes a stream: bytes in, room out, or its end. */
		if (!sc->rready && !sc->closed)
			continue;
		if (proxy_pump(w, sc)) {
			sconn_free(w, sc);
			progress = 1;
		}
	}
	return progress;
}

/* Whether the connection is over: nothing more to read or to say. */
static int
finished(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;

	if (c->down.off != c->down.len)
		return 0;
	if (h->fatal && !nghttp2_session_want_write(h->s))
		return 1;
	if (w->draining && h->goaway && h->conns == NULL &&
	    !nghttp2_session_want_write(h->s))
		return 1;
	return !nghttp2_session_want_read(h->s) &&
	    !nghttp2_session_want_write(h->s);
}

/* The connection went: every stream with it (H27, or H24 at shutdown). */
static void
teardown(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;
	struct conn *sc;

	while ((sc = h->conns) != NULL) {
		if (sc->h2s != NULL)
			sc->h2s->c = NULL;
		sc->h2s = NULL;
		sc->ri.status = w->draining ? 0 : 499;
		proxy_log_done(w, sc, w->draining ? "H24" : "H27", NULL,
		    w->draining ? NULL : "client");
		proxy_close(w, sc);
		sconn_free(w, sc);
	}
	while (h->streams != NULL)
		h2s_free(h->streams);
	nghttp2_session_del(h->s);
	free(h);
	c->h2 = NULL;
}

static void
h2_events(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;
	uint32_t want = 0;

	if (!h->fatal && nghttp2_session_want_read(h->s) &&
	    c->down.len - c->down.off < H2_WIRE_MAX)
		want |= EPOLLIN;
	if ((c->down.off != c->down.len && c->wblocked) || c->ssl_wantw)
		want |= EPOLLOUT;
	if (want != c->events && evloop_mod_fd(w->ev, c->fd, want) == 0)
		c->events = want;
}

int
h2_pump(struct worker *w, struct conn *c)
{
	int progress;

	do {
		progress = 0;
		if (!c->closed)
			progress |= h2_in(w, c);
		if (!c->closed)
			progress |= pump_streams(w, c->h2);
		if (!c->closed)
			progress |= h2_out(w, c);
	} while (progress && !c->closed);
	if (!c->closed && finished(w, c))
		proxy_close(w, c);
	if (c->closed) {
		teardown(w, c);
		return 1;
	}
	h2_events(w, c);
	return 0;
}

struct conn *
h2_stream_pump(struct worker *w, struct conn *sc)
{
	struct conn *c = sc->h2->c;

	if (proxy_pump(w, sc))
		sconn_free(w, sc);
	return c;
}

void
h2_sweep(struct worker *w, struct conn *c, uint64_t now, h2_timeout_fn *fn)
{
	struct h2 *h = c->h2;
	struct conn *sc, *next;

	for (sc = h->conns; sc != NULL; sc = next) {
		next = sc->next;
		fn(w, sc, now);
		if (proxy_pump(w, sc))
			sconn_free(w, sc);
	}
	/* An idle connection: GOAWAY, as an HTTP/1 one would be closed. */
	if (h->conns == NULL && h->nstreams == 0 && !h->goaway &&
	    now - c->last_active >= w->conf->client_idle_ms) {
		(void)nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR);
		h->goaway = h->fatal = 1;
	}
}

void
h2_drain(struct worker *w, struct conn *c)
{
	struct h2 *h = c->h2;

	(void)w;
	if (h->goaway)
		return;
	(void)nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
	    nghttp2_session_get_last_proc_stream_id(h->s), NGHTTP2_NO_ERROR,
	    NULL, 0);
	h->goaway = 1;
}
