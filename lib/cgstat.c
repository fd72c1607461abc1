/* SPDX-License-Identifier: ISC */
/* A dyno's cgroup as log-runtime-metrics reports it: memory and load. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgstat.h"
#include "state.h"

#define STAT_MAX	(1 << 20)
#define PAGE		4096

/* The value of "key N" in a flat keyed file, or 0. */
static uint64_t
keyed(const char *text, const char *key)
{
	const char *p;
	size_t kl = strlen(key);

	for (p = text; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n')
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

static int
read_in(const char *dir, const char *file, char **text)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1)
		return -1;
	return state_read(path, STAT_MAX, text, NULL);
}

int
cgstat_mem_v1(const char *dir, struct cgmem *m)
{
	char *st;

	memset(m, 0, sizeof(*m));
	if (read_in(dir, "memory.stat", &st) == -1)
		return -1;
	m->rss = keyed(st, "total_rss");
	m->cache = keyed(st, "total_cache");
	m->swap = keyed(st, "total_swap");
	m->pgpgin = keyed(st, "total_pgpgin");
	m->pgpgout = keyed(st, "total_pgpgout");
	free(st);
	return 0;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device; summed. */
static void
io_pages(const char *dir, struct cgmem *m)
{
	uint64_t rb = 0, wb = 0;
	char *st, *p;

	if (read_in(dir, "io.stat", &st) == -1)
		return;
	for (p = st; (p = strstr(p, "bytes=")) != NULL; p += 6) {
		if (p - st >= 1 && p[-1] == 'r')
			rb += strtoull(p + 6, NULL, 10);
		else if (p - st >= 1 && p[-1] == 'w')
			wb += strtoull(p + 6, NULL, 10);
	}
	free(st);
	m->pgpgin = rb / PAGE;
	m->pgpgout = wb / PAGE;
}

int
cgstat_mem_v2(const char *dir, struct cgmem *m)
{
	char *st;

	memset(m, 0, sizeof(*m));
	if (read_in(dir, "memory.stat", &st) == -1)
		return -1;
	m->rss = keyed(st, "anon");
	m->cache = keyed(st, "file");
	free(st);
	if (read_in(dir, "memory.swap.current", &st) == 0) {
		m->swap = strtoull(st, NULL, 10);
		free(st);
	}
	io_pages(dir, m);
	return 0;
}

/* 'R' or 'D' in PROCROOT/TID/stat: 1, else 0. */
static int
task_runnable(const char *procroot, const char *tid, size_t len)
{
	char path[PATH_MAX], *st, *close;
	int r = 0;

	if (state_pathf(path, sizeof(path), "%s/%.*s/stat", procroot, (int)len,
	    tid) == -1 || state_read(path, 4096, &st, NULL) == -1)
		return 0;
	/* The command name may hold anything, ')' too: the state follows
	 * the last one. */
	if ((close = strrchr(st, ')')) != NULL && close[1] == ' ')
		r = close[2] == 'R' || close[2] == 'D';
	free(st);
	return r;
}

long
cgstat_runnable(const char *threads, const char *procroot)
{
	char *list, *p;
	size_t len;
	long n = 0;

	if (state_read(threads, STAT_MAX, &list, NULL) == -1)
		return -1;
	for (p = list; *p != '\0'; p += len, p += *p == '\n') {
		len = strcspn(p, "\n");
		/* Only decimal ids: nothing else becomes part of a path. */
		if (len > 0 && len < 12 && strspn(p, "0123456789") == len)
			n += task_runnable(procroot, p, len);
	}
	free(list);
	return n;
}

void
cgload_sample(struct cgload *l, unsigned long n, uint64_t now_ms)
{
	static const double period_ms[3] = { 60000, 300000, 900000 };
	double e;
	int i;

	if (!l->started || now_ms < l->last_ms) {
		/* As the kernel's at boot: from 0, towards what it sees. */
		l->started = 1;
		l->last_ms = now_ms;
		return;
	}
	for (i = 0; i < 3; i++) {
		e = exp(-(double)(now_ms - l->last_ms) / period_ms[i]);
		l->avg[i] = l->avg[i] * e + (double)n * (1 - e);
	}
	l->last_ms = now_ms;
}
