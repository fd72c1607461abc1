/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/cluster: the assignment file and the fence deadline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "state.h"
#include "tap.h"

static char dir[] = "/tmp/dynotest-cluster-XXXXXX";

static void
test_assigned(void)
{
	char names[4][CLUSTER_NAME_MAX] = { "web.1", "web.12", "worker.3" };
	char got[4][CLUSTER_NAME_MAX], path[256];
	int n;

	errno = 0;
	ok(cluster_assigned_read(dir, got, 4) == -1 && errno == ENOENT,
	    "no file: ENOENT (not a cluster app)");
	ok(cluster_assigned_write(dir, names, 3) == 0, "write three names");
	n = cluster_assigned_read(dir, got, 4);
	is_int(n, 3, "read three back");
	is_str(got[1], "web.12", "in order");
	ok(cluster_assigned_write(dir, names, 0) == 0 &&
	    cluster_assigned_read(dir, got, 4) == 0, "an empty file: no dynos");
	snprintf(path, sizeof(path), "%s/assigned", dir);
	state_replace(path, "web.1\n../x.1\n", 13, 0644, 0);
	errno = 0;
	ok(cluster_assigned_read(dir, got, 4) == -1 && errno == EINVAL,
	    "a line that is not a dyno name: EINVAL");
	state_replace(path, "web.0\n", 6, 0644, 0);
	ok(cluster_assigned_read(dir, got, 4) == -1, "web.0 refused");
	state_replace(path, "a.1\nb.1\nc.1\nd.1\ne.1\n", 20, 0644, 0);
	is_int(cluster_assigned_read(dir, got, 4), 4, "at most max names");
}

static void
test_fence(void)
{
	char path[256];
	uint64_t d = 0, now = cluster_now_ms();

	errno = 0;
	ok(cluster_fence_read(dir, &d) == -1 && errno == ENOENT,
	    "no fence file: ENOENT (a manager takes it as fenced)");
	ok(cluster_fence_write(dir, now + 7000) == 0, "write a deadline");
	ok(cluster_fence_read(dir, &d) == 0 && d == now + 7000, "read it back");
	snprintf(path, sizeof(path), "%s/cluster/fence", dir);
	state_replace(path, "soon\n", 5, 0644, 0);
	ok(cluster_fence_read(dir, &d) == -1 && errno == EINVAL,
	    "garbage: EINVAL");
	ok(cluster_now_ms() >= now, "the clock is monotonic");
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_assigned();
	test_fence();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
