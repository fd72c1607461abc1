/* SPDX-License-Identifier: ISC */
/* One bounded GET of a URL into a file descriptor, with libcurl. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "urlget.h"

struct sink {
	const struct urlget	*g;
	uint64_t		 got;
	int			 toobig;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t len = size * nmemb, done = 0;
	ssize_t n;

	/* The cap holds even when the server sends no Content-Length. */
	if ((s->got += len) > s->g->max) {
		s->toobig = 1;
		return 0;
	}
	while (done < len) {
		if ((n = write(s->g->fd, p + done, len - done)) == -1) {
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
	const struct urlget *g = ((struct sink *)arg)->g;

	(void)ult;
	(void)ulnow;
	g->progress(g->progress_arg, dltotal > 0 ? (uint64_t)dltotal : 0,
	    dlnow > 0 ? (uint64_t)dlnow : 0);
	return 0;
}

static CURL *
setup(struct sink *s, char *errbuf)
{
	const struct urlget *g = s->g;
	const char *ca = getenv("CURL_CA_BUNDLE");
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, g->url);
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
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)g->max);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	if (g->timeout > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, g->timeout);
	if (g->agent != NULL)
		curl_easy_setopt(h, CURLOPT_USERAGENT, g->agent);
	if (ca != NULL && *ca != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	if (g->progress != NULL) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	return h;
}

static enum urlget_status
status_of(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return URLGET_OK;
	case CURLE_FILESIZE_EXCEEDED:
		return URLGET_TOOBIG;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return URLGET_UNSUPPORTED;
	case CURLE_FILE_COULDNT_READ_FILE:
		return URLGET_NOFILE;
	default:
		return URLGET_FAILED;
	}
}

enum urlget_status
urlget(const struct urlget *g, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = { .g = g };
	enum urlget_status st;
	CURLcode cc;
	CURL *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (h = setup(&s, errbuf)) == NULL) {
		snprintf(err, errlen, "%s: libcurl cannot start", g->url);
		return URLGET_FAILED;
	}
	cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	st = s.toobig ? URLGET_TOOBIG : status_of(cc);
	if (st == URLGET_TOOBIG)
		snprintf(err, errlen, "%s: over the %llu-byte limit", g->url,
		    (unsigned long long)g->max);
	else if (st != URLGET_OK)
		snprintf(err, errlen, "%s: %s", g->url,
		    *errbuf ? errbuf : curl_easy_strerror(cc));
	return st;
}
