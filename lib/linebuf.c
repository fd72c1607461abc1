/* SPDX-License-Identifier: ISC */
/* Line splitting with a bound on line length and on memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

int
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max ? max : 1;
	/*
	 * Start small and grow on demand: a supervisor holds two of these per
	 * process, and most processes write short lines.
	 */
	lb->cap = 256;
	if ((lb->buf = malloc(lb->cap)) == NULL)
		return -1;
	return 0;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

/* Move unread bytes to the front so there is room to read. */
static void
compact(struct linebuf *lb)
{
	if (lb->start == 0)
		return;
	memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
	lb->len -= lb->start;
	lb->start = 0;
}

/* Double the buffer, up to twice the longest line. */
static int
grow(struct linebuf *lb)
{
	size_t ncap = lb->cap * 2;
	char *nb;

	if (lb->cap >= lb->max * 2)
		return 0;
	if (ncap > lb->max * 2 && lb->max * 2 > lb->cap)
		ncap = lb->max * 2;
	if ((nb = realloc(lb->buf, ncap)) == NULL)
		return -1;
	lb->buf = nb;
	lb->cap = ncap;
	return 0;
}

ssize_t
linebuf_read(struct linebuf *lb, int fd)
{
	ssize_t n;

	compact(lb);
	if (lb->cap - lb->len < lb->cap / 2 && grow(lb) == -1)
		return -1;
	if (lb->len == lb->cap) {
		/* The caller has not taken the lines out with linebuf_next(). */
		errno = ENOBUFS;
		return -1;
	}
	/* Never more than cap: a line over max is handed out in pieces. */
	do
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		lb->len += (size_t)n;
	return n;
}

int
linebuf_append(struct linebuf *lb, const char *p, size_t n)
{
	char *nb;

	compact(lb);
	if (lb->len + n > lb->cap) {
		size_t ncap = lb->cap;
		while (lb->len + n > ncap)
			ncap *= 2;
		if ((nb = realloc(lb->buf, ncap)) == NULL)
			return -1;
		lb->buf = nb;
		lb->cap = ncap;
	}
	memcpy(lb->buf + lb->len, p, n);
	lb->len += n;
	return 0;
}

int
linebuf_next(struct linebuf *lb, const char **line, size_t *len)
{
	size_t avail = lb->len - lb->start, scan;
	char *p = lb->buf + lb->start, *nl;

	scan = avail < lb->max + 1 ? avail : lb->max + 1;
	if ((nl = memchr(p, '\n', scan)) != NULL) {
		*line = p;
		*len = (size_t)(nl - p);
		if (*len > 0 && p[*len - 1] == '\r')
			(*len)--;
		lb->start += (size_t)(nl - p) + 1;
		return 1;
	}
	if (avail >= lb->max) {
		*line = p;
		*len = lb->max;
		lb->start += lb->max;
		return 1;
	}
	return 0;
}

int
linebuf_rest(struct linebuf *lb, const char **line, size_t *len)
{
	if (linebuf_next(lb, line, len))
		return 1;
	if (lb->start == lb->len)
		return 0;
	*line = lb->buf + lb->start;
	*len = lb->len - lb->start;
	lb->start = lb->len;
	return 1;
}

int
linebuf_pump(struct linebuf *lb, int fd, linebuf_line_fn *fn, void *arg)
{
	const char *line;
	size_t len;
	ssize_t n;

	n = linebuf_read(lb, fd);
	while (linebuf_next(lb, &line, &len))
		fn(arg, line, len);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
		return 1;
	while (linebuf_rest(lb, &line, &len))
		fn(arg, line, len);
	return 0;
}
