/* SPDX-License-Identifier: ISC */
/* State files under DYNO_ROOT and DYNO_RUNDIR: paths, atomic replace, locks. */
#ifndef DYNO_STATE_H
#define DYNO_STATE_H

#include <stddef.h>
#include <sys/types.h>

#define STATE_FSYNC	0x1	/* fsync the file and its folder (durable) */

/* snprintf into buf; -1 with errno ENAMETOOLONG if it does not fit. */
int	state_pathf(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Replace `path` with `data` atomically: write a temp file in the same
 * folder, optionally fsync, rename(2) over `path`.  A reader sees the old
 * or the new content, never a mix.  0, or -1 with errno (the temp file is
 * removed).
 */
int	state_replace(const char *path, const void *data, size_t len,
	    mode_t mode, int flags);

/* Point the symlink `linkpath` at `target` atomically (temp link + rename). */
int	state_symlink_replace(const char *target, const char *linkpath);

/*
 * Read a whole file into a malloc'd, NUL-terminated buffer the caller
 * frees.  *len (if not NULL) gets its length.  Refuses files over `max`
 * bytes with EFBIG.  -1 with errno on failure.
 */
int	state_read(const char *path, size_t max, char **data, size_t *len);

/*
 * state_read() of an open fd, from where it stands to its end; the fd
 * stays open.  Reads at most max + 1 bytes, so a file that grows without
 * end costs no more.  -1 with errno: EFBIG over max, EINVAL max is not
 * below SIZE_MAX / 2, or read(2)'s.
 */
int	state_read_fd(int fd, size_t max, char **data, size_t *len);

/* mkdir -p with `mode` for the folders it creates.  0 or -1 with errno. */
int	state_mkdirs(const char *path, mode_t mode);

/* fsync a folder, so a rename in it is durable.  0 or -1 with errno. */
int	state_fsync_dir(const char *dir);

/*
 * Take an exclusive flock(2) on `path` (created if needed); with `wait`
 * zero, fail with EWOULDBLOCK instead of waiting.  Returns the fd to keep
 * open while the lock is needed (O_CLOEXEC), or -1 with errno.
 */
int	state_lock(const char *path, int wait);

/*
 * Read a pid file (a decimal pid and a newline).  Returns the pid when the
 * process is alive, 0 when the file is missing or stale, -1 with errno on
 * a read error or garbage (EINVAL).
 */
pid_t	state_read_pid(const char *path);

/* Write our pid to `path` atomically.  0 or -1 with errno. */
int	state_write_pid(const char *path);

/* Remove a folder tree (no symlinks followed).  0 or -1 with errno. */
int	state_remove_tree(const char *path);

#endif
