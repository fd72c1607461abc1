/* SPDX-License-Identifier: ISC */
/* A dyno's cgroup as log-runtime-metrics reports it: memory and load. */
#ifndef DYNO_CGSTAT_H
#define DYNO_CGSTAT_H

#include <stdint.h>

/* Memory of one cgroup (heroku.md 1.9, log-runtime-metrics). */
struct cgmem {
	uint64_t	rss;		/* bytes: anonymous, resident */
	uint64_t	cache;		/* bytes: page cache */
	uint64_t	swap;		/* bytes: swapped out */
	uint64_t	pgpgin;		/* pages in, cumulative */
	uint64_t	pgpgout;	/* pages out, cumulative */
};

/*
 * Read the memory of a cgroup v1 memory folder (memory.stat: the total_
 * figures, which count the folder's children too) or of a cgroup v2
 * folder (memory.stat anon and file, memory.swap.current, and the pages
 * read and written of io.stat, v2 having no pgpgin/pgpgout).  Missing
 * figures are 0.  0, or -1 with errno when memory.stat is unreadable.
 */
int	cgstat_mem_v1(const char *dir, struct cgmem *m);
int	cgstat_mem_v2(const char *dir, struct cgmem *m);

/*
 * How many tasks of a cgroup are runnable or in uninterruptible sleep
 * (states R and D), as the kernel's load average counts them: every
 * thread id of `threads` (v2 cgroup.threads, v1 tasks) is looked up in
 * PROCROOT/TID/stat.  Tasks that vanish meanwhile are skipped.  The
 * count, or -1 with errno when `threads` is unreadable.
 */
long	cgstat_runnable(const char *threads, const char *procroot);

/* 1, 5 and 15 minute load averages with the kernel's exponential decay. */
struct cgload {
	double		avg[3];
	uint64_t	last_ms;
	int		started;
};

/*
 * Take a sample of n runnable tasks at time now_ms (any monotonic clock):
 * each average moves towards n by 1 - exp(-dt / period), the kernel's
 * calc_load() for a sampling interval of dt instead of its fixed 5 s.
 */
void	cgload_sample(struct cgload *l, unsigned long n, uint64_t now_ms);

#endif
