/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/urlget: bounded GETs, over file:// (no network). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "urlget.h"

static char dir[] = "/tmp/dynotest-urlget-XXXXXX";
static char src[256], url[300];

static int
tmpfd(void)
{
	return open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static uint64_t seen_now;

static void
progress(void *arg, uint64_t total, uint64_t now)
{
	(void)total;
	*(int *)arg += 1;
	seen_now = now;
}

static void
test_get(void)
{
	struct urlget g = { .url = url, .max = 4096 };
	char err[512] = "", buf[64];
	int calls = 0;
	ssize_t n;

	g.fd = tmpfd();
	g.progress = progress;
	g.progress_arg = &calls;
	is_int(urlget(&g, err, sizeof(err)), URLGET_OK, "file:// read");
	n = pread(g.fd, buf, sizeof(buf), 0);
	ok(n == 11 && memcmp(buf, "hello world", 11) == 0, "bytes written");
	ok(calls > 0 && seen_now == 11, "progress seen (%d calls)", calls);
	close(g.fd);
}

static void
test_limits(void)
{
	struct urlget g = { .url = url, .max = 5 };
	char err[512] = "", other[300];

	g.fd = tmpfd();
	is_int(urlget(&g, err, sizeof(err)), URLGET_TOOBIG, "over max");
	ok(strstr(err, "over the 5-byte limit") != NULL, "says so: %s", err);
	close(g.fd);

	g.max = 4096;
	g.fd = tmpfd();
	snprintf(other, sizeof(other), "file://%s/absent", dir);
	g.url = other;
	is_int(urlget(&g, err, sizeof(err)), URLGET_NOFILE, "missing file");
	ok(strncmp(err, other, strlen(other)) == 0, "error names the URL");
	g.url = "ftp://127.0.0.1/x";
	is_int(urlget(&g, err, sizeof(err)), URLGET_UNSUPPORTED, "ftp refused");
	g.url = "gopher://127.0.0.1/x";
	is_int(urlget(&g, err, sizeof(err)), URLGET_UNSUPPORTED,
	    "gopher refused");
	g.url = "http://127.0.0.1:1/x";
	is_int(urlget(&g, err, sizeof(err)), URLGET_FAILED,
	    "connection refused");
	close(g.fd);
}

int
main(void)
{
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(src, sizeof(src), "%s/data", dir);
	snprintf(url, sizeof(url), "file://%s", src);
	if ((f = fopen(src, "w")) == NULL)
		return 1;
	fputs("hello world", f);
	fclose(f);
	test_get();
	test_limits();
	unlink(src);
	rmdir(dir);
	return done_testing();
}
