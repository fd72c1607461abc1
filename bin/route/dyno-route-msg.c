/* SPDX-License-Identifier: ISC */
/* dyno-route: the heads we send both ways, error pages and router log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"
#include "logclient.h"

#define VIA	"1.1 dyno-route"

int
buf_reserve(struct buf *b, size_t n, size_t max)
{
	char *np;
	size_t want;

	if (b->cap - b->len >= n)
		return 0;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	if ((want = b->len + n) > max)
		return -1;
	if ((np = realloc(b->p, want)) == NULL)
		return -1;
	b->p = np;
	b->cap = want;
	return 0;
}

/* The caller has reserved room. */
void
buf_append(struct buf *b, const char *p, size_t n)
{
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

#define PUTS(b, s)	buf_append((b), (s), sizeof(s) - 1)

static void
put_hdr(struct buf *b, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	buf_append(b, name, nlen);
	PUTS(b, ": ");
	buf_append(b, v, vlen);
	PUTS(b, "\r\n");
}

static void
put_str(struct buf *b, const char *name, const char *v)
{
	put_hdr(b, name, strlen(name), v, strlen(v));
}

/* Decimal digits of v into out (at least 21 bytes); returns the length. */
static size_t
put_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* Copy at most size-1 bytes; '"' becomes %22 so the log stays parseable. */
static void
copy_field(char *dst, size_t size, const char *src, size_t n)
{
	size_t i, j = 0;

	for (i = 0; i < n && j + 4 < size; i++) {
		if (src[i] == '"') {
			memcpy(dst + j, "%22", 3);
			j += 3;
		} else
			dst[j++] = src[i];
	}
	dst[j] = '\0';
}

void
msg_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	static unsigned char pool[4096];
	static size_t used = sizeof(pool);
	unsigned char *r;
	size_t i, j;

	/* One getrandom(2) per 256 ids rather than one per request. */
	if (used + 16 > sizeof(pool)) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			for (used = 0; used < sizeof(pool); used++)
				pool[used] = (unsigned char)random();
		used = 0;
	}
	r = pool + used;
	used += 16;
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	/* By hand: snprintf with 16 conversions showed in profiles. */
	for (i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[r[i] >> 4];
		out[j++] = hex[r[i] & 0xf];
	}
	out[j] = '\0';
}

/* Request id, X-Forwarded-For and the rest of what the log line needs. */
static void
fill_reqinfo(struct conn *c, const struct http_msg *m)
{
	struct reqinfo *ri = &c->ri;
	const struct http_hdr *h;

	copy_field(ri->method, sizeof(ri->method), m->method, m->mlen);
	copy_field(ri->path, sizeof(ri->path), m->target, m->tlen);
	copy_field(ri->host, sizeof(ri->host), m->hostv, m->hostlen);
	h = m->reqid >= 0 ? &m->hdr[m->reqid] : NULL;
	if (h != NULL && http_reqid_valid(h->value, h->vlen))
		snprintf(ri->reqid, sizeof(ri->reqid), "%.*s", (int)h->vlen,
		    h->value);
	else
		msg_uuid(ri->reqid);
	h = m->xff >= 0 ? &m->hdr[m->xff] : NULL;
	if (h != NULL && h->vlen > 0 && h->vlen + strlen(c->ip) + 3 <
	    sizeof(ri->fwd))
		snprintf(ri->fwd, sizeof(ri->fwd), "%.*s, %s", (int)h->vlen,
		    h->value, c->ip);
	else
		snprintf(ri->fwd, sizeof(ri->fwd), "%s", c->ip);
	for (char *p = ri->fwd; *p != '\0'; p++)
		if (*p == '"')
			*p = '\'';
	ri->dyno[0] = '\0';
	ri->connect_ms = 0;
	ri->bytes = 0;
	ri->connected = 0;
	ri->status = 0;
}

