/* SPDX-License-Identifier: ISC */
/* dyno-build: the app's source (folder, archive, URL, git) into WORK/build. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-build.h"
#include "state.h"
#include "urlget.h"

/* What every member of an archive or folder must pass. */
static const char *
member_why(struct archive_entry *e)
{
	const char *p = archive_entry_pathname(e), *t;
	mode_t type = archive_entry_filetype(e);

	if (p == NULL || *p == '\0')
		return "a member without a name";
	if (*p == '/')
		return "an absolute path";
	if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/../") != NULL ||
	    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
		return "a \"..\" in a path";
	/* A hard link names its target (an earlier member), whatever its type. */
	if ((t = archive_entry_hardlink(e)) != NULL)
		return *t == '/' || strstr(t, "..") != NULL ?
		    "a hard link out of the tree" : NULL;
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return "a device, FIFO or socket";
	if (type == AE_IFLNK && ((t = archive_entry_symlink(e)) == NULL ||
	    *t == '\0'))
		return "an empty symbolic link";
	return NULL;
}

/*
 * The build user's host ids: files of the source belong to it.  Under a
 * user namespace they are the app's shifted ids (base + uid), never the
 * host user of the same name, so the build touches nothing else's.
 */
static uid_t build_uid = 65534;
static gid_t build_gid = 65534;

void
source_set_ids(uid_t uid, gid_t gid)
{
	build_uid = uid;
	build_gid = gid;
}

void
source_ids(uid_t *uid, gid_t *gid)
{
	*uid = build_uid;
	*gid = build_gid;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
chown_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return lchown(path, chown_uid, chown_gid) == -1 ? -1 : 0;
}

/*
 * Every file of a tree the host just wrote (the source, a buildpack) to
 * the build user, folders libarchive made on the way too.  No build has
 * run in it yet, so nothing moves under the walk; links are not followed.
 */
int
source_chown_tree(const char *dir)
{
	source_ids(&chown_uid, &chown_gid);
	return nftw(dir, chown_one, 32, FTW_PHYS | FTW_MOUNT);
}

static struct archive *
disk_writer(void)
{
	struct archive *w = archive_write_disk_new();

	if (w == NULL)
		return NULL;
	/*
	 * No member may write through a link or climb with "..".  Names are
	 * absolute, but only because put_member() puts dest, resolved by
	 * realpath(3) (so no link in it), before a name member_why() found
	 * relative.
	 */
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_OWNER |
	    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_UNLINK);
	return w;
}

/* Copy one member's data, counting toward the bound. */
static int
copy_data(struct archive *r, struct archive *w, uint64_t *total,
    uint64_t max, char *err, size_t errlen)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int rc;

	for (;;) {
		rc = archive_read_data_block(r, &buf, &n, &off);
		if (rc == ARCHIVE_EOF)
			return 0;
		if (rc < ARCHIVE_WARN) {
			snprintf(err, errlen, "%s", archive_error_string(r));
			return -1;
		}
		if ((*total += n) > max) {
			snprintf(err, errlen, "over %llu MB unpacked",
			    (unsigned long long)(max >> 20));
			return -1;
		}
		/* A failed write(2) (ENOSPC: the build's disk) is only
		 * ARCHIVE_WARN to libarchive; taken as it was, a full disk
		 * left truncated files behind. */
		if (archive_write_data_block(w, buf, n, off) < ARCHIVE_OK) {
			snprintf(err, errlen, "%s: %s", archive_error_string(w),
			    strerror(archive_errno(w)));
			return -1;
		}
	}
}

