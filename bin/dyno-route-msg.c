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
	static unsigned char pool[4096];
	static size_t used = sizeof(pool);
	unsigned char *r;

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
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* Request id, X-Forwarded-For and the rest of what the log line needs. */
static void
fill_reqinfo(struct conn *c, const struct http_msg *m)
{
	struct reqinfo *ri = &c->ri;
	const struct http_hdr *h;

	copy_field(ri->method, sizeof(ri->method), m->method, m->mlen);
	copy_field(ri->path, sizeof(ri->path), m->target, m->tlen);
	h = &m->hdr[m->host];
	copy_field(ri->host, sizeof(ri->host), h->value, h->vlen);
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
		if (!router_owned(m, h))
			put_hdr(b, h->name, h->nlen, h->value, h->vlen);
		else if (c->upgrade && http_name_is(h, "upgrade"))
			put_hdr(b, "Upgrade", 7, h->value, h->vlen);
	}
	put_str(b, "X-Forwarded-For", c->ri.fwd);
	put_str(b, "X-Forwarded-Proto", c->l->tls ? "https" : "http");
	snprintf(num, sizeof(num), "%u", c->l->port);
	put_str(b, "X-Forwarded-Port", num);
	snprintf(num, sizeof(num), "%lld", (long long)now_wall_ms);
	put_str(b, "X-Request-Start", num);
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
		/* HTTP/1.0 has no chunks: decode, end by closing. */
		c->dechunk = c->minor == 0;
	} else if (m->flags & HF_TE)
		c->resp_body = B_CLOSE;
	else if (m->flags & HF_CLEN)
		c->resp_body = m->clen ? B_LENGTH : B_NONE;
	else
		c->resp_body = B_CLOSE;
	c->resp_left = m->clen;
	c->resp_done = c->resp_body == B_NONE && m->status != 101;
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
	buf_append(b, line, (size_t)snprintf(line, sizeof(line),
	    "HTTP/1.1 %03d ", m->status));
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
	{ "H28", "Client Connection Idle" }, { "H99", "Platform error" },
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
	case 417:
		return "Expectation Failed";
	case 502:
		return "Bad Gateway";
	default:
		return "Application Error";
	}
}

void
msg_error_page(struct conn *c, int status, const char *code)
{
	char body[512], head[256];
	int bl, hl;

	bl = snprintf(body, sizeof(body), "<!DOCTYPE html>\n<html><head>"
	    "<meta charset=\"utf-8\"><title>%s</title></head>\n<body><h1>%s"
	    "</h1>\n<p>%s%s%s</p>\n</body></html>\n", page_title(status),
	    page_title(status), status == 404 ? "There is no app at this "
	    "address." : "The application could not serve this page.",
	    code ? " Code: " : "", code ? code : "");
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nContent-Length: %d\r\nCache-Control: "
	    "no-cache, no-store\r\nVia: " VIA "\r\nConnection: close\r\n\r\n",
	    status, page_title(status), bl);
	c->ri.status = status;
	c->keep = 0;
	if (buf_reserve(&c->down, (size_t)(hl + bl), 2 * HEAD_MAX) == -1)
		return;
	buf_append(&c->down, head, (size_t)hl);
	if (!c->is_head)
		buf_append(&c->down, body, (size_t)bl);
}

/* "Nms", or "" when the step did not happen. */
static void
ms_field(char *buf, size_t size, int happened, uint64_t ms)
{
	if (happened)
		snprintf(buf, size, "%llums", (unsigned long long)ms);
	else
		buf[0] = '\0';
}

void
msg_log(struct logclient *lc, const struct conn *c, const char *code,
    const char *cause, const char *sock)
{
	const struct reqinfo *ri = &c->ri;
	char head[160] = "", con[32], svc[32], byt[32];
	const char *at;
	uint64_t now = evloop_now_ms();

	if (c->app == NULL)
		return;
	at = code == NULL ? "info" : strcmp(code, "H27") == 0 ||
	    strcmp(code, "H28") == 0 ? "warning" : "error";
	if (code != NULL)
		snprintf(head, sizeof(head), "%s%s%sat=%s code=%s desc=\"%s\" "
		    "%s%s%s", sock ? "sock=" : "", sock ? sock : "",
		    sock ? " " : "", at, code, msg_desc(code),
		    cause ? "cause=\"" : "", cause ? cause : "",
		    cause ? "\" " : "");
	else
		snprintf(head, sizeof(head), "at=info ");
	ms_field(con, sizeof(con), ri->connect_ms > 0 || ri->connected,
	    ri->connect_ms);
	ms_field(svc, sizeof(svc), ri->connected, now - ri->start_ms >
	    ri->connect_ms ? now - ri->start_ms - ri->connect_ms : 0);
	snprintf(byt, sizeof(byt), "%llu", (unsigned long long)ri->bytes);
	logclient_sendf(lc, c->app->name, "heroku", "router", "%smethod=%s "
	    "path=\"%s\" host=%s request_id=%s fwd=\"%s\" dyno=%s connect=%s "
	    "service=%s status=%d bytes=%s protocol=%s", head, ri->method,
	    ri->path, ri->host, ri->reqid, ri->fwd, ri->dyno, con, svc,
	    ri->status, byt, c->l->tls ? "https" : "http");
}
