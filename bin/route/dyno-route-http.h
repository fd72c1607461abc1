/* SPDX-License-Identifier: ISC */
/*
 * dyno-route-http.c: a strict HTTP/1.x head parser and chunked-body
 * walker.  No I/O and nothing of the router: the unit test and the fuzz
 * target link it alone.
 */
#ifndef DYNO_ROUTE_HTTP_H
#define DYNO_ROUTE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits of heroku.md 3.7; a whole head must also fit in HEAD_MAX. */
#define HTTP_METHOD_MAX		127
#define HTTP_LINE_MAX		8192
#define HTTP_NAME_MAX		1000
#define HTTP_MAX_HEADERS	1000
#define HTTP_COOKIE_MAX		8192
#define HEAD_MAX		(96 * 1024)
#define REQID_MIN		20
#define REQID_MAX		200
/* Connection options naming other headers; more is a bad header. */
#define HTTP_CONNOPT_MAX	32

struct http_hdr {
	const char	*name;
	const char	*value;
	uint32_t	 nlen, vlen;
};

#define HF_CLEN		0x001	/* Content-Length given */
#define HF_CHUNKED	0x002	/* Transfer-Encoding ends in chunked */
#define HF_CLOSE	0x004	/* Connection: close */
#define HF_KEEPALIVE	0x008	/* Connection: keep-alive */
#define HF_UPGRADE	0x010	/* Connection: upgrade and an Upgrade header */
#define HF_CONTINUE	0x020	/* Expect: 100-continue */
#define HF_TE		0x040	/* any Transfer-Encoding */
#define HF_COOKIE_BIG	0x080	/* a Set-Cookie over HTTP_COOKIE_MAX */
#define HF_TE_OTHER	0x100	/* a transfer coding other than chunked */

/* A token inside a header value. */
struct http_tok {
	const char	*p;
	uint32_t	 n;
};

/*
 * A parsed head; every pointer points into the caller's buffer, but for
 * target, which is a static "/" when an absolute-form target has no path.
 */
struct http_msg {
	const char	*method, *target, *reason;
	size_t		 mlen, tlen, rlen;
	/*
	 * A request's host: the authority of an absolute-form target
	 * (RFC 9112 3.2.2: it wins over Host), else the Host value.  An
	 * absolute-form target is reduced to origin-form in target/tlen,
	 * and authority is then not NULL.
	 */
	const char	*hostv, *authority;
	size_t		 hostlen;
	int		 minor;		/* HTTP/1.minor */
	int		 status;	/* responses */
	struct http_hdr	*hdr;		/* caller's array of HTTP_MAX_HEADERS */
	size_t		 nhdr;
	uint64_t	 clen;
	unsigned	 flags;
	int		 host;		/* index of Host, -1 if none */
	int		 reqid;		/* index of X-Request-Id, -1 */
	int		 xff;		/* index of X-Forwarded-For, -1 */
	/* Connection options other than close, keep-alive and upgrade */
	struct http_tok	 copt[HTTP_CONNOPT_MAX];
	unsigned	 ncopt;
	int		 err_status;	/* on error: 400, 417, 502 */
	const char	*err_code;	/* on error: "H17", "H25", "H26" */
	const char	*err_cause;	/* on error: H26 cause / H25 desc */
};

/*
 * Parse a request head at buf[0..len).  Returns the head's length with m
 * filled, 0 when more bytes are needed, or -1 with m->err_status and
 * m->err_cause set: smuggling-prone input (bare LF, obs-fold, CL with TE,
 * conflicting lengths) is always an error, never guessed at.  The only
 * transfer coding a request may carry is a lone chunked (others: 501); the
 * target is origin-form, "*" for OPTIONS, or an http(s) absolute-form.
 */
ssize_t	http_parse_request(const char *buf, size_t len, struct http_msg *m);
/* The same for a response head; errors are 502 (H17 or H25). */
ssize_t	http_parse_response(const char *buf, size_t len, struct http_msg *m);

/* Case-insensitive header-name test. */
int	http_name_is(const struct http_hdr *h, const char *name);
/* Whether a header is hop-by-hop and never forwarded as is. */
int	http_hop_by_hop(const struct http_hdr *h);
/*
 * The same for a header of m: the fixed set, or a name m's Connection
 * headers list (RFC 9110 7.6.1).  Host, Content-Length and
 * Transfer-Encoding are never dropped that way: the router frames the
 * message by them, so dropping them would desynchronise the dyno.
 */
int	http_msg_hop(const struct http_msg *m, const struct http_hdr *h);
/* A client X-Request-Id we keep: 20-200 of [A-Za-z0-9+/=-]. */
int	http_reqid_valid(const char *v, size_t n);

/* Walks a chunked body without trusting it. */
struct http_chunker {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	unsigned	 linelen;	/* bytes of size/ext/trailer line */
	unsigned	 ndigits;
};

/*
 * Scan len bytes of chunked body.  Returns the bytes that belong to the
 * body (less than len only when the body ended), sets *done at its end,
 * -1 on a malformed chunk.  When dec is not NULL the chunk data alone is
 * copied there (dec may equal p: decoding never overtakes reading) and
 * *declen gets its length.
 */
ssize_t	http_chunk_scan(struct http_chunker *ck, const char *p, size_t len,
	    int *done, char *dec, size_t *declen);

#endif
