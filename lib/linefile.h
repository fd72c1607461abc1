/* SPDX-License-Identifier: ISC */
/* Files of one record a line, '#' comments: drains, log-tokens. */
#ifndef DYNO_LINEFILE_H
#define DYNO_LINEFILE_H

#include <stddef.h>

/*
 * One record: the line p (len bytes, no newline, never empty or a
 * comment) as record number i.  0, or -1 with *why a static phrase.
 */
typedef int linefile_parse_fn(const char *p, size_t len, size_t i,
	    void *arg, const char **why);

/*
 * Parse NUL-terminated text: a blank line or one starting with '#' is a
 * comment, every other line one record for fn.  Returns the number of
 * records, or -1 with errno and err = "LINE: why" (err may be NULL):
 * EINVAL fn refused a line, E2BIG more than max records ("more than MAX
 * WHAT", what naming the records: "drains").
 */
int	linefile_parse(const char *text, size_t max, const char *what,
	    linefile_parse_fn *fn, void *arg, char *err, size_t errlen);

/* Record i's line, newline included, as snprintf(buf, size, ...) does. */
typedef int linefile_format_fn(char *buf, size_t size, size_t i,
	    const void *arg);

/*
 * n records, one line each, into buf (NUL-terminated when size > 0).
 * Returns the length the whole text needs, as snprintf: a buf too short
 * holds a truncated text.
 */
size_t	linefile_format(char *buf, size_t size, size_t n,
	    linefile_format_fn *fn, const void *arg);

#endif
