/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/certstore: name rules, coverage, the router's pick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstore.h"
#include "tap.h"

static void
test_domains(void)
{
	static const char *good[] = { "example.com", "www.example.com",
	    "*.example.com", "a-b.c0.example", "xn--bcher-kva.example" };
	static const char *bad[] = { "", "com", "*.com", "Example.com",
	    "a..b", ".a.b", "a.b.", "-a.b", "a-.b", "a.*.b", "**.a.b",
	    "*a.b.c", "a_b.c", "a b.c", "a.b/c", "a.b\n", "\xc3\xa9.b.c",
	    "*", "*.", "x.*" };
	char big[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(certstore_check_domain(good[i]) == NULL, "good: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(certstore_check_domain(bad[i]) != NULL, "bad: %s", bad[i]);
	memset(big, 'a', sizeof(big));
	big[63] = '.';
	big[64] = '\0';
	ok(certstore_check_domain(big) != NULL, "an empty last label");
	strcpy(big + 64, "bbbb");
	big[63] = 'a';
	ok(certstore_check_domain(big) != NULL, "a label of 64");
	for (i = 0; i < 260; i++)
		big[i] = i % 50 == 49 ? '.' : 'a';
	big[254] = '\0';
	ok(certstore_check_domain(big) != NULL, "254 characters");
	big[253] = '\0';
	ok(certstore_check_domain(big) == NULL, "253 characters");
}

static void
test_names(void)
{
	ok(certstore_check_name("acm-www.example.com") == NULL, "acm-DOMAIN");
	ok(certstore_check_name("tokyo-12345") == NULL, "tokyo-12345");
	ok(certstore_check_name(".tmp-1") != NULL, "a hidden name");
	ok(certstore_check_name("..") != NULL, "..");
	ok(certstore_check_name("a/b") != NULL, "a slash");
	ok(certstore_check_name("A") != NULL, "upper case");
}

static void
test_covers(void)
{
	ok(certstore_covers("www.a.test", "WWW.A.TEST"), "equal, any case");
	ok(certstore_covers("*.a.test", "x.a.test"), "one label");
	ok(!certstore_covers("*.a.test", "a.test"), "not the parent");
	ok(!certstore_covers("*.a.test", "y.x.a.test"), "not two labels");
	ok(certstore_covers("*.a.test", "*.a.test"), "a wildcard domain");
	ok(!certstore_covers("www.a.test", "*.a.test"),
	    "a name does not cover a wildcard domain");
	ok(!certstore_covers("*.a.test", ".a.test"), "no empty label");
	ok(!certstore_covers("w*.a.test", "ww.a.test"), "no partial wildcard");
}

static void
set(struct certstore_cert *c, const char *san, time_t from, time_t to)
{
	memset(c, 0, sizeof(*c));
	c->sans[0] = strdup(san);
	c->nsans = 1;
	c->not_before = from;
	c->not_after = to;
}

static void
test_pick(void)
{
	struct certstore_cert v[4];
	time_t now = 1000000;
	size_t i;

	set(&v[0], "*.a.test", now - 10, now + 100);
	set(&v[1], "www.a.test", now - 10, now - 1);	/* expired */
	set(&v[2], "www.a.test", now - 10, now + 50);
	set(&v[3], "www.a.test", now - 10, now + 60);
	is_int(certstore_pick(v, 4, "www.a.test", now), 3,
	    "valid, exact, latest expiry");
	is_int(certstore_pick(v, 2, "www.a.test", now), 0,
	    "a valid wildcard before an expired exact name");
	is_int(certstore_pick(v + 1, 1, "www.a.test", now), 0,
	    "an expired one when it is all there is");
	is_int(certstore_pick(v, 4, "b.test", now), -1, "none covers");
	for (i = 0; i < 4; i++)
		certstore_cert_free(&v[i]);
}

int
main(void)
{
	test_domains();
	test_names();
	test_covers();
	test_pick();
	return done_testing();
}
