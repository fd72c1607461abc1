/* SPDX-License-Identifier: ISC */
/* dyno-build: the build folder after compile as a slug, tar + gzip. */
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-build.h"
#include "state.h"

struct out {
	int		 fd;
	uint64_t	 n, max;
	uint64_t	 deadline_ms;	/* the build's, CLOCK_MONOTONIC */
	int		 late;		/* stopped there */
};

/*
 * The build's time limit covers the compression too: a build folder
 * made to compress slowly (or a huge one) must not run past it.  Checked
 * per block written, per member and per block read.
 */
static int
past_deadline(struct out *o)
{
	if (!o->late && build_now_ms() >= o->deadline_ms)
		o->late = 1;
	return o->late;
}

/* Past max nothing more is written, but the size is still counted. */
static la_ssize_t
out_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct out *o = arg;
	size_t off = 0;
	ssize_t w;

	(void)a;
	if (past_deadline(o))
		return -1;
	o->n += len;
	if (o->n > o->max)
		return (la_ssize_t)len;
	while (off < len) {
		if ((w = write(o->fd, (const char *)buf + off, len - off)) <= 0)
			return -1;
		off += (size_t)w;
	}
	return (la_ssize_t)len;
}

/* One .slugignore pattern against a member's path (tar -X's rules). */
static int
pattern_hit(const char *pat, size_t plen, const char *path, int isdir)
{
	char p[512];
	const char *base;

	if (plen == 0 || plen >= sizeof(p) || *pat == '#')
		return 0;
	memcpy(p, pat, plen);
	p[plen] = '\0';
	if (plen > 1 && p[plen - 1] == '/') {
		if (!isdir)
			return 0;
		p[--plen] = '\0';
	}
	/* "/x" and "a/b" are anchored at the root; "x" matches any name. */
	if (p[0] == '/')
		return fnmatch(p + 1, path, FNM_PATHNAME) == 0;
	if (strchr(p, '/') != NULL)
		return fnmatch(p, path, FNM_PATHNAME) == 0;
	base = strrchr(path, '/');
	return fnmatch(p, base ? base + 1 : path, 0) == 0;
}

static int
ignored(const struct build *b, const char *path, int isdir)
{
	const char *s = b->slugignore, *base = strrchr(path, '/');
	size_t n;

	/* .git, anywhere, is never part of a slug. */
	if (strcmp(base ? base + 1 : path, ".git") == 0)
		return 1;
	while (s != NULL && *s != '\0') {
		n = strcspn(s, "\n");
		while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
			n--;
		if (pattern_hit(s, n, path, isdir))
			return 1;
		s += strcspn(s, "\n");
		if (*s == '\n')
			s++;
	}
	return 0;
}

static int
copy_file(struct archive *r, struct archive *w, struct out *o)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int rc;

	while ((rc = archive_read_data_block(r, &buf, &n, &off)) == ARCHIVE_OK)
		if (past_deadline(o) || archive_write_data(w, buf, n) < 0)
			return -1;
	return rc == ARCHIVE_EOF ? 0 : -1;
}

/* The Procfile the build made: the app's, plus the buildpack's types. */
static int
put_procfile(struct archive *w, const char *text)
{
	struct archive_entry *e = archive_entry_new();
	size_t n = strlen(text);
	int rc = 0;

	archive_entry_set_pathname(e, "Procfile");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(w, e) != ARCHIVE_OK ||
	    archive_write_data(w, text, n) != (la_ssize_t)n)
		rc = -1;
	archive_entry_free(e);
	return rc;
}

/* One member from the walk: kept as it is (a link stays a link). */
static int
put(const struct build *b, struct archive *r, struct archive *w,
    struct archive_entry *e, const char *rel, int skip_procfile,
    struct out *o)
{
	mode_t t = archive_entry_filetype(e);

	if (t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK)
		return 0;		/* sockets, FIFOs: not files */
	if (ignored(b, rel, t == AE_IFDIR) ||
	    (skip_procfile && strcmp(rel, "Procfile") == 0))
		return 1;
	archive_entry_copy_pathname(e, rel);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_copy_uname(e, NULL);
	archive_entry_copy_gname(e, NULL);
	archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		return -1;
	if (t == AE_IFREG && archive_entry_size(e) > 0 && copy_file(r, w, o) == -1)
		return -1;
	return 0;
}

static int
walk(const struct build *b, const char *dir, struct archive *w,
    int skip_procfile, struct out *o, char *err, size_t errlen)
{
	struct archive *r = archive_read_disk_new();
	struct archive_entry *e;
	size_t dl = strlen(dir);
	const char *p;
	int st, rc = 0;

	archive_read_disk_set_symlink_physical(r);
	if (archive_read_disk_open(r, dir) != ARCHIVE_OK)
		rc = -1;
	while (rc == 0 && !past_deadline(o)) {
		e = archive_entry_new();
		if ((st = archive_read_next_header2(r, e)) != ARCHIVE_OK &&
		    st != ARCHIVE_WARN) {
			archive_entry_free(e);
			rc = st == ARCHIVE_EOF ? 0 : -1;
			break;
		}
		p = archive_entry_pathname(e) + dl;
		while (*p == '/')
			p++;
		if (*p == '\0')
			archive_read_disk_descend(r);
		else if ((rc = put(b, r, w, e, p, skip_procfile, o)) == 0)
			archive_read_disk_descend(r);
		rc = rc == 1 ? 0 : rc;
		archive_entry_free(e);
	}
	if (rc == -1)
		snprintf(err, errlen, "%s", archive_error_string(r) ?
		    archive_error_string(r) : archive_error_string(w));
	archive_read_free(r);
	return o->late ? -1 : rc;
}

/*
 * WORK/build as a gzip'd tar at path, without .git or what .slugignore
 * names; `procfile`, when not NULL, is the slug's Procfile.  *size gets
 * the compressed size, counted to the end even past slug_max (nothing is
 * written past it) so the message can say how large it was.  Returns 0,
 * or -1 after saying why, with errno ETIMEDOUT (nothing said) when the
 * build's deadline came first.
 */
int
slug_write(struct build *b, const char *procfile, const char *path,
    uint64_t *size)
{
	struct out o = { -1, 0, b->conf->slug_max, b->deadline_ms, 0 };
	char dir[PATH_MAX], err[1024] = "";
	struct archive *w;
	int rc = -1;

	(void)state_pathf(dir, sizeof(dir), "%s/build", b->work);
	if ((o.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		diag_error_errno("%s", path);
		return -1;
	}
	w = archive_write_new();
	archive_write_add_filter_gzip(w);
	archive_write_set_format_pax_restricted(w);
	archive_write_set_bytes_in_last_block(w, 1);
	if (archive_write_open2(w, &o, NULL, out_write, NULL, NULL) !=
	    ARCHIVE_OK)
		snprintf(err, sizeof(err), "%s", archive_error_string(w));
	else if ((procfile != NULL && put_procfile(w, procfile) == -1) ||
	    walk(b, dir, w, procfile != NULL, &o, err, sizeof(err)) == -1 ||
	    archive_write_close(w) != ARCHIVE_OK) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s",
			    archive_error_string(w));
	} else
		rc = 0;
	archive_write_free(w);
	if (close(o.fd) == -1 && rc == 0)
		rc = -1;
	*size = o.n;
	if (o.late) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rc == -1)
		diag_error("slug: %s", err[0] ? err : strerror(errno));
	return rc;
}
