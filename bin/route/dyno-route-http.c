/* SPDX-License-Identifier: ISC */
/* dyno-route: a strict HTTP/1.x head parser and chunked-body walker. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dyno-route-http.h"

/*
 * Why our own parser: Debian 12 packages no C build of llhttp or
 * picohttpparser, and libhttp-parser 2.9 is archived upstream and lenient
 * where a router must not be (bare LF, obs-fold).  A router that reads the
 * whole head before dispatching needs only this: one pass over complete
 * lines, refusing anything two parsers could read differently.
 */

/* RFC 9110 tchar. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static int
fail(struct http_msg *m, int status, const char *code, const char *cause)
{
	m->err_status = status;
	m->err_code = code;
	m->err_cause = cause;
	return -1;
}

/*
 * The next line at p: 1 with its length (CRLF excluded) in *n, 0 when it
 * is not complete yet, -1 when it is longer than max or ends in a bare LF.
 */
static int
next_line(const char *p, const char *end, size_t max, size_t *n,
    const char **why)
{
	size_t avail = (size_t)(end - p);
	const char *nl;

	nl = memchr(p, '\n', avail < max + 2 ? avail : max + 2);
	if (nl == NULL) {
		*why = "line too long";
		return avail >= max + 2 ? -1 : 0;
	}
	if (nl == p || nl[-1] != '\r') {
		*why = "bare LF";
		return -1;
	}
	*n = (size_t)(nl - p) - 1;
	return 1;
}

/* Field-value bytes: HTAB, SP, VCHAR, obs-text; never CR, LF, NUL. */
static int
value_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 && c != '\t')
			return 0;
		if (c == 0x7f)
			return 0;
	}
	return 1;
}

/* One "name: value" line into h; 0, or -1 with *why. */
static int
parse_field(const char *p, size_t n, struct http_hdr *h, const char **why)
{
	size_t i = 0, vs, ve;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		*why = "obs-fold";
		return -1;
	}
	while (i < n && tchar[(unsigned char)p[i]])
		i++;
	*why = "bad header";
	if (i == 0 || i == n || p[i] != ':')
		return -1;
	if (i > HTTP_NAME_MAX) {
		*why = "header name too long";
		return -1;
	}
	vs = i + 1;
	while (vs < n && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	if (!value_ok(p + vs, ve - vs))
		return -1;
	h->name = p;
	h->nlen = (uint32_t)i;
	h->value = p + vs;
	h->vlen = (uint32_t)(ve - vs);
	return 0;
}

/* Header lines from p to the empty line: bytes used, 0 (more), -1. */
static ssize_t
parse_fields(const char *buf, const char *p, const char *end, size_t linemax,
    struct http_msg *m, const char *code)
{
	const char *why = "bad header";
	size_t n;
	int r;

	for (;;) {
		if ((r = next_line(p, end, linemax, &n, &why)) <= 0)
			return r == 0 ? 0 : fail(m, m->err_status, code, why);
		if (n == 0)
			return p + 2 - buf;
		if (m->nhdr == HTTP_MAX_HEADERS)
			return fail(m, m->err_status, code, "too many headers");
		if (parse_field(p, n, &m->hdr[m->nhdr], &why) == -1)
			return fail(m, m->err_status, code, why);
		m->nhdr++;
		p += n + 2;
	}
}

int
http_name_is(const struct http_hdr *h, const char *name)
{
	return strlen(name) == h->nlen &&
	    strncasecmp(h->name, name, h->nlen) == 0;
}

/* A cursor over a comma-separated header value. */
struct toklist {
	const char	*p, *end;
};

/* Next list element, OWS trimmed; 0 at the end.  Empty elements count. */
static int
next_token(struct toklist *tl, const char **t, size_t *n)
{
	const char *s, *e;

	if (tl->p == NULL || tl->p > tl->end)
		return 0;
	s = tl->p;
	e = memchr(s, ',', (size_t)(tl->end - s));
	if (e == NULL)
		e = tl->end;
	tl->p = e + 1;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*t = s;
	*n = (size_t)(e - s);
	return 1;
}

