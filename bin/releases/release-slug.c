/* SPDX-License-Identifier: ISC */
/* release: unpack or copy a slug safely, hash it, seal it read-only. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "conf.h"
#include "diag.h"
#include "procfile.h"
#include "slugstore.h"
#include "state.h"

#include "release.h"

/* Unpacked, a slug may be this many times slug_max (a gzip bomb stops). */
#define UNPACK_FACTOR	8

struct unpack {
	const char	*src;		/* for messages */
	char		 root[PATH_MAX];	/* absolute destination */
	uint64_t	 total, max;
	EVP_MD_CTX	*md;
};

static void
hex_digest(EVP_MD_CTX *md, char sha[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned i, n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", d[i]);
}

/*
 * A member name must stay inside the slug: relative, no ".." component.
 * Returns NULL when it does, else why not.  *out skips leading "./".
 */
static const char *
check_member(const char *name, const char **out)
{
	const char *p;
	size_t len;

	if (name[0] == '/')
		return "absolute path";
	while (name[0] == '.' && name[1] == '/')
		for (name += 2; *name == '/'; name++)
			;
	*out = name;
	for (p = name; *p != '\0'; p += len + (p[len] == '/')) {
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return "path leaves the slug";
	}
	return NULL;
}

/*
 * A symlink at `path` (relative to the slug) pointing at `target` must
 * resolve inside the slug, judged by its text alone: no absolute target,
 * never more ".." than the link's depth.  Only a first refusal, entry by
 * entry: a chain of links passes it, so slug_check_links() resolves every
 * link of the finished tree as well.
 */
static const char *
check_symlink(const char *path, const char *target)
{
	const char *p;
	long depth = 0;
	size_t len;

	if (target[0] == '/')
		return "symlink to an absolute path";
	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] != '\0' && p[1] != '/')
			depth++;
	for (p = target; *p != '\0'; p += len + (p[len] == '/')) {
		len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.'))
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return "symlink points outside the slug";
		} else
			depth++;
	}
	return NULL;
}

/* Whether this entry may be written; prints why not. */
static int
check_entry(struct unpack *u, struct archive_entry *e, const char **rel)
{
	const char *why, *name = archive_entry_pathname(e), *hl, *hrel;
	mode_t type = archive_entry_filetype(e);

	if (name == NULL)
		name = "";
	if ((why = check_member(name, rel)) != NULL)
		goto bad;
	if ((hl = archive_entry_hardlink(e)) != NULL) {
		if ((why = check_member(hl, &hrel)) != NULL)
			goto bad;
	} else if (type == AE_IFLNK) {
		hl = archive_entry_symlink(e);
		if ((why = check_symlink(*rel, hl ? hl : "")) != NULL)
			goto bad;
	} else if (type != AE_IFREG && type != AE_IFDIR) {
		why = "not a file, folder or link (device, fifo or socket)";
		goto bad;
	}
	return 0;
bad:
	diag_error("%s: %s: %s", u->src, name, why);
	return EXIT_DATAERR;
}

/* Point the entry at u->root (and its hard link target too). */
static int
rebase_entry(struct unpack *u, struct archive_entry *e, const char *rel)
{
	char path[PATH_MAX];
	const char *hl = archive_entry_hardlink(e), *hrel;

	if (state_pathf(path, sizeof(path), "%s/%s", u->root, rel) == -1)
		return -1;
	archive_entry_copy_pathname(e, path);
	if (hl != NULL) {
		(void)check_member(hl, &hrel);
		if (state_pathf(path, sizeof(path), "%s/%s", u->root,
		    hrel) == -1)
			return -1;
		archive_entry_copy_hardlink(e, path);
	}
	return 0;
}

static int
copy_data(struct unpack *u, struct archive *in, struct archive *out)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &len, &off)) ==
	    ARCHIVE_OK) {
		if ((u->total += len) > u->max) {
			diag_error("%s: unpacks to more than %llu bytes", u->src,
			    (unsigned long long)u->max);
			return EXIT_DATAERR;
		}
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_OK) {
			diag_error("%s: %s", u->src, archive_error_string(out));
			return EXIT_CANTCREAT;
		}
	}
	if (r != ARCHIVE_EOF) {
		diag_error("%s: broken archive: %s", u->src,
		    archive_error_string(in));
		return EXIT_DATAERR;
	}
	return 0;
}