/* Strip "./" and leading slashes' cousins from a member name. */
static const char *
relname(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

/*
 * Put one member at dest/rel (dest: a folder resolved by realpath(3)),
 * owned by the build user, regular modes only (no setuid bit survives).
 * Never relative to the working folder: archive_read_disk changes it
 * while it walks, and a hook's is the bare repository.  Names are
 * copied first: they live in `e`.
 */
static int
put_member(struct archive *r, struct archive *w, struct archive_entry *e,
    const char *dest, const char *rel, uint64_t *total, uint64_t max,
    char *err, size_t errlen)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *hl = archive_entry_hardlink(e);

	if (state_pathf(path, sizeof(path), "%s/%s", dest, rel) == -1 ||
	    (hl != NULL && state_pathf(link, sizeof(link), "%s/%s", dest,
	    relname(hl)) == -1)) {
		snprintf(err, errlen, "a path too long");
		return -1;
	}
	archive_entry_copy_pathname(e, path);
	if (hl != NULL)
		archive_entry_copy_hardlink(e, link);
	archive_entry_set_uid(e, build_uid);
	archive_entry_set_gid(e, build_gid);
	archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
	if (archive_write_header(w, e) < ARCHIVE_WARN) {
		snprintf(err, errlen, "%s: %s", rel, archive_error_string(w));
		return -1;
	}
	if (archive_entry_size(e) > 0 && hl == NULL &&
	    copy_data(r, w, total, max, err, errlen) == -1)
		return -1;
	if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
		snprintf(err, errlen, "%s: %s", rel, archive_error_string(w));
		return -1;
	}
	return 0;
}

/* dest without a link in it, for put_member(). */
static int
real_dest(const char *dest, char *real, char *err, size_t errlen)
{
	if (realpath(dest, real) != NULL)
		return 0;
	snprintf(err, errlen, "%.512s: %s", dest, strerror(errno));
	return -1;
}