static int
tok_is(const char *t, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(t, want, n) == 0;
}

/* Content-Length: every element of every header the same number. */
static int
take_clen(struct http_msg *m, const struct http_hdr *h)
{
	struct toklist tl = { h->value, h->value + h->vlen };
	const char *t;
	uint64_t v;
	size_t n, i;

	while (next_token(&tl, &t, &n)) {
		if (n == 0 || n > 18)
			return -1;
		for (v = 0, i = 0; i < n; i++) {
			if (t[i] < '0' || t[i] > '9')
				return -1;
			v = v * 10 + (uint64_t)(t[i] - '0');
		}
		if ((m->flags & HF_CLEN) && v != m->clen)
			return -1;
		m->flags |= HF_CLEN;
		m->clen = v;
	}
	return 0;
}

/*
 * Transfer-Encoding: chunked must come last and only once.  Other codings
 * are noted: a response may carry them (gzip, chunked), a request not.
 */
static int
take_te(struct http_msg *m, const struct http_hdr *h)
{
	struct toklist tl = { h->value, h->value + h->vlen };
	const char *t;
	size_t n;

	m->flags |= HF_TE;
	while (next_token(&tl, &t, &n)) {
		if (n == 0 || (m->flags & HF_CHUNKED))
			return -1;
		if (tok_is(t, n, "chunked"))
			m->flags |= HF_CHUNKED;
		else
			m->flags |= HF_TE_OTHER;
	}
	return 0;
}

/* Connection: a list of tokens; "connection: ," is an error. */
static int
take_connection(struct http_msg *m, const struct http_hdr *h)
{
	struct toklist tl = { h->value, h->value + h->vlen };
	const char *t;
	size_t n, i, seen = 0;

	while (next_token(&tl, &t, &n)) {
		if (n == 0)
			continue;
		for (i = 0; i < n; i++)
			if (!tchar[(unsigned char)t[i]])
				return -1;
		seen++;
		if (tok_is(t, n, "close"))
			m->flags |= HF_CLOSE;
		else if (tok_is(t, n, "keep-alive"))
			m->flags |= HF_KEEPALIVE;
		else if (tok_is(t, n, "upgrade"))
			m->flags |= HF_UPGRADE;
		else if (m->ncopt == HTTP_CONNOPT_MAX)
			return -1;	/* bounds the work of http_msg_hop */
		else {
			m->copt[m->ncopt].p = t;
			m->copt[m->ncopt++].n = (uint32_t)n;
		}
	}
	return seen ? 0 : -1;
}

/* The headers that decide framing and routing, shared by both ways. */
static int
analyze(struct http_msg *m, int *hosts, int *upgrade, const char **why)
{
	struct http_hdr *h;
	size_t i;

	for (i = 0; i < m->nhdr; i++) {
		h = &m->hdr[i];
		*why = "bad header";
		if (http_name_is(h, "content-length")) {
			*why = "bad content-length";
			if (take_clen(m, h) == -1)
				return -1;
		} else if (http_name_is(h, "transfer-encoding")) {
			*why = "bad transfer-encoding";
			if (take_te(m, h) == -1)
				return -1;
		} else if (http_name_is(h, "connection")) {
			if (take_connection(m, h) == -1)
				return -1;
		} else if (http_name_is(h, "host")) {
			m->host = (int)i;
			(*hosts)++;
		} else if (http_name_is(h, "upgrade")) {
			*upgrade = 1;
		} else if (m->reqid == -1 && http_name_is(h, "x-request-id")) {
			m->reqid = (int)i;
		} else if (m->xff == -1 && http_name_is(h, "x-forwarded-for")) {
			m->xff = (int)i;
		} else if (http_name_is(h, "set-cookie") &&
		    h->vlen > HTTP_COOKIE_MAX) {
			m->flags |= HF_COOKIE_BIG;
		}
	}
	if ((m->flags & HF_CLEN) && (m->flags & HF_TE)) {
		*why = "content-length with transfer-encoding";
		return -1;
	}
	if (!*upgrade)
		m->flags &= ~HF_UPGRADE;
	return 0;
}