static int
unpack_entries(struct unpack *u, struct archive *in, struct archive *out)
{
	struct archive_entry *e;
	const char *p;
	char rel[PATH_MAX];
	int r, rc;

	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		if ((rc = check_entry(u, e, &p)) != 0)
			return rc;
		/* A copy: rebase_entry() frees the name p points into. */
		if (*p == '\0')
			continue;
		if (snprintf(rel, sizeof(rel), "%s", p) >= (int)sizeof(rel) ||
		    rebase_entry(u, e, rel) == -1) {
			diag_error("%s: %s: name too long", u->src, rel);
			return EXIT_DATAERR;
		}
		if (archive_write_header(out, e) < ARCHIVE_OK) {
			diag_error("%s: %s: %s", u->src, rel,
			    archive_error_string(out));
			return EXIT_DATAERR;
		}
		if ((rc = copy_data(u, in, out)) != 0)
			return rc;
		if (archive_write_finish_entry(out) < ARCHIVE_OK) {
			diag_error("%s: %s: %s", u->src, rel,
			    archive_error_string(out));
			return EXIT_CANTCREAT;
		}
	}
	if (r != ARCHIVE_EOF) {
		diag_error("%s: broken archive: %s", u->src,
		    archive_error_string(in));
		return EXIT_DATAERR;
	}
	return 0;
}

/* sha256 of the file, refusing one over slug_max. */
int
slug_hash_file(const struct conf *c, const char *path, char sha[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char buf[65536];
	uint64_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	if (md == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_error_errno("%s", path);
		EVP_MD_CTX_free(md);
		return md == NULL ? EXIT_OSERR : diag_exit_for_errno(errno);
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		if ((total += (uint64_t)n) > c->slug_max) {
			diag_error("%s: slug over the %llu-byte limit", path,
			    (unsigned long long)c->slug_max);
			rc = EXIT_DATAERR;
			break;
		}
	}
	if (n == -1) {
		diag_error_errno("%s", path);
		rc = EXIT_OSERR;
	}
	if (rc == 0)
		hex_digest(md, sha);
	close(fd);
	EVP_MD_CTX_free(md);
	return rc;
}

static int
unpack_archive(const struct conf *c, const char *path, const char *shown,
    const char *dest, char sha[65])
{
	struct unpack u = { .src = shown, .max = c->slug_max * UNPACK_FACTOR };
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	int rc;

	if ((rc = slug_hash_file(c, path, sha)) != 0)
		goto out;
	if (mkdir(dest, 0755) == -1 || realpath(dest, u.root) == NULL) {
		diag_error_errno("%s", dest);
		rc = EXIT_CANTCREAT;
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_read_support_filter_all(in);
	/* Belt and braces: libarchive refuses these too, after our checks. */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	if (archive_read_open_filename(in, path, 65536) != ARCHIVE_OK) {
		diag_error("%s: broken archive: %s", shown,
		    archive_error_string(in));
		rc = EXIT_DATAERR;
		goto out;
	}
	rc = unpack_entries(&u, in, out);
	if (rc == 0 && archive_write_close(out) != ARCHIVE_OK) {
		diag_error("%s: %s", shown, archive_error_string(out));
		rc = EXIT_CANTCREAT;
	}
out:
	archive_read_free(in);
	archive_write_free(out);
	return rc;
}

/*
 * Copying a folder: the hash covers, in name order, each entry's type,
 * path, mode bits and content (or link target), so the same tree always
 * gives the same slug_sha256.
 */
struct tree {
	const char	*src;
	uint64_t	 total, max;
	EVP_MD_CTX	*md;
};

static int copy_tree(struct tree *, const char *, const char *,
    const char *);

static int
copy_file(struct tree *t, const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		diag_error_errno("%s", from);
		return diag_exit_for_errno(errno);
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode & 0755)) == -1) {
		diag_error_errno("%s", to);
		close(in);
		return EXIT_CANTCREAT;
	}
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		if ((t->total += (uint64_t)n) > t->max) {
			diag_error("%s: over %llu bytes", t->src,
			    (unsigned long long)t->max);
			rc = EXIT_DATAERR;
		} else if (write(out, buf, (size_t)n) != n) {
			diag_error_errno("%s", to);
			rc = EXIT_CANTCREAT;
		}
		if (t->md != NULL)
			EVP_DigestUpdate(t->md, buf, (size_t)n);
	}
	if (rc == 0 && n == -1) {
		diag_error_errno("%s", from);
		rc = EXIT_OSERR;
	}
	close(in);
	close(out);
	return rc;
}

