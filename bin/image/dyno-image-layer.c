/* SPDX-License-Identifier: ISC */
/* Layers to a root filesystem, the OCI way, in a child confined to it. */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "diag.h"
#include "state.h"

#include "dyno-image.h"

#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

/*
 * ACLs and xattrs are not restored: an image's trusted.overlay.* or
 * security.capability attributes would reach the overlay mount and the
 * kernel.  Numeric owners win over names (there is no passwd to ask).
 */
#define EXTRACT_FLAGS	(ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | \
	ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_UNLINK | \
	ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* The paths one layer created: a whiteout never removes them. */
struct pathset {
	char		**slot;
	size_t		  cap, n;
};

struct applier {
	const struct image_limits *lim;
	uint64_t	 bytes, entries, skipped;
	int		 errfd;		/* the pipe for the parent's message */
};

static noreturn void child_fail(struct applier *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static noreturn void
child_fail(struct applier *ap, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list va;
	int n;

	va_start(va, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, va);
	va_end(va);
	if (n > 0)
		(void)!write(ap->errfd, msg, strnlen(msg, sizeof(msg)));
	_exit(code);
}

static size_t
hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int
pathset_has(const struct pathset *ps, const char *p)
{
	size_t i;

	if (ps->cap == 0)
		return 0;
	for (i = hash_str(p) & (ps->cap - 1); ps->slot[i] != NULL;
	    i = (i + 1) & (ps->cap - 1))
		if (strcmp(ps->slot[i], p) == 0)
			return 1;
	return 0;
}

static int pathset_add(struct pathset *, const char *);

static int
pathset_grow(struct pathset *ps)
{
	struct pathset bigger = { NULL, ps->cap ? ps->cap * 2 : 1024, 0 };
	size_t i;

	if ((bigger.slot = calloc(bigger.cap, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < ps->cap; i++)
		if (ps->slot[i] != NULL && pathset_add(&bigger, ps->slot[i]))
			return -1;
	for (i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
	*ps = bigger;
	return 0;
}

static int
pathset_add(struct pathset *ps, const char *p)
{
	size_t i;

	if (pathset_has(ps, p))
		return 0;
	if ((ps->n + 1) * 2 > ps->cap && pathset_grow(ps) == -1)
		return -1;
	for (i = hash_str(p) & (ps->cap - 1); ps->slot[i] != NULL;
	    i = (i + 1) & (ps->cap - 1))
		;
	if ((ps->slot[i] = strdup(p)) == NULL)
		return -1;
	ps->n++;
	return 0;
}

static void
pathset_clear(struct pathset *ps)
{
	size_t i;

	for (i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
	memset(ps, 0, sizeof(*ps));
}

/*
 * Clean a member name in place: no leading "./", no "//", no "." parts,
 * no trailing "/".  Refuses (-1) an absolute name and any ".." part:
 * the chroot would contain them, but an image that has them is not one
 * a builder made.  The root itself becomes "".
 */
static int
clean_name(char *name)
{
	char *in = name, *out = name, *part;
	size_t len;

	if (name[0] == '/')
		return -1;
	while (*in != '\0') {
		while (*in == '/')
			in++;
		part = in;
		len = strcspn(part, "/");
		in += len;
		if (len == 0 || (len == 1 && part[0] == '.'))
			continue;
		if (len == 2 && part[0] == '.' && part[1] == '.')
			return -1;
		if (out != name)
			*out++ = '/';
		memmove(out, part, len);
		out += len;
	}
	*out = '\0';
	return 0;
}

/* Remove lower-layer children of dir (an opaque whiteout). */
static void
make_opaque(struct applier *ap, const struct pathset *upper, const char *dir)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir[0] != '\0' ? dir : ".")) == NULL)
		return;		/* nothing below it yet */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (state_pathf(sub, sizeof(sub), "%s%s%s", dir,
		    dir[0] ? "/" : "", de->d_name) == -1 ||
		    (!pathset_has(upper, sub) && state_remove_tree(sub) == -1))
			child_fail(ap, EXIT_OSERR, "%s: %s", sub,
			    strerror(errno));
	}
	closedir(d);
}

/* A whiteout entry `name` (already clean), never written itself. */
static void
apply_whiteout(struct applier *ap, const struct pathset *upper, char *name)
{
	char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	char target[PATH_MAX];
	const char *victim = base + strlen(WH_PREFIX);

	if (slash != NULL)
		*slash = '\0';
	if (strcmp(base, WH_OPAQUE) == 0) {
		make_opaque(ap, upper, slash ? name : "");
		return;
	}
	if (victim[0] == '\0' || strcmp(victim, ".") == 0 ||
	    strcmp(victim, "..") == 0 || strncmp(victim, WH_PREFIX, 4) == 0)
		child_fail(ap, EXIT_DATAERR, "%s/%s: a whiteout of nothing, of "
		    "the root or of a whiteout", slash ? name : ".", base);
	if (state_pathf(target, sizeof(target), "%s%s%s", slash ? name : "",
	    slash ? "/" : "", victim) == -1 ||
	    (!pathset_has(upper, target) && state_remove_tree(target) == -1))
		child_fail(ap, EXIT_OSERR, "%s: %s", target, strerror(errno));
}