/* Headers the router owns on the way in: replaced, not forwarded. */
static int
router_owned(const struct http_msg *m, const struct http_hdr *h)
{
	return http_msg_hop(m, h) || http_name_is(h, "x-forwarded-for") ||
	    http_name_is(h, "x-forwarded-proto") ||
	    http_name_is(h, "x-forwarded-port") ||
	    http_name_is(h, "x-request-start") ||
	    http_name_is(h, "x-request-id") || http_name_is(h, "expect");
}

static void
request_framing(struct conn *c, const struct http_msg *m)
{
	c->minor = m->minor;
	c->is_head = m->mlen == 4 && memcmp(m->method, "HEAD", 4) == 0;
	c->upgrade = (m->flags & HF_UPGRADE) != 0;
	c->keep = m->minor == 1 ? !(m->flags & HF_CLOSE) :
	    (m->flags & HF_KEEPALIVE) != 0;
	memset(&c->req_ck, 0, sizeof(c->req_ck));
	if (m->flags & HF_CHUNKED)
		c->req_body = B_CHUNKED;
	else if ((m->flags & HF_CLEN) && m->clen > 0)
		c->req_body = B_LENGTH;
	else
		c->req_body = B_NONE;
	c->req_left = m->clen;
	c->req_done = c->req_body == B_NONE;
}

int
msg_request(struct conn *c, const struct http_msg *m, size_t headlen,
    int64_t now_wall_ms)
{
	struct buf *b = &c->up;
	const struct http_hdr *h;
	char num[32];
	size_t i;

	fill_reqinfo(c, m);
	request_framing(c, m);
	if (buf_reserve(b, headlen + sizeof(c->ri.fwd) + 1024, 2 * HEAD_MAX) == -1)
		return -1;
	buf_append(b, m->method, m->mlen);
	PUTS(b, " ");
	buf_append(b, m->target, m->tlen);
	PUTS(b, " HTTP/1.1\r\n");
	for (i = 0; i < m->nhdr; i++) {
		h = &m->hdr[i];
		/* The authority of an absolute-form target wins: one host. */
		if (m->authority != NULL && http_name_is(h, "host"))
			put_hdr(b, h->name, h->nlen, m->hostv, m->hostlen);
		else if (!router_owned(m, h))
			put_hdr(b, h->name, h->nlen, h->value, h->vlen);
		else if (c->upgrade && http_name_is(h, "upgrade"))
			put_hdr(b, "Upgrade", 7, h->value, h->vlen);
	}
	put_str(b, "X-Forwarded-For", c->ri.fwd);
	put_str(b, "X-Forwarded-Proto", c->l->tls ? "https" : "http");
	put_hdr(b, "X-Forwarded-Port", 16, num, put_u64(num, c->l->port));
	put_hdr(b, "X-Request-Start", 15, num, put_u64(num,
	    (uint64_t)now_wall_ms));
	put_str(b, "X-Request-Id", c->ri.reqid);
	PUTS(b, "Via: " VIA "\r\n");
	if (c->upgrade)
		PUTS(b, "Connection: Upgrade\r\n");
	PUTS(b, "\r\n");
	return 0;
}

/* How the response body ends, and whether either side may be reused. */
static void
response_framing(struct conn *c, const struct http_msg *m)
{
	memset(&c->resp_ck, 0, sizeof(c->resp_ck));
	c->dechunk = 0;
	if (c->is_head || m->status < 200 || m->status == 204 ||
	    m->status == 304)
		c->resp_body = B_NONE;
	else if (m->flags & HF_CHUNKED) {
		c->resp_body = B_CHUNKED;
		/*
		 * HTTP/1.0 has no chunks: decode, end by closing; HTTP/2 has
		 * DATA frames: decode, end with END_STREAM.
		 */
		c->dechunk = c->minor == 0 || c->sio != NULL;
	} else if (m->flags & HF_TE)
		c->resp_body = B_CLOSE;
	else if (m->flags & HF_CLEN)
		c->resp_body = m->clen ? B_LENGTH : B_NONE;
	else
		c->resp_body = B_CLOSE;
	c->resp_left = m->clen;
	c->bkeep = (m->minor == 1 ? !(m->flags & HF_CLOSE) :
	    (m->flags & HF_KEEPALIVE) != 0) && c->resp_body != B_CLOSE &&
	    m->status != 101;
	if (c->resp_body == B_CLOSE || c->dechunk)
		c->keep = 0;
}

