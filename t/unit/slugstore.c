/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/slugstore: names, paths and URLs of the slug store. */
#include <errno.h>
#include <string.h>

#include "slugstore.h"
#include "tap.h"

#define HEX	"9f86d081884c7d659a2feaa0c55ad015" \
		"a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void
test_names(void)
{
	char hex[SLUGSTORE_HEX_LEN + 1], buf[256];

	ok(slugstore_hex_valid(HEX, 64), "a sha256");
	ok(!slugstore_hex_valid("9F86D081884C7D659A2FEAA0C55AD015"
	    "A3BF4F1B2B0B822CD15D6C15B0F00A08", 64), "upper case");
	ok(!slugstore_hex_valid("../../../../etc/passwd", 22), "a path");
	ok(!slugstore_hex_valid(HEX, 63), "short");
	ok(slugstore_name_parse("sha256-" HEX ".tgz", 75, hex) &&
	    strcmp(hex, HEX) == 0, "a store name");
	ok(!slugstore_name_parse("sha256-" HEX ".tar", 75, NULL), "not .tgz");
	ok(slugstore_path(buf, sizeof(buf), "/r", HEX) == 0 &&
	    strcmp(buf, "/r/slugs/sha256-" HEX ".tgz") == 0, "a path");
	errno = 0;
	ok(slugstore_path(buf, sizeof(buf), "/r", "../x") == -1 &&
	    errno == EINVAL, "no path of a bad sha");
}

/* slug_url is another host's word (from etcd): http(s) only. */
static void
test_url(void)
{
	char buf[512];

	ok(slugstore_url(buf, sizeof(buf), "http://h:5580/slugs/", HEX) ==
	    0 && strcmp(buf, "http://h:5580/slugs/sha256-" HEX ".tgz") == 0,
	    "http with its slash");
	ok(slugstore_url(buf, sizeof(buf), "https://h/slugs", HEX) == 0 &&
	    strcmp(buf, "https://h/slugs/sha256-" HEX ".tgz") == 0,
	    "https without");
	errno = 0;
	ok(slugstore_url(buf, sizeof(buf), "file:///var/lib/dyno/slugs/",
	    HEX) == -1 && errno == EINVAL, "no file:");
	ok(slugstore_url(buf, sizeof(buf), "ftp://h/", HEX) == -1,
	    "no ftp:");
	ok(slugstore_url(buf, sizeof(buf), "HTTP://h/", HEX) == -1,
	    "the scheme in lower case");
	ok(slugstore_url(buf, sizeof(buf), "", HEX) == -1, "no empty base");
	ok(slugstore_url(buf, sizeof(buf), "http://h/", "x") == -1,
	    "no bad sha");
	ok(slugstore_url(buf, 40, "http://h/slugs/", HEX) == -1 &&
	    errno == ENAMETOOLONG, "too long for buf");
}

int
main(void)
{
	test_names();
	test_url();
	return done_testing();
}
