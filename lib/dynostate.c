/* SPDX-License-Identifier: ISC */
/* The manager's dyno state files and routes file: the one reader and writer. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dynostate.h"
#include "names.h"
#include "state.h"

#define VALUE_MAX	256	/* a state file is one short line */
#define ROUTES_MAX	(1 << 20)

/* Write APPDIR/dynos/NAME/FILE, the value and a newline. */
static int
put(const char *dir, const char *file, const char *value, char *err,
    size_t errlen)
{
	char path[PATH_MAX], line[VALUE_MAX];
	int len;

	len = snprintf(line, sizeof(line), "%s\n", value);
	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1 ||
	    len >= (int)sizeof(line) ||
	    state_replace(path, line, (size_t)len, 0644, 0) == -1) {
		if (len >= (int)sizeof(line))
			errno = ENAMETOOLONG;
		snprintf(err, errlen, "%s/%s", dir, file);
		return -1;
	}
	return 0;
}

/*
 * APPDIR/dynos/NAME once per dyno: one mkdir(2) for all but the app's
 * first dyno, whose dynos/ folder may be missing too.
 */
static int
make_dir(const char *dir)
{
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	return errno == ENOENT ? state_mkdirs(dir, 0755) : -1;
}

/* Each file whose value differs from *last (every one when fresh). */
static int
put_changed(const char *dir, const struct dynostate *d,
    const struct dynostate *last, int fresh, char *err, size_t errlen)
{
	char pid[32], started[32];

	snprintf(pid, sizeof(pid), "%ld", d->pid);
	snprintf(started, sizeof(started), "%lld", d->started);
	/* The state first: see the header. */
	if ((fresh || strcmp(d->state, last->state) != 0) &&
	    put(dir, "state", d->state, err, errlen) == -1)
		return -1;
	if ((fresh || d->pid != last->pid) &&
	    put(dir, "pid", pid, err, errlen) == -1)
		return -1;
	if ((fresh || strcmp(d->release, last->release) != 0) &&
	    put(dir, "release", d->release, err, errlen) == -1)
		return -1;
	if (fresh || strcmp(d->addr, last->addr) != 0) {
		/* An empty addr file, not "\n": nothing routable. */
		if (d->addr[0] == '\0') {
			if (state_pathf(err, errlen, "%s/addr", dir) == -1 ||
			    state_replace(err, "", 0, 0644, 0) == -1)
				return -1;
		} else if (put(dir, "addr", d->addr, err, errlen) == -1)
			return -1;
	}
	if ((fresh || d->started != last->started) &&
	    put(dir, "started", started, err, errlen) == -1)
		return -1;
	return 0;
}

int
dynostate_update(const char *appdir, const struct dynostate *d,
    struct dynostate *last, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int fresh = last == NULL || strcmp(last->name, d->name) != 0;

	if (names_check_dyno(d->name, NULL, NULL) != NULL) {
		snprintf(err, errlen, "%s", d->name);
		errno = EINVAL;
		goto fail;
	}
	if (state_pathf(dir, sizeof(dir), "%s/dynos/%s", appdir, d->name) ==
	    -1 || (fresh && make_dir(dir) == -1)) {
		snprintf(err, errlen, "%s/dynos/%s", appdir, d->name);
		goto fail;
	}
	if (put_changed(dir, d, last, fresh, err, errlen) == -1) {
		/* The folder removed under us: made again, every file. */
		if (fresh || errno != ENOENT || make_dir(dir) == -1 ||
		    put_changed(dir, d, last, 1, err, errlen) == -1)
			goto fail;
	}
	if (last != NULL)
		*last = *d;
	return 0;
fail:
	/* Some files may hold the old value: the next call writes them all. */
	if (last != NULL) {
		int saved = errno;

		memset(last, 0, sizeof(*last));
		errno = saved;
	}
	return -1;
}

int
dynostate_write(const char *appdir, const struct dynostate *d, char *err,
    size_t errlen)
{
	return dynostate_update(appdir, d, NULL, err, errlen);
}

/* The first line of DIR/FILE without trailing blanks into buf. */
static int
get(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX], *text;
	size_t len;

	buf[0] = '\0';
	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1 ||
	    state_read(path, VALUE_MAX, &text, NULL) == -1)
		return -1;
	len = strcspn(text, "\n");
	while (len > 0 && strchr(" \t\r", text[len - 1]) != NULL)
		len--;
	snprintf(buf, size, "%.*s", (int)len, text);
	free(text);
	return 0;
}