int
msg_response(struct conn *c, const struct http_msg *m)
{
	struct buf *b = &c->down;
	const struct http_hdr *h;
	char line[64];
	size_t i, need;

	response_framing(c, m);
	need = (size_t)(m->nhdr ? m->hdr[m->nhdr - 1].value +
	    m->hdr[m->nhdr - 1].vlen - m->reason : 0) + m->rlen + 1024;
	if (buf_reserve(b, need, 2 * HEAD_MAX) == -1)
		return -1;
	memcpy(line, "HTTP/1.1 ", 9);
	line[9] = (char)('0' + m->status / 100);
	line[10] = (char)('0' + m->status / 10 % 10);
	line[11] = (char)('0' + m->status % 10);
	line[12] = ' ';
	buf_append(b, line, 13);
	buf_append(b, m->reason, m->rlen);
	PUTS(b, "\r\n");
	for (i = 0; i < m->nhdr; i++) {
		h = &m->hdr[i];
		if (c->dechunk && http_name_is(h, "transfer-encoding"))
			continue;
		if (!http_msg_hop(m, h))
			put_hdr(b, h->name, h->nlen, h->value, h->vlen);
		else if (m->status == 101 && http_name_is(h, "upgrade"))
			put_hdr(b, "Upgrade", 7, h->value, h->vlen);
	}
	PUTS(b, "Via: " VIA "\r\n");
	if (m->status == 101)
		PUTS(b, "Connection: Upgrade\r\n");
	else if (!c->keep)
		PUTS(b, "Connection: close\r\n");
	else if (c->minor == 0)
		PUTS(b, "Connection: keep-alive\r\n");
	PUTS(b, "\r\n");
	return 0;
}

static const struct {
	const char	*code, *desc;
} descs[] = {
	{ "H10", "App crashed" }, { "H11", "Backlog too deep" },
	{ "H12", "Request timeout" },
	{ "H13", "Connection closed without response" },
	{ "H14", "No web processes running" }, { "H15", "Idle connection" },
	{ "H17", "Poorly formatted HTTP response" },
	{ "H20", "App boot timeout" },
	{ "H18", "Server Request Interrupted" },
	{ "H19", "Backend connection timeout" },
	{ "H21", "Backend connection refused" }, { "H24", "Forced close" },
	{ "H25", "HTTP Restriction" }, { "H26", "Request Error" },
	{ "H27", "Client Request Interrupted" },
	{ "H28", "Client Connection Idle" }, { "H80", "Maintenance mode" },
	{ "H99", "Platform error" },
};

const char *
msg_desc(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		if (strcmp(descs[i].code, code) == 0)
			return descs[i].desc;
	return "Platform error";
}

static const char *
page_title(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 404:
		return "No such app";
	case 408:
		return "Request Timeout";
	case 417:
		return "Expectation Failed";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	default:
		return "Application Error";
	}
}

/* Heroku's maintenance page (heroku.md 3.9), self-contained. */
static int
maintenance_page(char *body, size_t size)
{
	return snprintf(body, size, "<!DOCTYPE html>\n<html><head>"
	    "<meta charset=\"utf-8\"><title>Offline for Maintenance</title>"
	    "</head>\n<body><h1>Offline for Maintenance</h1>\n<p>This app is "
	    "undergoing maintenance right now. Please check back later.</p>\n"
	    "</body></html>\n");
}

