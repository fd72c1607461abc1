/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/num and lib/names. */
#include <errno.h>

#include "names.h"
#include "num.h"
#include "tap.h"

static void
test_num(void)
{
	uint64_t v;
	unsigned u;
	int b;
	char buf[32];

	ok(num_parse_u64("42", 0, 100, &v) == 0 && v == 42, "u64");
	ok(num_parse_u64("101", 0, 100, &v) == -1 && errno == ERANGE, "above max");
	ok(num_parse_u64("-1", 0, 100, &v) == -1 && errno == EINVAL, "sign");
	ok(num_parse_u64("", 0, 100, &v) == -1 && errno == EINVAL, "empty");
	ok(num_parse_u64("12x", 0, 100, &v) == -1 && errno == EINVAL, "junk");
	ok(num_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v) == -1 &&
	    errno == ERANGE, "overflow");
	ok(num_parse_uint("5000", 1, 65535, &u) == 0 && u == 5000, "uint");

	ok(num_parse_duration_ms("30", &v) == 0 && v == 30000, "bare = seconds");
	ok(num_parse_duration_ms("250ms", &v) == 0 && v == 250, "ms");
	ok(num_parse_duration_ms("2m", &v) == 0 && v == 120000, "minutes");
	ok(num_parse_duration_ms("1h30m", &v) == 0 && v == 5400000, "sum");
	ok(num_parse_duration_ms("1d", &v) == 0 && v == 86400000, "days");
	ok(num_parse_duration_ms("5x", &v) == -1 && errno == EINVAL, "bad unit");
	ok(num_parse_duration_ms("1h30", &v) == -1, "bare number after a unit");
	ok(num_parse_duration_ms("", &v) == -1, "empty duration");

	ok(num_parse_size("512M", &v) == 0 && v == 512ULL << 20, "512M");
	ok(num_parse_size("1G", &v) == 0 && v == 1ULL << 30, "1G");
	ok(num_parse_size("64kB", &v) == 0 && v == 65536, "64kB");
	ok(num_parse_size("100", &v) == 0 && v == 100, "bytes");
	ok(num_parse_size("1 G", &v) == -1, "space refused");
	ok(num_parse_size("1Q", &v) == -1, "bad suffix");

	ok(num_parse_bool("yes", &b) == 0 && b == 1, "yes");
	ok(num_parse_bool("Off", &b) == 0 && b == 0, "Off");
	ok(num_parse_bool("maybe", &b) == -1, "maybe");

	num_format_duration(90000, buf, sizeof(buf));
	is_str(buf, "1m", "format 90 s");
	num_format_duration(3 * 86400000ULL + 7200000, buf, sizeof(buf));
	is_str(buf, "3d2h", "format days");
}

static void
test_names(void)
{
	size_t tl;
	unsigned n;

	ok(names_check_app("myapp") == NULL, "app ok");
	ok(names_check_app("my-app-2") == NULL, "app with dashes and digits");
	ok(names_check_app("ab") != NULL, "app too short");
	ok(names_check_app("MyApp") != NULL, "app uppercase");
	ok(names_check_app("1app") != NULL, "app starting with a digit");
	ok(names_check_app("app-") != NULL, "app ending with a dash");
	ok(names_check_app("a_b_c") != NULL, "app underscore");
	ok(names_check_app("abcdefghijklmnopqrstuvwxyz01234") != NULL,
	    "app 31 characters");

	ok(names_check_configvar("DATABASE_URL") == NULL, "var ok");
	ok(names_check_configvar("lower_ok") == NULL, "lowercase var ok");
	ok(names_check_configvar("1X") != NULL, "var starts with digit");
	ok(names_check_configvar("A-B") != NULL, "var with dash");
	ok(names_check_configvar("__X") != NULL, "var starts with __");
	ok(names_check_configvar("HEROKU_APP") != NULL, "HEROKU_ reserved");
	ok(names_check_configvar("") != NULL, "empty var");

	ok(names_check_proctype("web") == NULL, "type ok");
	ok(names_check_proctype("a.b") != NULL, "type with a dot");
	ok(names_check_dyno("web.12", &tl, &n) == NULL && tl == 3 && n == 12,
	    "dyno name");
	ok(names_check_dyno("web", NULL, NULL) != NULL, "dyno without number");
	ok(names_check_dyno("web.0", NULL, NULL) != NULL, "dyno number 0");
	ok(names_check_dyno("web.1x", NULL, NULL) != NULL, "dyno number junk");
	ok(names_check_space("my-space") == NULL, "space ok");
	ok(names_check_space("a--b") != NULL, "space double dash");
}

int
main(void)
{
	test_num();
	test_names();
	return done_testing();
}
