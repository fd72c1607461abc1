/* SPDX-License-Identifier: ISC */
/* Parse and write files of one record a line, with '#' comments. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linefile.h"

int
linefile_parse(const char *text, size_t max, const char *what,
    linefile_parse_fn *fn, void *arg, char *err, size_t errlen)
{
	const char *p = text, *nl, *why;
	size_t n = 0, len;
	unsigned lineno = 0;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		len = (size_t)(nl - p);
		lineno++;
		if (len == 0 || *p == '#')
			continue;
		if (n == max) {
			if (err != NULL)
				snprintf(err, errlen, "%u: more than %zu %s",
				    lineno, max, what);
			errno = E2BIG;
			return -1;
		}
		why = "bad line";
		if (fn(p, len, n, arg, &why) == -1) {
			if (err != NULL)
				snprintf(err, errlen, "%u: %s", lineno, why);
			errno = EINVAL;
			return -1;
		}
		n++;
	}
	return (int)n;
}

size_t
linefile_format(char *buf, size_t size, size_t n, linefile_format_fn *fn,
    const void *arg)
{
	size_t i, used = 0;
	int w;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		w = fn(used < size ? buf + used : NULL, used < size ?
		    size - used : 0, i, arg);
		if (w < 0)
			return used;
		used += (size_t)w;
	}
	return used;
}
