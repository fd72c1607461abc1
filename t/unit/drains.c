/* SPDX-License-Identifier: ISC */
/* Drain URLs, tokens and the drains file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drains.h"
#include "golden.h"
#include "state.h"
#include "tap.h"

#define GOLDEN	"t/data/drains"
#define MAXD	8

static void
good(const char *url, enum drain_kind kind, const char *host, unsigned port)
{
	struct drainurl u;
	const char *why = NULL;

	if (!ok(drains_parse_url(url, &u, &why) == 0, "accepts %s", url)) {
		printf("#   %s\n", why);
		return;
	}
	ok(u.kind == kind && strcmp(u.host, host) == 0 && u.port == port,
	    "  kind %d host %s port %u", u.kind, u.host, u.port);
}

static void
test_urls(void)
{
	static const char *bad[] = {
		"ftp://x", "syslog://host", "syslog://:514", "syslog://h:0",
		"syslog://h:65536", "syslog://h:514/path", "https://",
		"https://u:p@", "syslog+tls://u:p@h:1", "http://h:x/",
		"https://h /x", "logs.example.com:514", "https://[::1/x",
	};
	struct drainurl u;
	const char *why;
	size_t i;
	int rc;

	good("syslog://logs.example.com:514", DRAIN_SYSLOG, "logs.example.com",
	    514);
	good("syslog+tls://127.0.0.1:6514/", DRAIN_SYSLOG_TLS, "127.0.0.1", 6514);
	good("https://user:p%40ss@logs.example.com/drain?x=1", DRAIN_HTTPS,
	    "logs.example.com", 443);
	good("http://[::1]:8080/logs", DRAIN_HTTP, "::1", 8080);
	good("https://h:9443", DRAIN_HTTPS, "h", 9443);
	/* Parse first: why is only set by the call. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = "accepted";
		rc = drains_parse_url(bad[i], &u, &why);
		ok(rc == -1, "rejects %s (%s)", bad[i], why);
	}
}

static void
test_tokens(void)
{
	char a[DRAINS_TOKEN_LEN + 1], b[DRAINS_TOKEN_LEN + 1];

	ok(drains_new_token(a) == 0 && drains_new_token(b) == 0, "tokens made");
	ok(drains_token_valid(a), "valid: %s", a);
	ok(strcmp(a, b) != 0, "two tokens differ");
	ok(a[16] == '4', "uuid version 4");
	ok(!drains_token_valid("d.fc6b856b-3332-4546-93de-7d0ee272c3b"),
	    "short token");
	ok(!drains_token_valid("t.fc6b856b-3332-4546-93de-7d0ee272c3bd"),
	    "wrong prefix");
	ok(!drains_token_valid("d.FC6B856B-3332-4546-93de-7d0ee272c3bd"),
	    "uppercase");
}

static void
test_file(void)
{
	const char *text = "# drains of myapp\n\n"
	    "d.fc6b856b-3332-4546-93de-7d0ee272c3bd syslog://h:514\n"
	    "d.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 https://u:p@h/x\n";
	struct drain_entry e[3];
	char out[512], err[128];

	is_int(drains_parse(text, e, 3, err, sizeof(err)), 2, "two drains");
	is_str(e[1].url, "https://u:p@h/x", "url");
	is_str(e[0].token, "d.fc6b856b-3332-4546-93de-7d0ee272c3bd", "token");
	drains_format(out, sizeof(out), e, 2);
	is_str(out, strstr(text, "d.fc6b"), "formats back");
	is_int(drains_parse(text, e, 1, err, sizeof(err)), -1, "over max");
	is_str(err, "4: more than 1 drains", "says which line");
	is_int(drains_parse("d.x syslog://h:1\n", e, 3, err, sizeof(err)), -1,
	    "bad token");
	is_str(err, "1: expected \"d.<uuid> URL\"", "why");
	is_int(drains_parse("d.fc6b856b-3332-4546-93de-7d0ee272c3bd ftp://h\n",
	    e, 3, err, sizeof(err)), -1, "bad url");
}

static void
test_redact(void)
{
	char out[DRAINS_URL_MAX];

	drains_redact_url(out, sizeof(out), "https://user:s3cret@h:8443/x?y=1");
	is_str(out, "https://user:***@h:8443/x?y=1", "password hidden");
	drains_redact_url(out, sizeof(out), "https://u:p@ss@h/");
	is_str(out, "https://u:***@h/", "up to the last @");
	drains_redact_url(out, sizeof(out), "https://user@h/a:b@c");
	is_str(out, "https://user@h/a:b@c", "no password, path untouched");
	drains_redact_url(out, sizeof(out), "syslog://h:514");
	is_str(out, "syslog://h:514", "no userinfo");
	is_int((int)drains_redact_url(out, 8, "https://u:p@h/"), 16,
	    "needed length");
}

/* CASE.in parsed and written back as dyno-logs drains add writes it, or
 * the error. */
static char *
run_golden(const char *dir, const char *file, size_t *len)
{
	char path[512], err[256], *text, *out;
	struct drain_entry e[MAXD];
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (state_read(path, DRAINS_FILE_MAX, &text, NULL) == -1)
		return NULL;
	n = drains_parse(text, e, MAXD, err, sizeof(err));
	free(text);
	if (n == -1) {
		if (asprintf(&out, "error: %s\n", err) == -1)
			return NULL;
		*len = strlen(out);
		return out;
	}
	*len = drains_format(NULL, 0, e, (size_t)n);
	if ((out = malloc(*len + 1)) != NULL)
		drains_format(out, *len + 1, e, (size_t)n);
	return out;
}

int
main(void)
{
	test_redact();
	test_urls();
	test_tokens();
	test_file();
	ok(golden_each(GOLDEN, ".in", run_golden) >= 4, "golden cases");
	return done_testing();
}
