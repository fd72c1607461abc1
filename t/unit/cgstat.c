/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/cgstat: cgroup v1 and v2 memory, runnable tasks, load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgstat.h"
#include "state.h"
#include "tap.h"

static char dir[64];

static void
put(const char *rel, const char *text)
{
	char path[256], *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	state_mkdirs(path, 0755);
	*slash = '/';
	state_replace(path, text, strlen(text), 0644, 0);
}

static void
test_v1(void)
{
	struct cgmem m;
	char d[128];

	put("v1/memory.stat", "cache 1\nrss 2\nswap 3\npgpgin 4\npgpgout 5\n"
	    "total_cache 4096\ntotal_rss 22249472\ntotal_rss_huge 0\n"
	    "total_swap 1048576\ntotal_pgpgin 348836\ntotal_pgpgout 343403\n");
	snprintf(d, sizeof(d), "%s/v1", dir);
	ok(cgstat_mem_v1(d, &m) == 0, "v1: read");
	is_int(m.rss, 22249472, "v1: rss is total_rss, not rss");
	is_int(m.cache, 4096, "v1: cache");
	is_int(m.swap, 1048576, "v1: swap");
	is_int(m.pgpgin, 348836, "v1: pgpgin");
	is_int(m.pgpgout, 343403, "v1: pgpgout");
	snprintf(d, sizeof(d), "%s/none", dir);
	ok(cgstat_mem_v1(d, &m) == -1, "v1: no memory.stat is an error");
}

static void
test_v2(void)
{
	struct cgmem m;
	char d[128];

	put("v2/memory.stat", "anon 10485760\nfile 8192\nkernel 123\n"
	    "file_mapped 4096\nanon_thp 0\npgfault 99\n");
	put("v2/memory.swap.current", "2097152\n");
	put("v2/io.stat", "8:0 rbytes=409600 wbytes=8192 rios=3 wios=2\n"
	    "8:16 rbytes=4096 wbytes=0 rios=1 wios=0\n");
	snprintf(d, sizeof(d), "%s/v2", dir);
	ok(cgstat_mem_v2(d, &m) == 0, "v2: read");
	is_int(m.rss, 10485760, "v2: rss is anon");
	is_int(m.cache, 8192, "v2: cache is file, not file_mapped");
	is_int(m.swap, 2097152, "v2: swap from memory.swap.current");
	is_int(m.pgpgin, 101, "v2: pages read, over every device");
	is_int(m.pgpgout, 2, "v2: pages written");
	put("v2b/memory.stat", "anon 1\nfile 2\n");
	snprintf(d, sizeof(d), "%s/v2b", dir);
	ok(cgstat_mem_v2(d, &m) == 0 && m.swap == 0 && m.pgpgin == 0,
	    "v2: no swap, no io controller: 0");
}

static void
test_runnable(void)
{
	char threads[128], proc[128];

	put("proc/10/stat", "10 (python3) R 1 10 10 0 -1\n");
	put("proc/11/stat", "11 (sleep) S 1 11 11 0 -1\n");
	put("proc/12/stat", "12 (io) D 1 12 12 0 -1\n");
	/* A name made to look like another state. */
	put("proc/13/stat", "13 (x) R (y) S 1 13 13 0 -1\n");
	put("proc/14/stat", "14 (a b) Z 1 14\n");
	put("cg/tasks", "10\n11\n12\n13\n14\n15\n../../etc\n\n");
	snprintf(threads, sizeof(threads), "%s/cg/tasks", dir);
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	is_int(cgstat_runnable(threads, proc), 2,
	    "R and D count; S, Z, a vanished task and junk do not");
	snprintf(threads, sizeof(threads), "%s/cg/nope", dir);
	ok(cgstat_runnable(threads, proc) == -1, "no thread list: -1");
}

static void
test_load(void)
{
	struct cgload l;
	uint64_t t;
	int i;

	memset(&l, 0, sizeof(l));
	cgload_sample(&l, 4, 1000);
	ok(l.avg[0] == 0 && l.avg[1] == 0, "starts at 0, as the kernel's");
	cgload_sample(&l, 1, 6000);
	ok(fabs(l.avg[0] - (1 - exp(-5.0 / 60))) < 1e-9,
	    "1m: one 5 s step of the kernel's decay");
	ok(l.avg[0] > l.avg[1] && l.avg[1] > l.avg[2], "1m > 5m > 15m");
	for (i = 0, t = 6000; i < 12 * 10; i++)
		cgload_sample(&l, 2, t += 5000);
	ok(fabs(l.avg[0] - 2) < 0.01, "10 min at 2 runnable: 1m is 2");
	ok(fabs(l.avg[2] - 2 * (1 - exp(-10.0 / 15))) < 0.02, "15m still on its way");
	for (i = 0; i < 12 * 10; i++)
		cgload_sample(&l, 0, t += 5000);
	ok(l.avg[0] < 0.01, "idle again: 1m falls to 0");
	/* The same time in uneven steps gives the same average. */
	memset(&l, 0, sizeof(l));
	cgload_sample(&l, 3, 0);
	cgload_sample(&l, 3, 1000);
	cgload_sample(&l, 3, 21000);
	ok(fabs(l.avg[0] - 3 * (1 - exp(-21.0 / 60))) < 1e-9,
	    "uneven sampling intervals decay by their length");
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dynotest-cgstat-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_v1();
	test_v2();
	test_runnable();
	test_load();
	state_remove_tree(dir);
	return done_testing();
}
