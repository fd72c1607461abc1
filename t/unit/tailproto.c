/* SPDX-License-Identifier: ISC */
/* The tail request: round trip, rejects, and logplex's filter semantics. */
#include <string.h>

#include "tailproto.h"
#include "tap.h"

static void
test_roundtrip(void)
{
	struct tailreq r, back;
	char buf[TAILPROTO_REQ_MAX];
	int n;

	memset(&r, 0, sizeof(r));
	strcpy(r.app, "myapp");
	r.lines = 1500;
	r.follow = 1;
	strcpy(r.ps, "web");
	strcpy(r.source, "app");
	n = tailproto_format(buf, sizeof(buf), &r);
	is_str(buf, "tail myapp lines=1500 follow=1 ps=web source=app\n",
	    "wire form");
	ok(n == (int)strlen(buf), "length");
	ok(tailproto_parse(buf, (size_t)n, &back, NULL) == 0, "parses back");
	ok(memcmp(&r, &back, sizeof(r)) == 0, "same request");
	ok(tailproto_parse("tail a", 6, &back, NULL) == 0 && back.lines == 100 &&
	    !back.follow, "defaults: 100 lines, no follow");
}

static void
test_rejects(void)
{
	static const char *bad[] = {
		"", "tail", "tail ", "follow a", "tail a lines=x",
		"tail a lines=-1", "tail a follow=2", "tail a dyno=",
		"tail a color=1", "tail a ps", "tail a  lines=1",
		"tail aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct tailreq r;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(tailproto_parse(bad[i], strlen(bad[i]), &r, &why) == -1 &&
		    why != NULL, "rejects \"%s\" (%s)", bad[i], why);
}

static int
m(const char *req, const char *source, const char *dyno)
{
	struct tailreq r;

	tailproto_parse(req, strlen(req), &r, NULL);
	return tailproto_match(&r, source, strlen(source), dyno, strlen(dyno));
}

static void
test_match(void)
{
	ok(m("tail a", "app", "web.1"), "no filter");
	ok(m("tail a ps=web", "app", "web.1"), "ps web matches web.1");
	ok(m("tail a ps=web", "app", "web"), "ps web matches web");
	ok(!m("tail a ps=web", "app", "webby.1"), "ps web not webby.1");
	ok(!m("tail a ps=web", "app", "worker.1"), "ps web not worker.1");
	ok(m("tail a dyno=web.1", "app", "web.1"), "dyno web.1");
	ok(!m("tail a dyno=web.1", "app", "web.10"), "dyno web.1 not web.10");
	ok(m("tail a dyno=router", "heroku", "router"), "dyno router");
	ok(m("tail a source=heroku", "heroku", "web.1"), "source heroku");
	ok(!m("tail a source=heroku", "app", "web.1"), "source is exact");
	ok(!m("tail a source=app", "apps", "web.1"), "source no prefix");
	ok(m("tail a source=app dyno=api", "app", "api"), "api logs");
}

int
main(void)
{
	test_roundtrip();
	test_rejects();
	test_match();
	return done_testing();
}
