/* SPDX-License-Identifier: ISC */
/* The tail request dyno-logs sends on logplexd.tail, and logplex's filters. */
#ifndef DYNO_TAILPROTO_H
#define DYNO_TAILPROTO_H

#include <stddef.h>

#define TAILPROTO_FIELD_MAX	64
#define TAILPROTO_REQ_MAX	512	/* the longest request line */

/*
 * One request line, then the answer: "ok\n" followed by display-form lines
 * each ending in "\n" (or "error WHY\n" and the end of the stream).  Without
 * follow the server closes the stream after the history.  Wire form:
 *   "tail APP lines=N follow=0|1[ dyno=D][ ps=P][ source=S][ token=T]\n"
 * token: one of the app's input tokens; the unix socket needs none (its
 * file mode guards it), logplexd --listen's TCP port asks for one.
 */
struct tailreq {
	char		app[TAILPROTO_FIELD_MAX];
	unsigned	lines;
	int		follow;
	char		dyno[TAILPROTO_FIELD_MAX];	/* "" matches any */
	char		ps[TAILPROTO_FIELD_MAX];	/* "" matches any */
	char		source[TAILPROTO_FIELD_MAX];	/* "" matches any */
	char		token[TAILPROTO_FIELD_MAX];	/* "" none */
};

/* The request line with its "\n"; returns its length, or -1 (ENAMETOOLONG). */
int	tailproto_format(char *buf, size_t size, const struct tailreq *r);

/*
 * Parse one request line (with or without "\n").  0, or -1 with errno
 * EINVAL; *why (if not NULL) then says what is wrong.
 */
int	tailproto_parse(const char *line, size_t len, struct tailreq *r,
	    const char **why);

/*
 * 1 when a message from SOURCE[DYNO] passes r's filters.  As in logplex,
 * a dyno or process filter "web" matches "web" and any "web.<suffix>";
 * the source filter is exact.
 */
int	tailproto_match(const struct tailreq *r, const char *source,
	    size_t slen, const char *dyno, size_t dlen);

#endif
