/* SPDX-License-Identifier: ISC */
/* Open and read files of an untrusted tree (a slug) without ever leaving it. */
#ifndef DYNO_BENEATH_H
#define DYNO_BENEATH_H

#include <stddef.h>

/* More symlinks than this on one path is a loop (the kernel's limit). */
#define BENEATH_MAXLINKS	40

/*
 * Open `path` relative to the folder `dirfd`, never leaving it: symlinks
 * are followed (the last one too) but ".." never climbs above dirfd, an
 * absolute path or link target is refused, and so are /proc's magic links.
 * `flags` is O_PATH, or O_RDONLY with O_DIRECTORY, O_NONBLOCK, O_NOCTTY;
 * O_CLOEXEC is always added.  Uses openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS, or beneath_walk() where the kernel lacks it.
 * Returns the fd (the caller closes it), or -1 with errno: EXDEV the path
 * leaves dirfd, ELOOP a symlink loop or a magic link, ENOENT, ENOTDIR,
 * ENAMETOOLONG, or what open(2) says.
 */
int	beneath_open(int dirfd, const char *path, int flags);

/*
 * beneath_open() done here, one component at a time with O_NOFOLLOW, for
 * kernels before Linux 5.6 (and so the tests can compare the two).  It
 * trusts that no folder of the tree is renamed while it resolves, which
 * holds for a sealed slug.  Same return and errno.
 */
int	beneath_walk(int dirfd, const char *path, int flags);

/*
 * Read the regular file `path` beneath dirfd whole, into a malloc'd,
 * NUL-terminated buffer the caller frees; *len (if not NULL) gets its
 * length.  The path is resolved as O_PATH and checked before anything is
 * opened for reading, so a device's open routine never runs and a FIFO
 * never blocks.  Returns 0, or -1 with the errno of beneath_open() or:
 * EISDIR a folder, ENXIO a FIFO, device or socket, EFBIG over `max` bytes
 * (judged by its size before reading, and again while reading), ESTALE
 * the file changed between the check and the open, EINVAL max is not
 * below SIZE_MAX / 2.
 */
int	beneath_read(int dirfd, const char *path, size_t max, char **data,
	    size_t *len);

/*
 * A phrase for the errno values above that says what was wrong with the
 * tree ("a folder, not a regular file"), else strerror(err).  The only
 * untrusted tree dyno reads is a slug, so EXDEV reads "leads outside the
 * slug".  A static string.
 */
const char *beneath_strerror(int err);

#endif
