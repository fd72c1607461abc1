/* SPDX-License-Identifier: ISC */
/* One bounded GET of a URL into a file descriptor, with libcurl. */
#ifndef DYNO_URLGET_H
#define DYNO_URLGET_H

#include <stddef.h>
#include <stdint.h>

enum urlget_status {
	URLGET_OK = 0,
	URLGET_TOOBIG,		/* over max bytes, whatever the server said */
	URLGET_UNSUPPORTED,	/* a scheme other than http, https, file */
	URLGET_NOFILE,		/* file:// that cannot be read */
	URLGET_FAILED,		/* anything else: DNS, connect, HTTP >= 400 */
};

/* Called as bytes arrive; total is 0 when the size is not known. */
typedef void urlget_progress_fn(void *arg, uint64_t total, uint64_t now);

struct urlget {
	const char		*url;
	int			 fd;		/* written from its offset */
	uint64_t		 max;		/* bytes at most */
	const char		*agent;		/* User-Agent */
	long			 timeout;	/* seconds in all, or 0: none */
	urlget_progress_fn	*progress;	/* or NULL */
	void			*progress_arg;
};

/*
 * GET g->url into g->fd: http, https and file; redirects to http(s) only,
 * at most 10; a connect within 30 s and at least 1 byte/s over any minute.
 * The CA bundle is the system's, or CURL_CA_BUNDLE's when it is set, as
 * for curl(1).  On failure err holds "URL: why".
 */
enum urlget_status urlget(const struct urlget *g, char *err, size_t errlen);

#endif
