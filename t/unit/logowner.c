/* SPDX-License-Identifier: ISC */
/* The log-owner file and the slug store's names: what is taken, what not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "logowner.h"
#include "slugstore.h"
#include "tap.h"

static void
test_owner(void)
{
	static const char *bad[] = {
		"", "h1", "h1 ", "h1 10.0.0.1", "h1 10.0.0.1:", "h1 10.0.0.1:0",
		"h1 10.0.0.1:65536", "h1 host.example:80", "h1 10.0.0.1:80 x",
		"h1  10.0.0.1:80", "h/1 10.0.0.1:80", "h1 10.0.0.256:80",
		"h1 [10.0.0.1]:80", "h1 fd00::1:80", "h1 10.0.0.1:80\nh2 1.2.3.4:5",
		"h1 10.0.0.1:8a", "../x 10.0.0.1:80",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1.2.3.4:5",
	};
	struct logowner o;
	char buf[128];
	size_t i;

	ok(logowner_parse("h1 10.250.0.1:5514\n", &o, NULL) == 0, "one line");
	is_str(o.host, "h1", "host");
	is_str(o.addr, "10.250.0.1", "address");
	ok(o.port == 5514, "port");
	logowner_format(buf, sizeof(buf), &o);
	is_str(buf, "h1 10.250.0.1:5514\n", "formats back");
	ok(logowner_parse("h-2.b_c [fd00::1]:80", &o, NULL) == 0, "IPv6");
	is_str(o.addr, "fd00::1", "without brackets");
	logowner_addr(buf, sizeof(buf), &o);
	is_str(buf, "[fd00::1]:80", "with brackets again");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(logowner_parse(bad[i], &o, NULL) == -1, "refused: %s", bad[i]);
}

static void
test_slugstore(void)
{
	char hex[SLUGSTORE_HEX_LEN + 1], buf[128];
	const char *h = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	char name[100];

	snprintf(name, sizeof(name), "sha256-%s.tgz", h);
	ok(slugstore_name_parse(name, strlen(name), hex) == 1, "a store name");
	is_str(hex, h, "its hex");
	ok(slugstore_name(buf, sizeof(buf), h) == 0, "made");
	is_str(buf, name, "the same name");
	ok(!slugstore_name_parse(name, strlen(name) - 1, NULL), "cut short");
	name[10] = 'A';
	ok(!slugstore_name_parse(name, strlen(name), NULL), "upper case");
	name[10] = '/';
	ok(!slugstore_name_parse(name, strlen(name), NULL), "a slash");
	name[10] = '\0';
	ok(!slugstore_name_parse(name, 75, NULL), "a NUL");
	ok(!slugstore_name_parse("../secret", 9, NULL), "dot-dot");
	ok(slugstore_name(buf, sizeof(buf), "../x") == -1, "no name for junk");
	snprintf(name, sizeof(name), "sha256:%s", h);
	ok(slugstore_ref_parse(name, hex) == 1, "sha256:HEX");
	ok(!slugstore_ref_parse("sha256:abc", hex), "short hex");
	ok(!slugstore_ref_parse(h, hex), "no prefix: a file name");
	ok(slugstore_dir(buf, sizeof(buf), "/var/lib/dyno") == 0, "the folder");
	is_str(buf, "/var/lib/dyno/slugs", "DYNO_ROOT/slugs");
	ok(slugstore_url(buf, sizeof(buf), "http://h:1/slugs/", h) == 0,
	    "a URL");
	snprintf(name, sizeof(name), "http://h:1/slugs/sha256-%s.tgz", h);
	is_str(buf, name, "base with its slash");
	ok(slugstore_url(buf, sizeof(buf), "http://h:1/slugs", h) == 0,
	    "a URL, base without the slash");
	is_str(buf, name, "one slash added");
	ok(slugstore_url(buf, sizeof(buf), "", h) == -1 && errno == EINVAL,
	    "no URL on an empty base");
	ok(slugstore_url(buf, sizeof(buf), "http://h/", "../../etc") == -1,
	    "no URL for junk");
	ok(slugstore_url(buf, 20, "http://h/", h) == -1 &&
	    errno == ENAMETOOLONG, "too long");
	ok(!slugstore_has("/nonexistent", h), "not in a missing store");
	ok(!slugstore_has("/", "../etc/passwd"), "junk is never in it");
}

int
main(void)
{
	test_owner();
	test_slugstore();
	return done_testing();
}
