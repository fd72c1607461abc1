/* SPDX-License-Identifier: ISC */
/* Paths inside an untrusted tree resolved so they cannot leave it (openat2). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"
#include "state.h"

#define ALLOWED	(O_PATH | O_DIRECTORY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

/* openat2 says EAGAIN when a rename raced a ".."; a few tries, then give up. */
#define RACE_TRIES	8

/* Flags as open(2) gets them: O_PATH ignores all but O_DIRECTORY. */
static int
open_flags(int flags)
{
	if (flags & O_PATH)
		return O_PATH | (flags & O_DIRECTORY) | O_CLOEXEC;
	return flags | O_CLOEXEC;
}

/* "a/b" (or "a" when b is NULL) into buf; -1 with ENAMETOOLONG. */
static int
join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s%s", a, b != NULL ? "/" : "",
	    b != NULL ? b : "");

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
is_dir(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
kernel_open(int dirfd, const char *path, int flags)
{
	struct open_how how;
	int fd, i;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)open_flags(flags);
	/*
	 * BENEATH, not IN_ROOT: a slug's absolute link means the dyno's /,
	 * never the slug's own top, so it is refused rather than reread.
	 * NO_MAGICLINKS: /proc/PID/fd/N jumps anywhere without a "..".
	 */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (i = 0; i < RACE_TRIES; i++)
		if ((fd = (int)syscall(SYS_openat2, dirfd, path, &how,
		    sizeof(how))) != -1 || errno != EAGAIN)
			break;
	return fd;
}

int
beneath_open(int dirfd, const char *path, int flags)
{
	int fd;

	if ((flags & ~ALLOWED) != 0) {
		errno = EINVAL;
		return -1;
	}
	fd = kernel_open(dirfd, path, flags);
	/* Before 5.6 ENOSYS; old container seccomp profiles say EPERM. */
	if (fd == -1 && (errno == ENOSYS || errno == EPERM))
		return beneath_walk(dirfd, path, flags);
	return fd;
}

/*
 * The walk: `rest` is what is left to resolve, relative to `cur`, a
 * folder `depth` levels below the root.  A symlink's text takes its
 * name's place in `rest`, resolved from the link's own folder.
 */
struct walk {
	char	 rest[PATH_MAX];
	int	 cur, flags;
	unsigned depth, links;
};