static int
copy_link(struct tree *t, const char *rel, const char *from, const char *to)
{
	char target[PATH_MAX];
	const char *why;
	ssize_t n;

	if ((n = readlink(from, target, sizeof(target) - 1)) == -1) {
		diag_error_errno("%s", from);
		return EXIT_OSERR;
	}
	target[n] = '\0';
	if ((why = check_symlink(rel, target)) != NULL) {
		diag_error("%s: %s: %s", t->src, rel, why);
		return EXIT_DATAERR;
	}
	if (t->md != NULL)
		EVP_DigestUpdate(t->md, target, (size_t)n);
	if (symlink(target, to) == -1) {
		diag_error_errno("%s", to);
		return EXIT_CANTCREAT;
	}
	return 0;
}

static int
copy_entry(struct tree *t, const char *rel, const char *from, const char *to)
{
	struct stat st;
	char head[PATH_MAX + 32];
	int n;

	if (lstat(from, &st) == -1) {
		diag_error_errno("%s", from);
		return diag_exit_for_errno(errno);
	}
	n = snprintf(head, sizeof(head), "%c %s %o", S_ISDIR(st.st_mode) ?
	    'd' : S_ISLNK(st.st_mode) ? 'l' : 'f', rel,
	    (unsigned)(st.st_mode & 0777));
	if (t->md != NULL && n > 0)
		EVP_DigestUpdate(t->md, head, (size_t)n + 1);
	if (S_ISDIR(st.st_mode))
		return copy_tree(t, rel, from, to);
	if (S_ISLNK(st.st_mode))
		return copy_link(t, rel, from, to);
	if (S_ISREG(st.st_mode))
		return copy_file(t, from, to, st.st_mode);
	diag_error("%s: %s: not a file, folder or link (device, fifo or socket)",
	    t->src, rel);
	return EXIT_DATAERR;
}

static int
copy_tree(struct tree *t, const char *rel, const char *from, const char *to)
{
	char f[PATH_MAX], d[PATH_MAX], r[PATH_MAX];
	struct dirent **ents;
	int i, n, rc = 0;

	if (mkdir(to, 0755) == -1) {
		diag_error_errno("%s", to);
		return EXIT_CANTCREAT;
	}
	if ((n = scandir(from, &ents, NULL, alphasort)) == -1) {
		diag_error_errno("%s", from);
		return diag_exit_for_errno(errno);
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (rc != 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (state_pathf(f, sizeof(f), "%s/%s", from, name) == -1 ||
		    state_pathf(d, sizeof(d), "%s/%s", to, name) == -1 ||
		    state_pathf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "",
		    name) == -1) {
			diag_error("%s/%s: name too long", from, name);
			rc = EXIT_DATAERR;
		} else
			rc = copy_entry(t, r, f, d);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static int
copy_dir(const struct conf *c, const char *src, const char *dest,
    char sha[65])
{
	struct tree t = { .src = src, .max = c->slug_max * UNPACK_FACTOR };
	int rc;

	if ((t.md = EVP_MD_CTX_new()) == NULL)
		diag_die(EXIT_OSERR, "out of memory");
	EVP_DigestInit_ex(t.md, EVP_sha256(), NULL);
	if ((rc = copy_tree(&t, "", src, dest)) == 0)
		hex_digest(t.md, sha);
	EVP_MD_CTX_free(t.md);
	return rc;
}

/* The slug check_link() walks (nftw passes it no argument). */
static struct {
	int	 root;		/* O_PATH fd of the slug's folder */
	size_t	 skip;		/* how much of nftw's path names the folder */
} walked;

/*
 * Every link of the slug, resolved the way the kernel will resolve it,
 * must stay inside: a chain of links ("a/b" -> "..", then a link through
 * a/b/a/b/...) passes any judgement of one link's text.  A link to a name
 * that does not exist inside is fine (the text check said it stays in).
 */
static int
check_link(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	const char *rel = path + walked.skip, *why;
	int fd;

	(void)st;
	(void)ftw;
	if (flag != FTW_SL && flag != FTW_SLN)
		return 0;
	if ((fd = beneath_open(walked.root, rel, O_PATH)) != -1) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	why = errno == EXDEV ? "symlink leads outside the slug" :
	    errno == ELOOP ? "symlink loop" : beneath_strerror(errno);
	diag_error("slug: %s: %s", rel, why);
	return EXIT_DATAERR;
}

static int
slug_check_links(const char *dir)
{
	int rc;

	if ((walked.root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		diag_error_errno("%s", dir);
		return EXIT_OSERR;
	}
	walked.skip = strlen(dir) + 1;
	rc = nftw(dir, check_link, 16, FTW_PHYS);
	close(walked.root);
	if (rc == -1) {
		diag_error_errno("checking %s", dir);
		return EXIT_OSERR;
	}
	return rc;
}

/* Heroku's R17: the bytes are not the ones the release names. */
int
slug_r17(const char *shown, const char *want, const char *got)
{
	diag_error("%s: Error R17 (Checksum error) -> Checksum does not match "
	    "expected value. Expected: SHA256:%s Actual: SHA256:%s", shown,
	    want, got);
	return EXIT_DATAERR;
}

/* Copy fd to the open file out; 0 or -1 with errno. */
static int
copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n, w, off;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		for (off = 0; off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) == -1 &&
			    errno != EINTR)
				return -1;
			else if (w == -1)
				w = 0;
	}
	return 0;
}

