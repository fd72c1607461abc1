/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/logtokens: the log-tokens file of an app. */
#include <errno.h>
#include <string.h>

#include "logtokens.h"
#include "tap.h"

static void
test_valid(void)
{
	char t[LOGTOKENS_LEN + 1], u[LOGTOKENS_LEN + 1];

	ok(logtokens_valid("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162", 38),
	    "a token");
	ok(!logtokens_valid("d.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162", 38),
	    "a drain token is not one");
	ok(!logtokens_valid("t.0B6E4A26-7C59-4D2E-9A4B-1D2E3F405162", 38),
	    "upper case");
	ok(!logtokens_valid("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f40516", 37),
	    "short");
	ok(!logtokens_valid("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162x", 39),
	    "long");
	ok(!logtokens_valid("t.0b6e4a267c59-4d2e-9a4b-1d2e3f405162-", 38),
	    "dash misplaced");
	ok(logtokens_new(t) == 0 && logtokens_new(u) == 0, "two new tokens");
	ok(logtokens_valid(t, strlen(t)) && t[16] == '4' &&
	    strchr("89ab", t[21]) != NULL, "a new one is a v4 UUID");
	ok(strcmp(t, u) != 0, "new ones differ");
}

static void
test_parse(void)
{
	struct logtoken t[3];
	char err[128], buf[256];
	const char *text = "# tokens\n\n"
	    "t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 app\n"
	    "t.1b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 heroku\n";

	is_int(logtokens_parse(text, t, 3, err, sizeof(err)), 2, "two tokens");
	is_str(t[1].token, "t.1b6e4a26-7c59-4d2e-9a4b-1d2e3f405162", "token");
	is_str(t[1].source, "heroku", "source");
	logtokens_format(buf, sizeof(buf), t, 2);
	is_str(buf, "t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 app\n"
	    "t.1b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 heroku\n", "format");
	is_int(logtokens_parse(text, t, 1, err, sizeof(err)), -1, "too many");
	ok(errno == E2BIG, "E2BIG");
	is_int(logtokens_parse("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 router\n",
	    t, 3, err, sizeof(err)), -1, "source router");
	is_str(err, "1: expected \"t.<uuid> app|heroku\"", "error names line");
	is_int(logtokens_parse("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162  app\n",
	    t, 3, err, sizeof(err)), -1, "two spaces");
	is_int(logtokens_parse("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 app \n",
	    t, 3, err, sizeof(err)), -1, "trailing space");
	is_int(logtokens_parse("t.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162\n",
	    t, 3, err, sizeof(err)), -1, "no source");
	is_int(logtokens_parse("", t, 3, err, sizeof(err)), 0, "empty file");
}

int
main(void)
{
	test_valid();
	test_parse();
	return done_testing();
}
