/* SPDX-License-Identifier: ISC */
/* Split a byte stream (a dyno's stdout pipe) into lines of bounded length. */
#ifndef DYNO_LINEBUF_H
#define DYNO_LINEBUF_H

#include <stddef.h>
#include <sys/types.h>

struct linebuf {
	char	*buf;
	size_t	 start, len, cap;	/* unread bytes are buf[start..len) */
	size_t	 max;			/* longest line handed out */
};

/* 0, or -1 with ENOMEM.  `max` is the longest line returned in one piece. */
int	linebuf_init(struct linebuf *lb, size_t max);
void	linebuf_free(struct linebuf *lb);

/* One read(2) from fd: bytes read, 0 at EOF, -1 with errno, EAGAIN too. */
ssize_t	linebuf_read(struct linebuf *lb, int fd);

/* Append bytes directly (tests, other sources).  0 or -1 (ENOMEM). */
int	linebuf_append(struct linebuf *lb, const char *p, size_t n);

/*
 * Next complete line, without its "\n" (and "\r\n").  A line longer than
 * max comes out in max-byte pieces.  Returns 1 with *line and *len set (valid
 * until the next read or append), 0 when no complete line is buffered.
 */
int	linebuf_next(struct linebuf *lb, const char **line, size_t *len);

/* Called with each line linebuf_pump() takes out; not NUL-terminated. */
typedef void linebuf_line_fn(void *arg, const char *line, size_t len);

/*
 * One linebuf_read() from fd, then every complete line to fn; at the end of
 * the stream (EOF, or a read error other than EAGAIN and EINTR) the
 * unterminated rest too.  Returns 1 while the stream is open, 0 at its
 * end (the caller closes fd; errno tells a read error from EOF).
 */
int	linebuf_pump(struct linebuf *lb, int fd, linebuf_line_fn *fn, void *arg);

/* At EOF: the unterminated rest as a last line (1), or 0 if none. */
int	linebuf_rest(struct linebuf *lb, const char **line, size_t *len);

#endif