/*
 * Put the archive at path, whose sha256 is sha, into the slug store, so
 * dyno-slugd can serve it to other hosts.  Only when DYNO_ROOT/slugs
 * exists (a cluster host): one host alone keeps no second copy.  A copy
 * to a temp name, fsync'd, renamed: a name present is whole.
 */
int
slug_store(const struct conf *c, const char *path, const char *sha)
{
	char dir[PATH_MAX], to[PATH_MAX], tmp[PATH_MAX];
	int in = -1, out = -1, rc = EXIT_CANTCREAT;

	if (slugstore_dir(dir, sizeof(dir), c->root) == -1 ||
	    slugstore_path(to, sizeof(to), c->root, sha) == -1 ||
	    state_pathf(tmp, sizeof(tmp), "%s/.store-XXXXXX", dir) == -1)
		return EXIT_SOFTWARE;
	if (access(dir, F_OK) == -1 || access(to, F_OK) == 0)
		return 0;
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = mkostemp(tmp, O_CLOEXEC)) == -1) {
		diag_error_errno("%s", in == -1 ? path : dir);
		goto out;
	}
	if (fchmod(out, 0644) == -1 || copy_fd(in, out) == -1 ||
	    fsync(out) == -1 || rename(tmp, to) == -1 ||
	    state_fsync_dir(dir) == -1)
		diag_error_errno("%s", to);
	else
		rc = 0;
out:
	if (out != -1) {
		close(out);
		if (rc != 0)
			unlink(tmp);
	}
	if (in != -1)
		close(in);
	return rc;
}

/* A slug named by its hash: the store's archive, checked again (R17). */
static int
import_stored(const struct conf *c, const char *ref, const char *hex,
    const char *dest, char sha[65])
{
	char path[PATH_MAX];
	int rc;

	if (slugstore_path(path, sizeof(path), c->root, hex) == -1)
		return EXIT_SOFTWARE;
	if (access(path, F_OK) == -1) {
		diag_error("%s: not in %s/" SLUGSTORE_DIR " (release fetch URL "
		    "%s first)", ref, c->root, hex);
		return EXIT_NOINPUT;
	}
	/* Checked before a byte is unpacked: a damaged file is R17, not
	 * whatever error its damage would make libarchive say. */
	if ((rc = slug_hash_file(c, path, sha)) != 0)
		return rc;
	if (strcmp(sha, hex) != 0)
		return slug_r17(ref, hex, sha);
	if ((rc = unpack_archive(c, path, ref, dest, sha)) != 0)
		return rc;
	if (strcmp(sha, hex) != 0)	/* changed under us since */
		return slug_r17(ref, hex, sha);
	return slug_check_links(dest);
}

int
slug_import(const struct conf *c, const char *src, const char *dest,
    char sha[65])
{
	char dl[PATH_MAX], hex[SLUGSTORE_HEX_LEN + 1];
	struct stat st;
	int rc;

	if (slugstore_ref_parse(src, hex))
		return import_stored(c, src, hex, dest, sha);
	if (strstr(src, "://") != NULL) {
		if (state_pathf(dl, sizeof(dl), "%s.download", dest) == -1)
			return EXIT_SOFTWARE;
		if ((rc = fetch_url(c, src, dl)) == 0 &&
		    (rc = unpack_archive(c, dl, src, dest, sha)) == 0)
			rc = slug_store(c, dl, sha);
		unlink(dl);
		return rc != 0 ? rc : slug_check_links(dest);
	}
	if (stat(src, &st) == -1) {
		diag_error_errno("%s", src);
		return diag_exit_for_errno(errno);
	}
	if (S_ISDIR(st.st_mode))
		rc = copy_dir(c, src, dest, sha);
	else if ((rc = unpack_archive(c, src, src, dest, sha)) == 0)
		rc = slug_store(c, src, sha);
	return rc != 0 ? rc : slug_check_links(dest);
}