/* Copy the entry's data to the disk writer. */
static void
copy_data(struct applier *ap, struct archive *r, struct archive *w,
    const char *name)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int rc;

	while ((rc = archive_read_data_block(r, &buf, &len, &off)) ==
	    ARCHIVE_OK)
		if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK)
			child_fail(ap, EXIT_OSERR, "%s: %s", name,
			    archive_error_string(w));
	if (rc != ARCHIVE_EOF)
		child_fail(ap, EXIT_DATAERR, "%s: %s", name,
		    archive_error_string(r));
}

/* Checks and clean names for an entry to be written; 0 to skip it. */
static int
prepare_entry(struct applier *ap, struct archive_entry *e, char *name)
{
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	char link[PATH_MAX];
	struct stat sb;

	if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
		ap->skipped++;	/* dyno-run provides /dev */
		return 0;
	}
	if (name[0] == '\0') {
		if (type != AE_IFDIR || hl != NULL)
			child_fail(ap, EXIT_DATAERR, "an entry replaces the "
			    "root folder");
		return 0;
	}
	archive_entry_set_pathname(e, name);
	if (hl != NULL) {
		if (strlen(hl) >= sizeof(link) ||
		    clean_name(strcpy(link, hl)) == -1 || link[0] == '\0')
			child_fail(ap, EXIT_DATAERR, "%s: a hard link to %s, "
			    "outside the image", name, hl);
		if (strcmp(link, name) == 0)
			return 0;
		archive_entry_set_hardlink(e, link);
	}
	/* Replacing anything but a folder by a folder: remove it first. */
	if (lstat(name, &sb) == 0 && !(S_ISDIR(sb.st_mode) && type ==
	    AE_IFDIR && hl == NULL) && state_remove_tree(name) == -1)
		child_fail(ap, EXIT_OSERR, "%s: %s", name, strerror(errno));
	if (archive_entry_size_is_set(e) && (ap->bytes +=
	    (uint64_t)archive_entry_size(e)) > ap->lim->max_bytes)
		child_fail(ap, EXIT_DATAERR, "%s: over the image's limit of "
		    "%llu bytes", name, (unsigned long long)ap->lim->max_bytes);
	return 1;
}

/* One uncompressed layer (fd) onto the root, which is our cwd and root. */
static void
apply_layer(struct applier *ap, int fd, size_t idx)
{
	struct archive *r = archive_read_new(), *w = archive_write_disk_new();
	struct pathset upper = { NULL, 0, 0 };
	struct archive_entry *e;
	char name[PATH_MAX];
	const char *base;
	int rc;

	archive_read_support_format_tar(r);
	archive_write_disk_set_options(w, EXTRACT_FLAGS);
	if (archive_read_open_fd(r, fd, 65536) != ARCHIVE_OK)
		child_fail(ap, EXIT_DATAERR, "layer %zu: %s", idx + 1,
		    archive_error_string(r));
	while ((rc = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		if (++ap->entries > ap->lim->max_entries)
			child_fail(ap, EXIT_DATAERR, "over the image's limit "
			    "of %llu entries",
			    (unsigned long long)ap->lim->max_entries);
		if (strlen(archive_entry_pathname(e)) >= sizeof(name) ||
		    clean_name(strcpy(name, archive_entry_pathname(e))) == -1)
			child_fail(ap, EXIT_DATAERR, "layer %zu: %s: an "
			    "absolute name or one with \"..\"", idx + 1,
			    archive_entry_pathname(e));
		base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		if (strncmp(base, WH_PREFIX, 4) == 0) {
			apply_whiteout(ap, &upper, name);
			continue;
		}
		if (!prepare_entry(ap, e, name))
			continue;
		if (archive_write_header(w, e) != ARCHIVE_OK)
			child_fail(ap, EXIT_DATAERR, "layer %zu: %s: %s",
			    idx + 1, name, archive_error_string(w));
		if (archive_entry_size(e) > 0)
			copy_data(ap, r, w, name);
		if (archive_write_finish_entry(w) != ARCHIVE_OK ||
		    pathset_add(&upper, name) == -1)
			child_fail(ap, EXIT_OSERR, "layer %zu: %s: %s",
			    idx + 1, name, archive_error_string(w));
	}
	if (rc != ARCHIVE_EOF)
		child_fail(ap, EXIT_DATAERR, "layer %zu: %s", idx + 1,
		    archive_error_string(r));
	/* Folder modes and times are set here, after their contents. */
	if (archive_write_close(w) != ARCHIVE_OK)
		child_fail(ap, EXIT_OSERR, "layer %zu: %s", idx + 1,
		    archive_error_string(w));
	archive_write_free(w);
	archive_read_free(r);
	pathset_clear(&upper);
}

/*
 * The child: chroot into the new root so that every name, symlink and
 * hard link a layer holds resolves inside it, whatever it says ("..",
 * "/", a link to "/" and a write through it).  no_new_privs and a file
 * size limit on top.  It holds no folder fd from outside (a chroot's
 * known way out) and runs no code from the image.
 */
static noreturn void
apply_child(struct applier *ap, const char *rootfs, const int *fds, size_t n)
{
	struct rlimit fsz = { ap->lim->max_bytes, ap->lim->max_bytes };
	size_t i;

	if (chdir(rootfs) == -1 ||
	    chroot(".") == -1 || chdir("/") == -1)
		child_fail(ap, EXIT_OSERR, "%s: confine: %s", rootfs,
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_FSIZE, &fsz) == -1)
		child_fail(ap, EXIT_OSERR, "limits: %s", strerror(errno));
	umask(0);
	for (i = 0; i < n; i++)
		apply_layer(ap, fds[i], i);
	_exit(0);
}

