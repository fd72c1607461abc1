/* SPDX-License-Identifier: ISC */
/* release: download a slug over http, https or file with libcurl. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"

#include "release.h"

struct fetch {
	const char	*url;
	int		 fd;
	curl_off_t	 got, max;
	int		 bar;		/* draw a progress bar on stderr */
	int		 toobig;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * nmemb, done = 0;
	ssize_t n;

	/* The cap holds even when the server sends no Content-Length. */
	if ((f->got += (curl_off_t)len) > f->max) {
		f->toobig = 1;
		return 0;
	}
	while (done < len) {
		if ((n = write(f->fd, p + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		done += (size_t)n;
	}
	return len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult,
    curl_off_t ulnow)
{
	char line[128];
	int n;

	(void)arg;
	(void)ult;
	(void)ulnow;
	if (dltotal > 0)
		n = snprintf(line, sizeof(line), "\r%s: downloading slug: "
		    "%3d%% (%.1f of %.1f MB)", diag_prog(),
		    (int)(dlnow * 100 / dltotal), dlnow / 1048576.0,
		    dltotal / 1048576.0);
	else
		n = snprintf(line, sizeof(line), "\r%s: downloading slug: "
		    "%.1f MB", diag_prog(), dlnow / 1048576.0);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	return 0;
}

static CURL *
setup(struct fetch *f, char *errbuf)
{
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* Give up on a stalled server: under 1 byte/s for a minute. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, f->max);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	if (f->bar) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	return h;
}

/*
 * Download url to path (created).  The CA bundle is the system's; a test
 * with a private CA sets CURL_CA_BUNDLE, which we honour like curl(1).
 */
int
fetch_url(const struct conf *c, const char *url, const char *path)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fetch f = { .url = url, .max = (curl_off_t)c->slug_max,
	    .bar = isatty(STDERR_FILENO) };
	const char *ca = getenv("CURL_CA_BUNDLE");
	CURLcode cc;
	CURL *h;
	int rc = 0;

	if ((f.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (h = setup(&f, errbuf)) == NULL)
		diag_die(EXIT_SOFTWARE, "libcurl cannot start");
	if (ca != NULL && *ca != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	cc = curl_easy_perform(h);
	if (f.bar)
		(void)!write(STDERR_FILENO, "\n", 1);
	if (f.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
		diag_error("%s: slug over the %llu-byte limit", url,
		    (unsigned long long)c->slug_max);
		rc = EXIT_DATAERR;
	} else if (cc != CURLE_OK) {
		diag_error("%s: %s", url, *errbuf ? errbuf :
		    curl_easy_strerror(cc));
		rc = cc == CURLE_UNSUPPORTED_PROTOCOL ? EXIT_USAGE :
		    cc == CURLE_FILE_COULDNT_READ_FILE ? EXIT_NOINPUT :
		    EXIT_UNAVAILABLE;
	}
	curl_easy_cleanup(h);
	curl_global_cleanup();
	if (close(f.fd) == -1 && rc == 0) {
		diag_error_errno("%s", path);
		rc = EXIT_CANTCREAT;
	}
	return rc;
}
