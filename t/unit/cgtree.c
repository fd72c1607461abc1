/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/cgtree's paths: which cgroups a tool may kill. */
#include <limits.h>

#include "cgtree.h"
#include "tap.h"

static void
test_dyno_rel(void)
{
	ok(cgtree_dyno_rel("dyno/app/web.1-42"), "v1 leaf");
	ok(cgtree_dyno_rel("/dyno/app/web.1-42"), "leading slash");
	ok(cgtree_dyno_rel("system.slice/x.service/dyno/app/web.1-42"),
	    "v2 leaf below a base");
	ok(!cgtree_dyno_rel("dyno/app"), "the app's folder");
	ok(!cgtree_dyno_rel("dyno/"), "dyno/ itself");
	ok(!cgtree_dyno_rel(""), "the root");
	ok(!cgtree_dyno_rel("/"), "the root, slash");
	ok(!cgtree_dyno_rel("system.slice"), "not a dyno's");
	ok(!cgtree_dyno_rel("dyno/app/../../system.slice"), "dot-dot");
	ok(!cgtree_dyno_rel("mydyno/app/web.1-42"), "dyno/ inside a name");
	ok(!cgtree_dyno_rel("a/mydyno/app"), "inside a name, shallow");
}

static void
test_dir(void)
{
	char dir[PATH_MAX];

	ok(cgtree_dir(1, 0, "b/dyno/a/w-1", dir, sizeof(dir)) == 0, "v2 first");
	is_str(dir, "/sys/fs/cgroup/b/dyno/a/w-1", "v2 path");
	ok(cgtree_dir(1, 1, "b/dyno/a/w-1", dir, sizeof(dir)) == -1,
	    "v2 has one");
	ok(cgtree_dir(0, 0, "/dyno/a/w-1", dir, sizeof(dir)) == 0, "v1 first");
	is_str(dir, "/sys/fs/cgroup/pids/dyno/a/w-1", "v1 pids");
	ok(cgtree_dir(0, 2, "dyno/a/w-1", dir, sizeof(dir)) == 0, "v1 third");
	is_str(dir, "/sys/fs/cgroup/cpu/dyno/a/w-1", "v1 cpu");
	ok(cgtree_dir(0, 3, "dyno/a/w-1", dir, sizeof(dir)) == -1,
	    "v1 has three");
	ok(cgtree_dir(1, 0, "dyno/a/w-1", dir, 8) == -1, "too long");
}

int
main(void)
{
	test_dyno_rel();
	test_dir();
	return done_testing();
}
