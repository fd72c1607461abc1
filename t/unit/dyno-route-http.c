/* SPDX-License-Identifier: ISC */
/* Unit tests for dyno-route's HTTP head parser and chunk walker. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "../../bin/route/dyno-route-http.h"
#include "state.h"
#include "tap.h"

static struct http_hdr hdrs[HTTP_MAX_HEADERS];

static ssize_t
req(const char *s, struct http_msg *m)
{
	m->hdr = hdrs;
	return http_parse_request(s, strlen(s), m);
}

static void
test_good(void)
{
	struct http_msg m;
	const char *s = "POST /a?b HTTP/1.1\r\nHost: x.localhost\r\n"
	    "Content-Length: 5, 5\r\nX-Request-Id: abc\r\n"
	    "X-Forwarded-For: 1.2.3.4\r\nConnection: keep-alive, Upgrade\r\n"
	    "\r\nhello";

	is_int(req(s, &m), (ssize_t)strlen(s) - 5, "head length");
	is_int(m.mlen, 4, "method");
	is_int(m.tlen, 4, "target");
	is_int(m.minor, 1, "HTTP/1.1");
	is_int(m.clen, 5, "identical lengths merge");
	ok(m.flags & HF_CLEN, "has length");
	ok(m.flags & HF_KEEPALIVE, "keep-alive token");
	ok(!(m.flags & HF_UPGRADE), "upgrade token without Upgrade header");
	is_int(m.host, 0, "host index");
	is_int(m.reqid, 2, "request id index");
	is_int(m.xff, 3, "xff index");
	is_int(req("GET / HTTP/1.1\r\nHost: x\r\n", &m), 0, "incomplete");
}

static void
expect_error(const char *s, int status, const char *cause)
{
	struct http_msg m;

	if (is_int(req(s, &m), -1, "refused: %s", cause)) {
		is_int(m.err_status, status, "status for %s", cause);
		is_str(m.err_cause, cause, "cause");
	}
}

static void
test_bad(void)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400,
	    "content-length with transfer-encoding");
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n", 400, "bad content-length");
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,2\r\n\r\n",
	    400, "bad content-length");
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n b\r\n\r\n", 400,
	    "obs-fold");
	expect_error("GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare LF");
	expect_error("GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", 400, "bare LF");
	expect_error("GET / HTTP/1.1\r\n\r\n", 400, "missing host header");
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
	    "multiple host headers");
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n", 417,
	    "unsupported expect header value");
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,\r\n\r\n", 400,
	    "bad header");
	expect_error("GET / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", 400, "bad transfer-encoding");
	expect_error("CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "unsupported method");
}

/* A request carries a lone chunked or no transfer coding at all. */
static void
test_transfer_codings(void)
{
	static const char *const other[] = { "identity, chunked",
	    "gzip, chunked", "gzip", "x-custom,chunked" };
	char s[256];
	struct http_msg m;
	size_t i;

	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: %s\r\n\r\n", other[i]);
		expect_error(s, 501, "unsupported transfer-encoding");
	}
	expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked, chunked\r\n\r\n", 400, "bad transfer-encoding");
	expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
	    "bad transfer-encoding");
	ok(req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \t"
	    "ChUnKeD \r\n\r\n", &m) > 0 && (m.flags & HF_CHUNKED),
	    "a lone chunked, any case, OWS around it");
	m.hdr = hdrs;
	s[0] = '\0';
	snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n");
	ok(http_parse_response(s, strlen(s), &m) > 0 &&
	    (m.flags & HF_CHUNKED), "a response may be gzip, chunked");
}

/* str is the field of (p, n). */
static int
same(const char *p, size_t n, const char *str)
{
	return p != NULL && n == strlen(str) && memcmp(p, str, n) == 0;
}