/* "HTTP/1.0" or "HTTP/1.1" into m->minor. */
static int
parse_version(const char *p, struct http_msg *m)
{
	if (memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
		return -1;
	m->minor = p[7] - '0';
	return 0;
}

/* METHOD SP TARGET SP HTTP/1.x with single spaces. */
static int
parse_request_line(const char *p, size_t n, struct http_msg *m)
{
	size_t i = 0, t;

	while (i < n && tchar[(unsigned char)p[i]])
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i == n || p[i] != ' ')
		return -1;
	m->method = p;
	m->mlen = i;
	t = ++i;
	while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t || i == n || p[i] != ' ' || n - i - 1 != 8)
		return -1;
	m->target = p + t;
	m->tlen = i - t;
	return parse_version(p + i + 1, m);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 reg-name and IPv4address bytes: unreserved, sub-delims, '%'. */
static int
regname_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("-._~!$&'()*+,;=%", c) != NULL);
}

/*
 * host [":" port] of an http(s) URI: a non-empty reg-name or a bracketed
 * IP literal.  No userinfo: RFC 9110 4.2.4 forbids it in a target.
 */
static int
authority_ok(const char *p, size_t n)
{
	size_t i = 0, ps;
	unsigned port;

	if (n > 0 && p[0] == '[') {
		for (i = 1; i < n && p[i] != ']'; i++)
			if (hexval((unsigned char)p[i]) < 0 && p[i] != ':' &&
			    p[i] != '.')
				return 0;
		if (i == n || i == 1)
			return 0;
		i++;
	} else {
		while (i < n && regname_char((unsigned char)p[i]))
			i++;
		if (i == 0)
			return 0;
	}
	if (i == n)
		return 1;
	if (p[i] != ':')
		return 0;
	for (ps = ++i, port = 0; i < n && i - ps < 5 && p[i] >= '0' &&
	    p[i] <= '9'; i++)
		port = port * 10 + (unsigned)(p[i] - '0');
	return i == n && port <= 65535;
}

/*
 * The request target's form (RFC 9112 3.2): origin-form, "*" for
 * OPTIONS, or an http(s) absolute-form, which is cut down to origin-form
 * with its authority kept apart.  An empty path becomes "/"; an empty
 * path with a query is refused rather than rebuilt outside the buffer.
 */
static int
parse_target(struct http_msg *m)
{
	const char *t = m->target, *e = m->target + m->tlen, *a, *s;

	if (m->tlen > 0 && t[0] == '/')
		return 0;
	if (m->tlen == 1 && t[0] == '*')
		return m->mlen == 7 && memcmp(m->method, "OPTIONS", 7) == 0 ?
		    0 : -1;
	if (m->tlen > 7 && strncasecmp(t, "http://", 7) == 0)
		a = t + 7;
	else if (m->tlen > 8 && strncasecmp(t, "https://", 8) == 0)
		a = t + 8;
	else
		return -1;
	for (s = a; s < e && *s != '/' && *s != '?' && *s != '#'; s++)
		continue;
	if (!authority_ok(a, (size_t)(s - a)) || (s < e && *s != '/'))
		return -1;
	m->authority = a;
	m->hostv = a;
	m->hostlen = (size_t)(s - a);
	m->target = s < e ? s : "/";
	m->tlen = s < e ? (size_t)(e - s) : 1;
	return 0;
}

static void
msg_init(struct http_msg *m, struct http_hdr *keep)
{
	memset(m, 0, sizeof(*m));
	m->hdr = keep;
	m->host = m->reqid = m->xff = -1;
}