int
dynostate_read(const char *appdir, const char *name, struct dynostate *d)
{
	char dir[PATH_MAX], buf[32];

	memset(d, 0, sizeof(*d));
	if (names_check_dyno(name, NULL, NULL) != NULL ||
	    snprintf(d->name, sizeof(d->name), "%s", name) >=
	    (int)sizeof(d->name)) {
		errno = EINVAL;
		return -1;
	}
	if (state_pathf(dir, sizeof(dir), "%s/dynos/%s", appdir, name) == -1)
		return -1;
	/* pid and started before state: the manager writes state first. */
	if (get(dir, "pid", buf, sizeof(buf)) == 0)
		d->pid = atol(buf);
	if (get(dir, "started", buf, sizeof(buf)) == 0)
		d->started = atoll(buf);
	(void)get(dir, "release", d->release, sizeof(d->release));
	(void)get(dir, "addr", d->addr, sizeof(d->addr));
	return get(dir, "state", d->state, sizeof(d->state));
}

int
dynostate_cmp(const char *a, const char *b)
{
	size_t al, bl;
	unsigned an, bn;
	int c;

	/* Not dyno names (never listed): plain byte order. */
	if (names_check_dyno(a, &al, &an) != NULL ||
	    names_check_dyno(b, &bl, &bn) != NULL)
		return strcmp(a, b);
	if ((c = strncmp(a, b, al < bl ? al : bl)) != 0)
		return c;
	if (al != bl)
		return al < bl ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static int
cmp_state(const void *x, const void *y)
{
	return dynostate_cmp(((const struct dynostate *)x)->name,
	    ((const struct dynostate *)y)->name);
}

size_t
dynostate_list(const char *appdir, const char *type, struct dynostate *out,
    size_t max)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0, tl;
	DIR *d;

	if (state_pathf(path, sizeof(path), "%s/dynos", appdir) == -1 ||
	    (d = opendir(path)) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		if (names_check_dyno(de->d_name, &tl, NULL) != NULL ||
		    (type != NULL && (strlen(type) != tl ||
		    strncmp(de->d_name, type, tl) != 0)))
			continue;
		if (dynostate_read(appdir, de->d_name, &out[n]) == 0)
			n++;
	}
	closedir(d);
	qsort(out, n, sizeof(out[0]), cmp_state);
	return n;
}

/* The routes file's text: a malloc'd buffer, its length in *len. */
static char *
routes_text(const struct dynoroute *r, size_t n, size_t *len)
{
	size_t i, size = n * (sizeof(r->dyno) + sizeof(r->addr) + 2) + 1;
	char *buf;

	*len = 0;
	if ((buf = malloc(size)) == NULL)
		return NULL;
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		*len += (size_t)snprintf(buf + *len, size - *len, "%s %s\n",
		    r[i].dyno, r[i].addr);
	return buf;
}

int
dynostate_routes_update(const char *appdir, const struct dynoroute *r,
    size_t n, char **last, size_t *lastlen)
{
	char path[PATH_MAX], *buf;
	size_t len;

	if (state_pathf(path, sizeof(path), "%s/routes", appdir) == -1 ||
	    (buf = routes_text(r, n, &len)) == NULL)
		goto fail;
	if (*last != NULL && *lastlen == len && memcmp(*last, buf, len) == 0) {
		free(buf);
		return 0;
	}
	free(*last);
	*last = NULL;
	if (state_replace(path, buf, len, 0644, 0) == -1) {
		int saved = errno;

		free(buf);
		errno = saved;
		return -1;
	}
	*last = buf;
	*lastlen = len;
	return 1;
fail:
	free(*last);
	*last = NULL;
	return -1;
}

int
dynostate_routes_write(const char *appdir, const struct dynoroute *r,
    size_t n)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = dynostate_routes_update(appdir, r, n, &text, &len);
	free(text);
	return rc == -1 ? -1 : 0;
}

/* The next blank-separated word of *p into buf; 0, or -1 if it won't fit. */
static int
word(const char **p, char *buf, size_t size)
{
	size_t len;

	*p += strspn(*p, " \t");
	if ((len = strcspn(*p, " \t\r\n")) == 0 || len >= size)
		return -1;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	*p += len;
	return 0;
}

int
dynostate_route_parse(const char *line, struct dynoroute *r)
{
	if (word(&line, r->dyno, sizeof(r->dyno)) == -1 ||
	    word(&line, r->addr, sizeof(r->addr)) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