/* Put the target of the link `fd` in front of what is left. */
static int
walk_link(struct walk *w, int fd, int more)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n;

	if (++w->links > BENEATH_MAXLINKS) {
		errno = ELOOP;
		return -1;
	}
	if ((n = readlinkat(fd, "", target, sizeof(target))) == -1)
		return -1;
	if ((size_t)n >= sizeof(target)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	if (target[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (join(joined, sizeof(joined), target, more ? w->rest :
	    NULL) == -1)
		return -1;
	memcpy(w->rest, joined, strlen(joined) + 1);
	return 0;
}

/* Make fd the current folder, one level down (or up for ".."). */
static void
walk_enter(struct walk *w, int fd, int up)
{
	close(w->cur);
	w->cur = fd;
	if (up)
		w->depth--;
	else
		w->depth++;
}

/*
 * The last component, `name` in w->cur, known to be no link: opened with
 * the caller's flags, O_NOFOLLOW, and checked to be what was looked at.
 */
static int
walk_final(struct walk *w, const char *name, int pathfd)
{
	struct stat a, b;
	int fd, saved;

	if (w->flags & O_PATH)
		return pathfd;
	fd = openat(w->cur, name, open_flags(w->flags) | O_NOFOLLOW);
	if (fd != -1 && (fstat(pathfd, &a) == -1 || fstat(fd, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		close(fd);
		fd = -1;
		errno = ESTALE;
	}
	saved = errno;
	close(pathfd);
	errno = saved;
	return fd;
}

/*
 * One component `name`, with `more` after it or not.  Returns 1 with *out
 * set when the walk is done, 0 to go on, -1 with errno.
 */
static int
walk_step(struct walk *w, const char *name, int more, int *out)
{
	struct stat st;
	int fd, saved;

	if (strcmp(name, "..") == 0) {
		if (w->depth == 0) {
			errno = EXDEV;
			return -1;
		}
		if ((fd = openat(w->cur, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return -1;
		walk_enter(w, fd, 1);
		return 0;
	}
	if ((fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (S_ISLNK(st.st_mode)) {
		if (walk_link(w, fd, more) == -1)
			goto fail;
		close(fd);
		return 0;
	}
	if (!more)
		return (*out = walk_final(w, name, fd)) == -1 ? -1 : 1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	walk_enter(w, fd, 0);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Resolve w->rest from w->cur; the fd of what it names, or -1. */
static int
walk_resolve(struct walk *w)
{
	char name[NAME_MAX + 1];
	const char *p;
	size_t n;
	int out = -1, r, more;

	for (;;) {
		for (p = w->rest; *p == '/'; p++)
			;
		if (*p == '\0')
			return openat(w->cur, ".", open_flags(w->flags));
		if ((n = strcspn(p, "/")) > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		more = p[n] == '/';
		/* What follows the name is all there is left to resolve. */
		memmove(w->rest, p + n + more, strlen(p + n + more) + 1);
		if (strcmp(name, ".") == 0)
			continue;
		if ((r = walk_step(w, name, more, &out)) != 0)
			return r == 1 ? out : -1;
	}
}

int
beneath_walk(int dirfd, const char *path, int flags)
{
	struct walk w;
	int fd, saved;

	if ((flags & ~ALLOWED) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (path[0] == '\0' || path[0] == '/') {
		errno = path[0] == '\0' ? ENOENT : EXDEV;
		return -1;
	}
	if (join(w.rest, sizeof(w.rest), path, NULL) == -1)
		return -1;
	w.flags = flags;
	w.depth = w.links = 0;
	if ((w.cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	fd = walk_resolve(&w);
	saved = errno;
	close(w.cur);
	errno = saved;
	if (fd != -1 && (flags & O_DIRECTORY) && !is_dir(fd)) {
		close(fd);
		errno = ENOTDIR;
		return -1;
	}
	return fd;
}

/* An O_PATH fd of a regular file (checked) and its stat, or -1. */
static int
open_regular(int dirfd, const char *path, struct stat *st)
{
	int fd, saved;

	if ((fd = beneath_open(dirfd, path, O_PATH)) == -1)
		return -1;
	if (fstat(fd, st) == -1)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = S_ISDIR(st->st_mode) ? EISDIR : ENXIO;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
beneath_read(int dirfd, const char *path, size_t max, char **data,
    size_t *len)
{
	struct stat a, b;
	int pfd, fd = -1, rc = -1, saved;

	/* max + 1 bytes are read to see a file that grew past max. */
	if (max >= SIZE_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	if ((pfd = open_regular(dirfd, path, &a)) == -1)
		return -1;
	if ((uintmax_t)a.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	/*
	 * Resolved a second time to read it: O_NONBLOCK and the same inode,
	 * so a file swapped for a FIFO or device in between is refused.
	 */
	if ((fd = beneath_open(dirfd, path, O_RDONLY | O_NONBLOCK |
	    O_NOCTTY)) == -1)
		goto out;
	if (fstat(fd, &b) == -1)
		goto out;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = ESTALE;
		goto out;
	}
	rc = state_read_fd(fd, max, data, len);
out:
	saved = errno;
	close(pfd);
	if (fd != -1)
		close(fd);
	errno = saved;
	return rc;
}

const char *
beneath_strerror(int err)
{
	switch (err) {
	case EXDEV:
		return "leads outside the slug";
	case ELOOP:
		return "symlink loop (or a link through /proc)";
	case EISDIR:
		return "a folder, not a regular file";
	case ENXIO:
		return "not a regular file (a FIFO, device or socket)";
	case ESTALE:
		return "changed while being opened";
	default:
		return strerror(err);
	}
}