/* Request semantics after the syntax: Host, Expect, framing, CONNECT. */
static int
check_request(struct http_msg *m, int hosts)
{
	size_t i;

	if (hosts != 1)
		return fail(m, 400, "H26", hosts ? "multiple host headers" :
		    "missing host header");
	if (m->mlen == 7 && memcmp(m->method, "CONNECT", 7) == 0)
		return fail(m, 400, "H26", "unsupported method");
	if ((m->flags & HF_TE) && m->minor == 0)
		return fail(m, 400, "H26", "bad transfer-encoding");
	/*
	 * A dyno that knows only an exact "chunked" would frame "gzip,
	 * chunked" or "identity, chunked" otherwise than the router does.
	 * The router decodes no coding but chunked, so the others are ones
	 * it does not implement: 501, as RFC 9112 6.1 asks.
	 */
	if ((m->flags & HF_TE) && (m->flags & HF_TE_OTHER))
		return fail(m, 501, "H26", "unsupported transfer-encoding");
	if ((m->flags & HF_TE) && !(m->flags & HF_CHUNKED))
		return fail(m, 400, "H26", "bad transfer-encoding");
	for (i = 0; i < m->nhdr; i++) {
		if (!http_name_is(&m->hdr[i], "expect"))
			continue;
		if (m->hdr[i].vlen != 12 ||
		    strncasecmp(m->hdr[i].value, "100-continue", 12) != 0)
			return fail(m, 417, "H26",
			    "unsupported expect header value");
		m->flags |= HF_CONTINUE;
	}
	return 0;
}

ssize_t
http_parse_request(const char *buf, size_t len, struct http_msg *m)
{
	const char *why = "bad request line", *end = buf + len;
	ssize_t hl;
	size_t n;
	int r, hosts = 0, upgrade = 0;

	msg_init(m, m->hdr);
	m->err_status = 400;
	if ((r = next_line(buf, end, HTTP_LINE_MAX, &n, &why)) <= 0)
		return r == 0 ? 0 : fail(m, 400, "H26", why);
	if (parse_request_line(buf, n, m) == -1)
		return fail(m, 400, "H26", "bad request line");
	hl = parse_fields(buf, buf + n + 2, end, HTTP_LINE_MAX, m, "H26");
	if (hl <= 0)
		return hl;
	if (analyze(m, &hosts, &upgrade, &why) == -1)
		return fail(m, 400, "H26", why);
	if (check_request(m, hosts) == -1)
		return -1;
	if (parse_target(m) == -1)
		return fail(m, 400, "H26", "bad request target");
	if (m->authority == NULL) {
		m->hostv = m->hdr[m->host].value;
		m->hostlen = m->hdr[m->host].vlen;
	}
	return hl;
}

/* HTTP/1.x SP 3DIGIT SP reason: the reason phrase may be empty. */
static int
parse_status_line(const char *p, size_t n, struct http_msg *m)
{
	if (n < 13 || parse_version(p, m) == -1 || p[8] != ' ')
		return -1;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || p[12] != ' ')
		return -1;
	m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	m->reason = p + 13;
	m->rlen = n - 13;
	return value_ok(m->reason, m->rlen) ? 0 : -1;
}

ssize_t
http_parse_response(const char *buf, size_t len, struct http_msg *m)
{
	const char *why = "bad status line", *end = buf + len;
	ssize_t hl;
	size_t n;
	int r, hosts = 0, upgrade = 0;

	msg_init(m, m->hdr);
	m->err_status = 502;
	if ((r = next_line(buf, end, HTTP_LINE_MAX, &n, &why)) == 0)
		return 0;
	if (r == -1 && strcmp(why, "line too long") == 0)
		return fail(m, 502, "H25", "HTTP restriction: oversized status line");
	if (r == -1)
		return fail(m, 502, "H17", "bad status line");
	if (parse_status_line(buf, n, m) == -1)
		return fail(m, 502, "H17", "bad status line");
	hl = parse_fields(buf, buf + n + 2, end, HEAD_MAX, m, "H17");
	if (hl <= 0)
		return hl;
	if (analyze(m, &hosts, &upgrade, &why) == -1)
		return fail(m, 502, "H25", "HTTP restriction: invalid content length");
	if (m->flags & HF_COOKIE_BIG)
		return fail(m, 502, "H25", "HTTP restriction: oversized cookie");
	return hl;
}

