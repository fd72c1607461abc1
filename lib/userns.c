/* SPDX-License-Identifier: ISC */
/* Each app's own range of host ids for its user namespaces, kept under DYNO_ROOT. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"
#include "userns.h"

#define RECORD_MAX	128	/* bytes in one record */

/*
 * The slots of the pool (userns_base, userns_size ids each, userns_ranges
 * of them) that some range already holds: one byte per slot.
 */
struct pool {
	uint64_t	 base, size;
	unsigned	 n;
	unsigned char	*used;
};

/* Mark every slot that [lo, lo + len) overlaps. */
static void
pool_mark(struct pool *p, uint64_t lo, uint64_t len)
{
	uint64_t end = p->base + p->size * p->n, k, last;

	if (len == 0 || lo + len <= p->base || lo >= end)
		return;
	k = lo > p->base ? (lo - p->base) / p->size : 0;
	last = (lo + len - 1 - p->base) / p->size;
	for (; k <= last && k < p->n; k++)
		p->used[k] = 1;
}

/* "base=N\nsize=N\n": 0, or -1 (EINVAL) when it is not a record. */
static int
record_parse(const char *text, uint64_t *base, uint64_t *size)
{
	unsigned long long b, s;

	if (sscanf(text, "base=%llu\nsize=%llu\n", &b, &s) != 2 || s == 0 ||
	    b == 0 || b + s > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	*base = b;
	*size = s;
	return 0;
}

static int
record_read(const char *path, uint64_t *base, uint64_t *size)
{
	char *text;
	int rc;

	if (state_read(path, RECORD_MAX, &text, NULL) == -1)
		return -1;
	rc = record_parse(text, base, size);
	free(text);
	return rc;
}

/*
 * /etc/subuid and /etc/subgid ("NAME:FIRST:COUNT") hand ranges to users
 * for newuidmap(1): none of ours may overlap one of theirs.
 */
static void
pool_mark_subids(struct pool *p, const char *file)
{
	unsigned long long lo, len;
	char line[512], *c;
	FILE *f;

	if ((f = fopen(file, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((c = strchr(line, ':')) != NULL &&
		    sscanf(c, ":%llu:%llu", &lo, &len) == 2)
			pool_mark(p, lo, len);
	fclose(f);
}

/* Every recorded range in `dir`, then the subordinate ids. */
static int
pool_scan(struct pool *p, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint64_t b, s;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || state_pathf(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1)
			continue;
		if (record_read(path, &b, &s) == 0)
			pool_mark(p, b, s);
	}
	closedir(d);
	pool_mark_subids(p, "/etc/subuid");
	pool_mark_subids(p, "/etc/subgid");
	return 0;
}

/* The first free slot, recorded for `app` (lock held): 0 or -1. */
static int
allocate(const struct conf *c, const char *dir, const char *path,
    uint64_t *base, uint64_t *size, char *err, size_t errlen)
{
	struct pool p = { c->userns_base, c->userns_size, c->userns_ranges,
	    NULL };
	char text[RECORD_MAX];
	unsigned k;
	int n;

	if ((p.used = calloc(p.n, 1)) == NULL || pool_scan(&p, dir) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(p.used);
		return -1;
	}
	for (k = 0; k < p.n && p.used[k]; k++)
		;
	free(p.used);
	if (k == p.n) {
		snprintf(err, errlen, "no free range of host ids: all %u "
		    "ranges of %" PRIu64 " ids from %" PRIu64 " are taken or in "
		    "/etc/subuid (dyno.conf: [dyno] userns_ranges)", p.n, p.size,
		    p.base);
		errno = ENOSPC;
		return -1;
	}
	*base = p.base + (uint64_t)k * p.size;
	*size = p.size;
	n = snprintf(text, sizeof(text), "base=%" PRIu64 "\nsize=%" PRIu64
	    "\n", *base, *size);
	if (state_replace(path, text, (size_t)n, 0644, STATE_FSYNC) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
userns_app_range(const struct conf *c, const char *app, uint32_t *base,
    uint32_t *size, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], lockpath[PATH_MAX];
	uint64_t b, s;
	int lock, rc = 0;

	if (c->userns_size == 0 || (uint64_t)c->userns_base +
	    (uint64_t)c->userns_size * c->userns_ranges > UINT32_MAX) {
		snprintf(err, errlen, "userns_base + userns_size x "
		    "userns_ranges: past the last host id (4294967294)");
		errno = ERANGE;
		return -1;
	}
	if (state_pathf(dir, sizeof(dir), "%s/userns", c->root) == -1 ||
	    state_pathf(path, sizeof(path), "%s/%s", dir, app) == -1 ||
	    state_pathf(lockpath, sizeof(lockpath), "%s/.lock", dir) == -1) {
		snprintf(err, errlen, "%s/userns: path too long", c->root);
		return -1;
	}
	/* Recorded once, kept for good: the common case takes no lock. */
	if (record_read(path, &b, &s) == -1) {
		if (state_mkdirs(dir, 0755) == -1 ||
		    (lock = state_lock(lockpath, 1)) == -1) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return -1;
		}
		/* Another dyno-run of the app may have been first. */
		if (record_read(path, &b, &s) == -1)
			rc = allocate(c, dir, path, &b, &s, err, errlen);
		close(lock);
		if (rc == -1)
			return -1;
	}
	*base = (uint32_t)b;
	*size = (uint32_t)s;
	return 0;
}

int
userns_usable(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (access("/proc/self/ns/user", F_OK) == -1)
		return 0;
	if ((fd = open("/proc/sys/user/max_user_namespaces", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	return strtoul(buf, NULL, 10) > 0;
}