void
msg_error_page(struct conn *c, int status, const char *code)
{
	char body[512], head[256];
	int bl, hl;

	if (code != NULL && strcmp(code, "H80") == 0)
		bl = maintenance_page(body, sizeof(body));
	else
		bl = snprintf(body, sizeof(body), "<!DOCTYPE html>\n<html><head>"
		    "<meta charset=\"utf-8\"><title>%s</title></head>\n<body>"
		    "<h1>%s</h1>\n<p>%s%s%s</p>\n</body></html>\n",
		    page_title(status), page_title(status), status == 404 ?
		    "There is no app at this address." : "The application could "
		    "not serve this page.", code ? " Code: " : "",
		    code ? code : "");
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nContent-Length: %d\r\nCache-Control: "
	    "no-cache, no-store\r\nVia: " VIA "\r\nConnection: close\r\n\r\n",
	    status, code != NULL && strcmp(code, "H80") == 0 ?
	    "Service Unavailable" : page_title(status), bl);
	c->ri.status = status;
	c->keep = 0;
	if (buf_reserve(&c->down, (size_t)(hl + bl), 2 * HEAD_MAX) == -1)
		return;
	buf_append(&c->down, head, (size_t)hl);
	if (!c->is_head)
		buf_append(&c->down, body, (size_t)bl);
}

/* The log line, appended piece by piece: one snprintf per request showed. */
struct line {
	char	 p[4096];
	size_t	 n;
};

static void
ln_str(struct line *l, const char *s)
{
	size_t k = strlen(s);

	if (k > sizeof(l->p) - 1 - l->n)
		k = sizeof(l->p) - 1 - l->n;
	memcpy(l->p + l->n, s, k);
	l->n += k;
}

static void
ln_u64(struct line *l, uint64_t v)
{
	char num[24];

	put_u64(num, v);
	ln_str(l, num);
}

/* "Nms", or nothing when the step did not happen. */
static void
ln_ms(struct line *l, const char *key, int happened, uint64_t ms)
{
	ln_str(l, key);
	if (!happened)
		return;
	ln_u64(l, ms);
	ln_str(l, "ms");
}

static void
log_head(struct line *l, const char *code, const char *cause,
    const char *sock)
{
	if (code == NULL) {
		ln_str(l, "at=info ");
		return;
	}
	if (sock != NULL) {
		ln_str(l, "sock=");
		ln_str(l, sock);
		ln_str(l, " ");
	}
	/* H80: the app asked for it, so it is news, not an error. */
	ln_str(l, strcmp(code, "H80") == 0 ? "at=info code=" :
	    strcmp(code, "H27") == 0 || strcmp(code, "H28") == 0 ?
	    "at=warning code=" : "at=error code=");
	ln_str(l, code);
	ln_str(l, " desc=\"");
	ln_str(l, msg_desc(code));
	ln_str(l, "\" ");
	if (cause != NULL) {
		ln_str(l, "cause=\"");
		ln_str(l, cause);
		ln_str(l, "\" ");
	}
}

void
msg_log(struct logclient *lc, const struct conn *c, const char *code,
    const char *cause, const char *sock)
{
	const struct reqinfo *ri = &c->ri;
	uint64_t now = evloop_now_ms();
	struct line l;

	if (c->app == NULL)
		return;
	l.n = 0;
	log_head(&l, code, cause, sock);
	ln_str(&l, "method=");
	ln_str(&l, ri->method);
	ln_str(&l, " path=\"");
	ln_str(&l, ri->path);
	ln_str(&l, "\" host=");
	ln_str(&l, ri->host);
	ln_str(&l, " request_id=");
	ln_str(&l, ri->reqid);
	ln_str(&l, " fwd=\"");
	ln_str(&l, ri->fwd);
	ln_str(&l, "\" dyno=");
	ln_str(&l, ri->dyno);
	ln_ms(&l, " connect=", ri->connect_ms > 0 || ri->connected,
	    ri->connect_ms);
	ln_ms(&l, " service=", ri->connected, now - ri->start_ms >
	    ri->connect_ms ? now - ri->start_ms - ri->connect_ms : 0);
	ln_str(&l, " status=");
	ln_u64(&l, (uint64_t)ri->status);
	ln_str(&l, " bytes=");
	ln_u64(&l, ri->bytes);
	ln_str(&l, c->sio != NULL ? " protocol=http2" : c->l->tls ?
	    " protocol=https" : " protocol=http");
	logclient_send(lc, c->app->name, "heroku", "router", l.p, l.n);
}
