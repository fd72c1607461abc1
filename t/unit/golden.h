/* SPDX-License-Identifier: ISC */
/* Golden-file cases for the C unit tests: DIR/CASE.EXT must give DIR/CASE.out. */
#ifndef DYNO_GOLDEN_H
#define DYNO_GOLDEN_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "tap.h"

/*
 * What case `file` (in dir) gives: a malloc'd text and its length, or NULL.
 */
typedef char *golden_run_fn(const char *dir, const char *file, size_t *len);

/*
 * Run every DIR/CASE.ext through run and compare with DIR/CASE.out byte for
 * byte; one TAP line a case, and the text got when it differs.  Returns
 * the number of cases.
 */
static int __attribute__((unused))
golden_each(const char *dir, const char *ext, golden_run_fn *run)
{
	char outpath[512], *got, *want, *dot;
	size_t glen, wlen;
	struct dirent *de;
	DIR *d;
	int n = 0, same;

	if ((d = opendir(dir)) == NULL) {
		ok(0, "open %s", dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if ((dot = strrchr(de->d_name, '.')) == NULL ||
		    strcmp(dot, ext) != 0)
			continue;
		snprintf(outpath, sizeof(outpath), "%s/%.*s.out", dir,
		    (int)(dot - de->d_name), de->d_name);
		got = run(dir, de->d_name, &glen);
		if (state_read(outpath, 1 << 20, &want, &wlen) == -1)
			want = NULL;
		same = got && want && glen == wlen && memcmp(got, want, glen) == 0;
		ok(same, "golden %s/%s", dir, de->d_name);
		if (got && !same)
			printf("# got:\n%s", got);
		free(got);
		free(want);
		n++;
	}
	closedir(d);
	return n;
}

#endif