int
http_hop_by_hop(const struct http_hdr *h)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "te", "proxy-connection",
		"proxy-authorization", "upgrade", "trailer",
	};
	size_t i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (http_name_is(h, hop[i]))
			return 1;
	return 0;
}

int
http_msg_hop(const struct http_msg *m, const struct http_hdr *h)
{
	unsigned i;

	if (http_hop_by_hop(h))
		return 1;
	for (i = 0; i < m->ncopt; i++)
		if (m->copt[i].n == h->nlen &&
		    strncasecmp(m->copt[i].p, h->name, h->nlen) == 0)
			return !http_name_is(h, "host") &&
			    !http_name_is(h, "content-length") &&
			    !http_name_is(h, "transfer-encoding");
	return 0;
}

int
http_reqid_valid(const char *v, size_t n)
{
	size_t i;

	if (n < REQID_MIN || n > REQID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    c == '=' || c == '-'))
			return 0;
	}
	return 1;
}

/* Chunked body states. */
enum {
	CK_SIZE, CK_EXT, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF,
	CK_TRAILER_START, CK_TRAILER, CK_TRAILER_LF, CK_END_LF, CK_DONE
};

#define CK_LINE_MAX	4096	/* chunk-size line or trailer line */

/* One byte of the framing (not data); 0 or -1 on a bad chunk. */
static int
chunk_byte(struct http_chunker *ck, unsigned char c)
{
	int h;

	if (++ck->linelen > CK_LINE_MAX)
		return -1;
	switch (ck->state) {
	case CK_SIZE:
		if ((h = hexval(c)) >= 0) {
			if (++ck->ndigits > 15)
				return -1;
			ck->left = ck->left << 4 | (uint64_t)h;
			return 0;
		}
		if (ck->ndigits == 0 || (c != ';' && c != '\r'))
			return -1;
		ck->state = c == ';' ? CK_EXT : CK_SIZE_LF;
		return 0;
	case CK_EXT:
		if (c == '\r')
			ck->state = CK_SIZE_LF;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
		return 0;
	case CK_SIZE_LF:
		if (c != '\n')
			return -1;
		ck->linelen = 0;
		ck->state = ck->left ? CK_DATA : CK_TRAILER_START;
		return 0;
	case CK_DATA_CR:
		ck->state = CK_DATA_LF;
		return c == '\r' ? 0 : -1;
	case CK_DATA_LF:
		ck->state = CK_SIZE;
		ck->ndigits = 0;
		ck->linelen = 0;
		return c == '\n' ? 0 : -1;
	case CK_TRAILER_START:
		ck->state = c == '\r' ? CK_END_LF : CK_TRAILER;
		return c == '\n' ? -1 : 0;
	case CK_TRAILER:
		if (c == '\r')
			ck->state = CK_TRAILER_LF;
		else if (c == '\n')
			return -1;
		return 0;
	case CK_TRAILER_LF:
		ck->state = CK_TRAILER_START;
		ck->linelen = 0;
		return c == '\n' ? 0 : -1;
	case CK_END_LF:
		ck->state = CK_DONE;
		return c == '\n' ? 0 : -1;
	}
	return -1;
}

ssize_t
http_chunk_scan(struct http_chunker *ck, const char *p, size_t len,
    int *done, char *dec, size_t *declen)
{
	size_t i = 0, n;

	*done = 0;
	if (declen != NULL)
		*declen = 0;
	while (i < len && ck->state != CK_DONE) {
		if (ck->state == CK_DATA) {
			n = len - i < ck->left ? len - i : (size_t)ck->left;
			if (dec != NULL) {
				memmove(dec + *declen, p + i, n);
				*declen += n;
			}
			i += n;
			if ((ck->left -= n) == 0)
				ck->state = CK_DATA_CR;
			continue;
		}
		if (chunk_byte(ck, (unsigned char)p[i++]) == -1)
			return -1;
	}
	*done = ck->state == CK_DONE;
	return (ssize_t)i;
}