/*
 * Decompress layer blob `hex` (gzip, zstd, xz or none: told by content)
 * into stage file "layer.N", hashing the tar: it must be diff_id `want`.
 * *total bounds the bytes of all layers, against decompression bombs.
 */
static int
decompress_layer(struct image_stage *st, const char *hex, const char *want,
    size_t idx, uint64_t *total, const struct image_limits *lim,
    char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char name[32], got[IMAGE_HEXLEN + 1];
	int fd = -1, in = -1, rc = -1;
	la_ssize_t n;

	snprintf(name, sizeof(name), "layer.%zu", idx);
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if ((in = openat(st->dfd, hex, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (fd = openat(st->dfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1 || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "layer %zu: %s", idx + 1, strerror(errno));
		goto out;
	}
	if (archive_read_open_fd(a, in, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		goto bad;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if ((*total += (uint64_t)n) > lim->max_bytes) {
			snprintf(err, errlen, "layer %zu: over the image's "
			    "limit of %llu bytes uncompressed", idx + 1,
			    (unsigned long long)lim->max_bytes);
			goto out;
		}
		if (write(fd, buf, (size_t)n) != n ||
		    EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			snprintf(err, errlen, "layer %zu: %s", idx + 1,
			    strerror(errno));
			goto out;
		}
	}
	if (n < 0)
		goto bad;
	EVP_DigestFinal_ex(ctx, md, NULL);
	for (n = 0; n < 32; n++)
		snprintf(got + 2 * n, 3, "%02x", md[n]);
	if (strcmp(got, want) != 0) {
		snprintf(err, errlen, "layer %zu: its tar's sha256 is %s, "
		    "not the diff_id sha256:%s", idx + 1, got, want);
		goto out;
	}
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen, "layer %zu: %s", idx + 1, archive_error_string(a));
out:
	if (fd != -1)
		close(fd);
	if (in != -1)
		close(in);
	archive_read_free(a);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Wait for the child; its message (if any) comes through the pipe. */
static int
wait_child(pid_t pid, int rfd, char *err, size_t errlen, int *code)
{
	ssize_t n;
	int status;

	n = read(rfd, err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SOFTWARE;
	if (err[0] == '\0')
		snprintf(err, errlen, "the extracting child died (status %d)",
		    status);
	return -1;
}

int
image_layers_apply(struct image_stage *st, const struct image_config *ic,
    const char *rootfs, const struct image_limits *lim,
    char *err, size_t errlen, int *code)
{
	struct applier ap = { lim, 0, 0, 0, -1 };
	int fds[IMAGE_MAX_LAYERS], pfd[2] = { -1, -1 }, rc = -1;
	char name[32];
	uint64_t total = 0;
	size_t i, n = 0;
	pid_t pid;

	*code = EXIT_DATAERR;
	if (st->nlayers != ic->ndiff) {
		snprintf(err, errlen, "%zu layers but %zu diff_ids",
		    st->nlayers, ic->ndiff);
		return -1;
	}
	for (; n < st->nlayers; n++) {
		snprintf(name, sizeof(name), "layer.%zu", n);
		if (decompress_layer(st, st->layers[n], ic->diff_ids[n], n,
		    &total, lim, err, errlen) == -1 ||
		    (fds[n] = openat(st->dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
			goto out;
	}
	*code = EXIT_OSERR;
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		ap.errfd = pfd[1];
		apply_child(&ap, rootfs, fds, n);
	}
	close(pfd[1]);
	pfd[1] = -1;
	rc = wait_child(pid, pfd[0], err, errlen, code);
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	return rc;
}