/* A new release shares its base's sealed files: one inode, no copy. */
static int
link_entry(const char *from, const char *to)
{
	struct stat st;
	struct tree t = { .src = from, .max = UINT64_MAX };
	char target[PATH_MAX];
	ssize_t n;

	if (lstat(from, &st) == -1) {
		diag_error_errno("%s", from);
		return EXIT_OSERR;
	}
	if (S_ISDIR(st.st_mode))
		return slug_link(from, to);
	if (link(from, to) == 0)
		return 0;
	if (errno != EXDEV && errno != EMLINK && errno != EPERM) {
		diag_error_errno("%s", to);
		return EXIT_CANTCREAT;
	}
	if (!S_ISLNK(st.st_mode))
		return copy_file(&t, from, to, st.st_mode);
	if ((n = readlink(from, target, sizeof(target) - 1)) == -1)
		return EXIT_OSERR;
	target[n] = '\0';
	return symlink(target, to) == 0 ? 0 : EXIT_CANTCREAT;
}

int
slug_link(const char *src, const char *dest)
{
	char f[PATH_MAX], d[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (mkdir(dest, 0755) == -1 || (dir = opendir(src)) == NULL) {
		diag_error_errno("%s", dest);
		return EXIT_CANTCREAT;
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (state_pathf(f, sizeof(f), "%s/%s", src, de->d_name) == -1 ||
		    state_pathf(d, sizeof(d), "%s/%s", dest, de->d_name) == -1)
			rc = EXIT_DATAERR;
		else
			rc = link_entry(f, d);
	}
	closedir(dir);
	return rc;
}

static int
seal_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_SL || S_ISLNK(st->st_mode))
		return 0;
	return chmod(path, st->st_mode & 07555 & ~(mode_t)06000);
}

/* Read-only from now on: no write bits, no set-id bits. */
int
slug_seal(const char *dir)
{
	/* FTW_DEPTH: a folder loses its write bit after its contents. */
	if (nftw(dir, seal_one, 16, FTW_PHYS | FTW_DEPTH) != 0) {
		diag_error_errno("sealing %s", dir);
		return EXIT_OSERR;
	}
	return 0;
}

static int
unseal_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		(void)chmod(path, (st->st_mode & 0777) | 0700);
	return 0;
}

/* Remove a sealed tree: give its folders back their write bit first. */
int
slug_remove(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		(void)nftw(dir, unseal_one, 16, FTW_PHYS);
	return state_remove_tree(dir);
}

/*
 * The slug's Procfile must parse; reports whether it has web and release.
 * It is read beneath the slug, a regular file of at most PROCFILE_MAX
 * bytes; messages name it "slug: Procfile", not by its staging path.
 */
int
slug_check_procfile(const char *dir, int *has_web, int *has_release)
{
	struct procfile pf;
	char err[512], *text = NULL;
	size_t len;
	int dfd, rc;

	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		diag_error_errno("%s", dir);
		return EXIT_OSERR;
	}
	rc = beneath_read(dfd, "Procfile", PROCFILE_MAX, &text, &len);
	close(dfd);
	if (rc == -1) {
		if (errno == ENOENT)
			diag_error("slug has no Procfile");
		else if (errno == EFBIG)
			diag_error("slug: Procfile: larger than %d bytes",
			    PROCFILE_MAX);
		else
			diag_error("slug: Procfile: %s", beneath_strerror(errno));
		return EXIT_DATAERR;
	}
	rc = procfile_parse("Procfile", text, len, &pf, NULL, NULL, err,
	    sizeof(err));
	free(text);
	if (rc == -1) {
		diag_error("slug: %s", err);
		return EXIT_DATAERR;
	}
	*has_web = procfile_find(&pf, "web") != NULL;
	*has_release = procfile_find(&pf, "release") != NULL;
	procfile_free(&pf);
	return 0;
}