/* RFC 9112 3.2.2: the absolute-form's authority wins over Host. */
static void
test_targets(void)
{
	static const char *const bad[] = { "http://", "http:///x",
	    "http://u@evil/x", "http://a\"b/", "ftp://a/x", "http:/a/x",
	    "x/y", "*", "http://a?q", "http://a#f", "http://a:123456/", "http://a:65536/",
	    "http://[zz]/", "http://[]/", "http://a:b/" };
	struct http_msg m;
	char s[256];
	size_t i;

	ok(req("GET http://Other.Example:8080/x?y HTTP/1.1\r\nHost: mine\r\n"
	    "\r\n", &m) > 0, "absolute-form");
	ok(same(m.hostv, m.hostlen, "Other.Example:8080"), "host from it");
	ok(same(m.target, m.tlen, "/x?y"), "origin-form left");
	ok(m.authority != NULL, "authority kept");
	ok(req("GET HTTPS://[::1]:443 HTTP/1.1\r\nHost: mine\r\n\r\n",
	    &m) > 0 && same(m.target, m.tlen, "/") &&
	    same(m.hostv, m.hostlen, "[::1]:443"), "no path: /");
	ok(req("GET /a HTTP/1.1\r\nHost: mine\r\n\r\n", &m) > 0 &&
	    same(m.hostv, m.hostlen, "mine") && m.authority == NULL,
	    "origin-form: Host");
	ok(req("OPTIONS * HTTP/1.1\r\nHost: mine\r\n\r\n", &m) > 0,
	    "OPTIONS *");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
		    bad[i]);
		expect_error(s, 400, "bad request target");
	}
}

static void
test_response(void)
{
	struct http_msg m;
	const char *r1 = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";
	const char *r2 = "HTTP/1.1 204 \r\nSet-Cookie: a=b\r\n\r\n";

	m.hdr = hdrs;
	is_int(http_parse_response(r1, strlen(r1), &m), -1, "no reason: H17");
	is_str(m.err_code, "H17", "H17");
	is_int(http_parse_response(r2, strlen(r2), &m), (ssize_t)strlen(r2),
	    "empty reason is fine");
	is_int(m.status, 204, "status");
}

static void
test_chunks(void)
{
	const char *body = "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\nNEXT";
	struct http_chunker ck = { 0 };
	char dec[64];
	size_t dl;
	ssize_t n;
	int done;

	n = http_chunk_scan(&ck, body, strlen(body), &done, dec, &dl);
	is_int(n, (ssize_t)strlen(body) - 4, "stops at the end of the body");
	ok(done, "done");
	dec[dl] = '\0';
	is_str(dec, "Wikipedia", "decoded");
	memset(&ck, 0, sizeof(ck));
	is_int(http_chunk_scan(&ck, "zz\r\n", 4, &done, NULL, NULL), -1,
	    "bad size");
	memset(&ck, 0, sizeof(ck));
	is_int(http_chunk_scan(&ck, "1\r\nab\r\n", 7, &done, NULL, NULL), -1,
	    "data longer than its size");
	ok(http_reqid_valid("abcdefghij0123456789", 20), "20-char id");
	ok(!http_reqid_valid("abcdefghij012345678!", 20), "bad character");
}

/* Headers named by Connection are hop-by-hop, framing ones excepted. */
static void
test_connection_options(void)
{
	struct http_msg m;
	char many[512];
	size_t i, n;
	const char *s = "GET / HTTP/1.1\r\nHost: x\r\nX-Secret: 1\r\n"
	    "Connection: x-secret, close\r\nConnection: Content-Length\r\n"
	    "Content-Length: 0\r\nX-Kept: 2\r\n\r\n";

	if (!ok(req(s, &m) > 0, "connection options parse"))
		return;
	is_int(m.ncopt, 2, "two options besides close");
	ok(m.flags & HF_CLOSE, "close still seen");
	for (i = 0; i < m.nhdr; i++)
		ok(http_msg_hop(&m, &m.hdr[i]) == (i >= 1 && i <= 3),
		    "header %zu: hop-by-hop or not", i);
	n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: x"
	    "\r\nConnection: ");
	for (i = 0; i <= HTTP_CONNOPT_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "o%zu,", i);
	snprintf(many + n, sizeof(many) - n, "z\r\n\r\n");
	expect_error(many, 400, "bad header");
}

/* Every saved fuzz input goes through both parsers without harm. */
static void
test_corpus(void)
{
	const char *dir = "t/fuzz/corpus/dyno-route";
	char path[4096], *data;
	struct http_msg m;
	struct dirent *de;
	size_t len;
	int n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		ok(0, "open %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (state_read(path, 1 << 20, &data, &len) == -1)
			continue;
		m.hdr = hdrs;
		(void)http_parse_request(data, len, &m);
		(void)http_parse_response(data, len, &m);
		free(data);
		n++;
	}
	closedir(d);
	ok(n > 0, "%d corpus inputs parsed", n);
}

int
main(void)
{
	test_good();
	test_bad();
	test_transfer_codings();
	test_targets();
	test_response();
	test_chunks();
	test_connection_options();
	test_corpus();
	return done_testing();
}
