/* SPDX-License-Identifier: ISC */
/* State files: atomic replace through a temp file and rename(2), locks, pids. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

int
state_pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * The temp name beside path: ".NAME.tmp.XXXXXX", hidden, so that a reader
 * scanning the folder (the manager's cycle requests) never takes it for an
 * entry.
 */
static int
temp_of(const char *path, const char *suffix, char *tmp, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return state_pathf(tmp, size, ".%s.tmp.%s", path, suffix);
	return state_pathf(tmp, size, "%.*s/.%s.tmp.%s", (int)(slash - path),
	    path, slash + 1, suffix);
}

/* The folder part of path into dir ("." when there is none). */
static int
dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return state_pathf(dir, size, ".");
	if (slash == path)
		return state_pathf(dir, size, "/");
	return state_pathf(dir, size, "%.*s", (int)(slash - path), path);
}

int
state_fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
state_replace(const char *path, const void *data, size_t len, mode_t mode,
    int flags)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, saved;

	if (temp_of(path, "XXXXXX", tmp, sizeof(tmp)) == -1 ||
	    dir_of(path, dir, sizeof(dir)) == -1)
		return -1;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1 || write_all(fd, data, len) == -1 ||
	    ((flags & STATE_FSYNC) && fsync(fd) == -1))
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((flags & STATE_FSYNC) && state_fsync_dir(dir) == -1)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

int
state_symlink_replace(const char *target, const char *linkpath)
{
	char tmp[PATH_MAX], dir[PATH_MAX], pid[32];
	int saved;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (temp_of(linkpath, pid, tmp, sizeof(tmp)) == -1 ||
	    dir_of(linkpath, dir, sizeof(dir)) == -1)
		return -1;
	unlink(tmp);
	if (symlink(target, tmp) == -1)
		return -1;
	if (rename(tmp, linkpath) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return state_fsync_dir(dir);
}

int
state_read_fd(int fd, size_t max, char **data, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t used = 0, cap = 0;
	ssize_t n;

	/* max + 1 bytes are room enough to see a file over max. */
	if (max >= SIZE_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		if (used == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if (used == cap) {
				errno = EFBIG;
				goto fail;
			}
			if ((nbuf = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nbuf;
		}
		if ((n = read(fd, buf + used, cap - used)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max) {
		errno = EFBIG;
		goto fail;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return -1;
	buf[used] = '\0';
	*data = buf;
	if (len != NULL)
		*len = used;
	return 0;
fail:
	free(buf);
	return -1;
}

int
state_read(const char *path, size_t max, char **data, size_t *len)
{
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = state_read_fd(fd, max, data, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
state_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (state_pathf(buf, sizeof(buf), "%s", path) == -1)
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
state_lock(const char *path, int wait)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == -1) {
		if (errno == EINTR)
			continue;
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

pid_t
state_read_pid(const char *path)
{
	char *text, *end;
	long pid;

	if (state_read(path, 64, &text, NULL) == -1)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0') ||
	    pid <= 0 || pid > INT_MAX) {
		free(text);
		errno = EINVAL;
		return -1;
	}
	free(text);
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return 0;
	return (pid_t)pid;
}

int
state_write_pid(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return state_replace(path, buf, (size_t)n, 0644, 0);
}

int
state_remove_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[PATH_MAX];
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (state_pathf(sub, sizeof(sub), "%s/%s", path, de->d_name) == -1 ||
		    state_remove_tree(sub) == -1)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}