/* Unpack the archive on fd (any format and compression) into dest. */
int
source_unpack_to(int fd, const char *dest, const char *what, uint64_t max,
    char *err, size_t errlen)
{
	struct archive *r = archive_read_new(), *w = disk_writer();
	struct archive_entry *e;
	uint64_t total = 0;
	unsigned files = 0;
	const char *why, *rel;
	char real[PATH_MAX];
	int rc = -1, st;

	if (r == NULL || w == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(r);
	archive_read_support_format_tar(r);
	archive_read_support_format_gnutar(r);
	archive_read_support_format_zip(r);
	if (archive_read_open_fd(r, fd, 65536) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: %s", what, archive_error_string(r));
		goto out;
	}
	if (real_dest(dest, real, err, errlen) == -1)
		goto out;
	while ((st = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		if ((why = member_why(e)) != NULL) {
			snprintf(err, errlen, "%s: %s: %s", what,
			    archive_entry_pathname(e) ?
			    archive_entry_pathname(e) : "", why);
			goto out;
		}
		rel = relname(archive_entry_pathname(e));
		if (*rel == '\0' || strcmp(rel, ".") == 0)
			continue;
		if (++files > BUILD_SRC_FILES) {
			snprintf(err, errlen, "%s: over %u files", what,
			    BUILD_SRC_FILES);
			goto out;
		}
		if (put_member(r, w, e, real, rel, &total, max, err,
		    errlen) == -1)
			goto out;
	}
	if (st != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", what, archive_error_string(r));
		goto out;
	}
	rc = 0;
out:
	if (r != NULL)
		archive_read_free(r);
	if (w != NULL)
		archive_write_free(w);
	return rc;
}

static int
build_dir(struct build *b, char *dest, size_t size)
{
	return state_pathf(dest, size, "%s/build", b->work);
}

int
source_archive_fd(struct build *b, int fd, const char *what)
{
	char dest[PATH_MAX], err[1024];

	(void)build_dir(b, dest, sizeof(dest));
	if (source_unpack_to(fd, dest, what, BUILD_SRC_MAX, err,
	    sizeof(err)) == -1) {
		out_fail(b, "Push rejected: %s", err);
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	if (source_chown_tree(dest) == -1) {
		diag_error_errno("%s", dest);
		return EXIT_OSERR;
	}
	return 0;
}

int
source_archive_file(struct build *b, const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_error_errno("%s", path);
		return EXIT_NOINPUT;
	}
	rc = source_archive_fd(b, fd, path);
	close(fd);
	return rc;
}

/* A folder into dest: its tree walked without following a link. */
int
source_copy_dir(const char *given, const char *dest, int skip_git, char *err,
    size_t errlen)
{
	char dir[PATH_MAX];
	struct archive *r = archive_read_disk_new(), *w = disk_writer();
	struct archive_entry *e;
	uint64_t total = 0;
	unsigned files = 0;
	size_t dl;
	const char *p, *why;
	char rel[PATH_MAX], real[PATH_MAX];
	int st;

	err[0] = '\0';
	if (r == NULL || w == NULL)
		diag_die(EXIT_OSERR, "out of memory");
	/* Absolute: the walk goes on after the chdir into dest. */
	if (realpath(given, dir) == NULL) {
		snprintf(err, errlen, "%.512s: %s", given, strerror(errno));
		goto out;
	}
	dl = strlen(dir);
	archive_read_disk_set_symlink_physical(r);
	/* Only what a slug keeps: no xattr, ACL or flag is read. */
	archive_read_disk_set_behavior(r, ARCHIVE_READDISK_NO_XATTR |
	    ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
	if (real_dest(dest, real, err, errlen) == -1)
		goto out;
	if (archive_read_disk_open(r, dir) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: %s", dir, archive_error_string(r));
		goto out;
	}
	for (;;) {
		e = archive_entry_new();
		st = archive_read_next_header2(r, e);
		if (st != ARCHIVE_OK && st != ARCHIVE_WARN) {
			archive_entry_free(e);
			break;
		}
		p = archive_entry_pathname(e);
		p = strncmp(p, dir, dl) == 0 ? p + dl : p;
		while (*p == '/')
			p++;
		if (*p == '\0' || (skip_git && (strcmp(p, ".git") == 0 ||
		    strncmp(p, ".git/", 5) == 0))) {
			if (*p == '\0')
				archive_read_disk_descend(r);
			archive_entry_free(e);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s", p);
		archive_entry_copy_pathname(e, rel);
		archive_read_disk_descend(r);
		if ((why = member_why(e)) != NULL)
			snprintf(err, errlen, "%s/%s: %s", dir, rel, why);
		else if (++files > BUILD_SRC_FILES)
			snprintf(err, errlen, "%s: over %u files", dir,
			    BUILD_SRC_FILES);
		else
			(void)put_member(r, w, e, real, rel, &total,
			    BUILD_SRC_MAX, err, errlen);
		archive_entry_free(e);
		if (err[0] != '\0')
			break;
	}
	if (err[0] == '\0' && st != ARCHIVE_EOF)
		snprintf(err, errlen, "%s: %s", dir, archive_error_string(r));
out:
	archive_read_free(r);
	archive_write_free(w);
	return err[0] != '\0' ? -1 : 0;
}

int
source_dir(struct build *b, const char *dir, int skip_git)
{
	char dest[PATH_MAX], err[1024];

	(void)build_dir(b, dest, sizeof(dest));
	if (source_copy_dir(dir, dest, skip_git, err, sizeof(err)) == -1) {
		out_fail(b, "Push rejected: %s", err);
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	if (source_chown_tree(dest) == -1) {
		diag_error_errno("%s", dest);
		return EXIT_OSERR;
	}
	return 0;
}

/* A tarball URL: by the end of its path (as herokuish tells them). */
int
source_is_tarball(const char *url)
{
	static const char *const ext[] = { ".tgz", ".tar.gz", ".tbz",
	    ".tar.bz2", ".tar.xz", ".tar", ".zip" };
	size_t n = strcspn(url, "#?"), i, l;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		l = strlen(ext[i]);
		if (n >= l && strncmp(url + n - l, ext[i], l) == 0)
			return 1;
	}
	return 0;
}

int
source_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "https://", 8) == 0 || strncmp(s, "file://", 7) == 0;
}

/* GET url into fd (http, https and file only), at most max bytes. */
int
source_fetch_url(const char *url, int fd, uint64_t max, char *err,
    size_t errlen)
{
	struct urlget g = { .url = url, .fd = fd, .max = max,
	    .agent = "dyno-build", .timeout = 600 };

	if (urlget(&g, err, errlen) != URLGET_OK)
		return -1;
	return lseek(fd, 0, SEEK_SET) == -1 ? -1 : 0;
}

int
source_url(struct build *b, const char *url)
{
	char err[1024];
	int fd, rc;

	if ((fd = open(b->appdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600))
	    == -1) {
		diag_error_errno("%s: temporary file", b->appdir);
		return EXIT_CANTCREAT;
	}
	if (source_fetch_url(url, fd, BUILD_SRC_MAX, err, sizeof(err)) == -1) {
		out_fail(b, "Push rejected: %s", err);
		diag_error("%s", err);
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	rc = source_archive_fd(b, fd, url);
	close(fd);
	return rc;
}

/*
 * Run git with argv; 0 when it exits 0.  Its output goes to stderr.  For
 * a URL the app named, git may speak http(s) and git:// only, redirects
 * and submodules included (never file, ssh or ext).
 */
static int
git_run(char *const argv[], int tenant)
{
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("GIT_TERMINAL_PROMPT", "0", 1);
		if (tenant)
			setenv("GIT_ALLOW_PROTOCOL", "http:https:git", 1);
		execvp("git", argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * URL#REF into dest: a shallow clone of the branch or tag, else a full
 * clone and a checkout (a commit).  No hooks or templates, no ext::.
 */
int
source_git_clone(const char *url, const char *dest, int tenant, char *err,
    size_t errlen)
{
	char u[1024], *ref;
	int rc;

	snprintf(u, sizeof(u), "%s", url);
	if ((ref = strchr(u, '#')) != NULL)
		*ref++ = '\0';
	if (*u == '-' || (ref != NULL && *ref == '-')) {
		snprintf(err, errlen, "%s: not a git URL", url);
		return -1;
	}
	{
		char *a1[] = { "git", "-c", "protocol.ext.allow=never", "clone",
		    "-q", "--template=", "--depth", "1", "--branch",
		    ref ? ref : "", "--", u, (char *)dest, NULL };
		char *a0[] = { "git", "-c", "protocol.ext.allow=never", "clone",
		    "-q", "--template=", "--depth", "1", "--", u, (char *)dest,
		    NULL };
		rc = git_run(ref ? a1 : a0, tenant);
	}
	if (rc == -1 && ref != NULL) {
		char *a2[] = { "git", "-c", "protocol.ext.allow=never", "clone",
		    "-q", "--template=", "--", u, (char *)dest, NULL };
		char *a3[] = { "git", "-C", (char *)dest, "-c",
		    "advice.detachedHead=false", "checkout", "-q", ref, "--",
		    NULL };

		(void)state_remove_tree(dest);
		rc = git_run(a2, tenant) == 0 ? git_run(a3, tenant) : -1;
	}
	if (rc == -1)
		snprintf(err, errlen, "%s: git clone failed", url);
	return rc;
}

/* The head commit of a clone, into b->commit. */
static void
clone_commit(struct build *b, const char *dir)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execlp("git", "git", "-C", dir, "rev-parse", "HEAD", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], b->commit, sizeof(b->commit) - 1);
	b->commit[n > 0 ? n : 0] = '\0';
	b->commit[strspn(b->commit, "0123456789abcdef")] = '\0';
	close(p[0]);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

int
source_git(struct build *b, const char *url)
{
	char tmp[PATH_MAX], err[1024];
	int rc;

	if (state_pathf(tmp, sizeof(tmp), "%s/source.git", b->work) == -1)
		return EXIT_USAGE;
	if (source_git_clone(url, tmp, 0, err, sizeof(err)) == -1) {
		out_fail(b, "Push rejected: %s", err);
		diag_error("%s", err);
		return EXIT_UNAVAILABLE;
	}
	if (b->commit[0] == '\0')
		clone_commit(b, tmp);
	rc = source_dir(b, tmp, 1);
	(void)state_remove_tree(tmp);
	return rc;
}
