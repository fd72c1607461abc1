/* SPDX-License-Identifier: ISC */
/* release: download a slug over http, https or file (lib/urlget). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "urlget.h"

#include "release.h"

/* A progress bar on stderr, redrawn in place. */
static void
draw_bar(void *arg, uint64_t total, uint64_t now)
{
	char line[128];
	int n;

	(void)arg;
	if (total > 0)
		n = snprintf(line, sizeof(line), "\r%s: downloading slug: "
		    "%3d%% (%.1f of %.1f MB)", diag_prog(),
		    (int)(now * 100 / total), now / 1048576.0,
		    total / 1048576.0);
	else
		n = snprintf(line, sizeof(line), "\r%s: downloading slug: "
		    "%.1f MB", diag_prog(), now / 1048576.0);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
}

static int
exit_of(enum urlget_status st)
{
	switch (st) {
	case URLGET_OK:
		return 0;
	case URLGET_TOOBIG:
		return EXIT_DATAERR;
	case URLGET_UNSUPPORTED:
		return EXIT_USAGE;
	case URLGET_NOFILE:
		return EXIT_NOINPUT;
	default:
		return EXIT_UNAVAILABLE;
	}
}

/* Download url to path (created), at most the slug limit. */
int
fetch_url(const struct conf *c, const char *url, const char *path)
{
	struct urlget g = { .url = url, .max = c->slug_max,
	    .agent = "release" };
	char err[1024];
	enum urlget_status st;
	int rc;

	if ((g.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	if (isatty(STDERR_FILENO))
		g.progress = draw_bar;
	st = urlget(&g, err, sizeof(err));
	if (g.progress != NULL)
		(void)!write(STDERR_FILENO, "\n", 1);
	if (st == URLGET_TOOBIG)
		diag_error("%s: slug over the %llu-byte limit", url,
		    (unsigned long long)c->slug_max);
	else if (st != URLGET_OK)
		diag_error("%s", err);
	rc = exit_of(st);
	if (close(g.fd) == -1 && rc == 0) {
		diag_error_errno("%s", path);
		rc = EXIT_CANTCREAT;
	}
	return rc;
}
