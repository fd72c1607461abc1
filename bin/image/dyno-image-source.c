/* SPDX-License-Identifier: ISC */
/* Image sources: OCI layout folders, oci-archive and docker-archive files. */
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "beneath.h"
#include "diag.h"

#include "dyno-image.h"

#define SRC_MAXFILES	100000	/* regular files in an image archive */
#define SRC_MAXINDEX	4	/* nested image indexes */

/* What the archive held: its file names and the sha256 of each. */
struct name_map {
	char		**names;
	char		(*hex)[IMAGE_HEXLEN + 1];
	size_t		  n;
};

struct src {
	int		 dirfd;		/* an OCI layout folder, else -1 */
	struct name_map	 map;		/* an archive's files, else empty */
	struct image_stage *st;
	const struct image_limits *lim;
	uint64_t	 bytes;		/* staged so far */
	char		*err;
	size_t		 errlen;
	int		 code;
};

static int	fail(struct src *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(struct src *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	s->code = code;
	return -1;
}

int
image_is_hex(const char *s)
{
	return strlen(s) == IMAGE_HEXLEN &&
	    strspn(s, "0123456789abcdef") == IMAGE_HEXLEN;
}

const char *
image_digest_hex(const char *s)
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || !image_is_hex(s + 7))
		return NULL;
	return s + 7;
}

static void
to_hex(const unsigned char *md, char out[IMAGE_HEXLEN + 1])
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = x[md[i] >> 4];
		out[2 * i + 1] = x[md[i] & 15];
	}
	out[IMAGE_HEXLEN] = '\0';
}

/*
 * Copy fd `in` to the new file `tmp` in the stage, hashing as it goes;
 * then name it by its hash.  *left bounds the bytes; hex gets the hash.
 */
static int
stage_copy(struct src *s, int in, char hex[IMAGE_HEXLEN + 1],
    struct archive *a)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int out, rc = -1;
	ssize_t n;

	out = openat(s->st->dfd, ".blob.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (ctx == NULL || out == -1 || EVP_DigestInit_ex(ctx, EVP_sha256(),
	    NULL) != 1)
		goto out;
	for (;;) {
		n = a != NULL ? archive_read_data(a, buf, sizeof(buf)) :
		    read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 || (s->bytes += (uint64_t)n) > s->lim->max_blob) {
			errno = n < 0 ? EIO : EFBIG;
			goto out;
		}
		if (write(out, buf, (size_t)n) != n ||
		    EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	to_hex(md, hex);
	rc = renameat(s->st->dfd, ".blob.tmp", s->st->dfd, hex);
out:
	if (out != -1)
		close(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
image_sha256_file(int dfd, const char *name, char out[IMAGE_HEXLEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int fd, rc = -1;
	ssize_t n;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (ctx == NULL || fd == -1 || EVP_DigestInit_ex(ctx, EVP_sha256(),
	    NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	if (n == 0 && EVP_DigestFinal_ex(ctx, md, NULL) == 1) {
		to_hex(md, out);
		rc = 0;
	}
out:
	if (fd != -1)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* An archive member's name without "./" and "/" in front. */
static const char *
clean_member(const char *n)
{
	while (n[0] == '/' || (n[0] == '.' && n[1] == '/'))
		n += n[0] == '/' ? 1 : 2;
	return n;
}

static int
map_add(struct src *s, const char *name, const char hex[IMAGE_HEXLEN + 1])
{
	struct name_map *m = &s->map;
	void *p;

	if (m->n >= SRC_MAXFILES)
		return fail(s, EXIT_DATAERR, "over %d files in the archive",
		    SRC_MAXFILES);
	if ((p = reallocarray(m->names, m->n + 1, sizeof(*m->names))) == NULL)
		return fail(s, EXIT_OSERR, "out of memory");
	m->names = p;
	if ((p = reallocarray(m->hex, m->n + 1, sizeof(*m->hex))) == NULL)
		return fail(s, EXIT_OSERR, "out of memory");
	m->hex = p;
	if ((m->names[m->n] = strdup(clean_member(name))) == NULL)
		return fail(s, EXIT_OSERR, "out of memory");
	memcpy(m->hex[m->n++], hex, IMAGE_HEXLEN + 1);
	return 0;
}

/* Stage every regular file of the image archive `path` under its hash. */
static int
stage_archive(struct src *s, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char hex[IMAGE_HEXLEN + 1];
	int r, rc = -1;

	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		fail(s, errno == ENOENT ? EXIT_NOINPUT : EXIT_DATAERR,
		    "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (stage_copy(s, -1, hex, a) == -1) {
			fail(s, errno == EFBIG ? EXIT_DATAERR : EXIT_OSERR,
			    "%s: %s: %s", path, archive_entry_pathname(e),
			    errno == EFBIG ? "over the image size limit" :
			    strerror(errno));
			goto out;
		}
		if (map_add(s, archive_entry_pathname(e), hex) == -1)
			goto out;
	}
	if (r != ARCHIVE_EOF)
		fail(s, EXIT_DATAERR, "%s: %s", path, archive_error_string(a));
	else
		rc = 0;
out:
	archive_read_free(a);
	return rc;
}

/* The staged hash of archive member `name`, or NULL. */
static const char *
map_find(const struct src *s, const char *name)
{
	size_t i;

	name = clean_member(name);
	for (i = 0; i < s->map.n; i++)
		if (strcmp(s->map.names[i], name) == 0)
			return s->map.hex[i];
	return NULL;
}

/*
 * Make blob `hex` present in the stage.  From a folder it is copied there
 * first and hashed on the way: what is used is what was verified.
 */
static int
stage_blob(struct src *s, const char *hex)
{
	char path[128], got[IMAGE_HEXLEN + 1];
	struct stat sb;
	int fd;

	if (faccessat(s->st->dfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (s->dirfd == -1)
		return fail(s, EXIT_DATAERR, "blob sha256:%s is not in the "
		    "archive", hex);
	snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
	if ((fd = beneath_open(s->dirfd, path, O_RDONLY)) == -1)
		return fail(s, errno == ENOENT ? EXIT_DATAERR : EXIT_OSERR,
		    "%s: %s", path, beneath_strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(s, EXIT_DATAERR, "%s: not a regular file", path);
	}
	if (stage_copy(s, fd, got, NULL) == -1) {
		close(fd);
		return fail(s, errno == EFBIG ? EXIT_DATAERR : EXIT_OSERR,
		    "%s: %s", path, errno == EFBIG ?
		    "over the image size limit" : strerror(errno));
	}
	close(fd);
	if (strcmp(got, hex) != 0) {
		unlinkat(s->st->dfd, got, 0);
		return fail(s, EXIT_DATAERR, "%s: digest mismatch: the blob's "
		    "sha256 is %s", path, got);
	}
	return 0;
}

/* Parse the staged blob `hex` as JSON. */
static struct json *
load_json(struct src *s, const char *hex, const char *what)
{
	char *text = NULL;
	const char *why;
	struct json *j;

	if (beneath_read(s->st->dfd, hex, IMAGE_JSON_MAX, &text, NULL) == -1) {
		fail(s, EXIT_DATAERR, "%s: %s", what, beneath_strerror(errno));
		return NULL;
	}
	if ((j = json_parse(text, strlen(text), &why)) == NULL)
		fail(s, EXIT_DATAERR, "%s: %s", what, why);
	free(text);
	return j;
}

static int
is_index_type(const char *mt)
{
	return mt != NULL &&
	    (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
	    strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2"
	    "+json") == 0);
}

/* A descriptor fits this host: linux/amd64, or no platform named. */
static int
platform_fits(const struct json *d)
{
	const struct json *p = json_get(d, "platform");
	const char *os, *arch;

	if (p == NULL)
		return 1;
	os = json_str(p, "os");
	arch = json_str(p, "architecture");
	return os != NULL && arch != NULL && strcmp(os, "linux") == 0 &&
	    strcmp(arch, "amd64") == 0;
}

/* The first manifest descriptor of index `ix` for this platform. */
static const struct json *
pick_manifest(const struct json *ix)
{
	const struct json *m = json_get(ix, "manifests"), *d;

	if (m == NULL || m->type != JSON_ARR)
		return NULL;
	for (d = m->child; d != NULL; d = d->next)
		if (image_digest_hex(json_str(d, "digest")) != NULL &&
		    platform_fits(d))
			return d;
	return NULL;
}

/* Read an image manifest: its config and layers, each staged. */
static int
read_manifest(struct src *s, const struct json *man)
{
	const struct json *layers = json_get(man, "layers"), *l;
	const char *hex;

	hex = image_digest_hex(json_str(json_get(man, "config"), "digest"));
	if (hex == NULL || layers == NULL || layers->type != JSON_ARR)
		return fail(s, EXIT_DATAERR, "manifest: no config digest or "
		    "no layers array");
	if (stage_blob(s, hex) == -1)
		return -1;
	memcpy(s->st->config, hex, sizeof(s->st->config));
	for (l = layers->child; l != NULL; l = l->next) {
		if ((hex = image_digest_hex(json_str(l, "digest"))) == NULL)
			return fail(s, EXIT_DATAERR, "manifest: a layer "
			    "without a sha256 digest");
		if (s->st->nlayers >= IMAGE_MAX_LAYERS)
			return fail(s, EXIT_DATAERR, "manifest: over %d "
			    "layers", IMAGE_MAX_LAYERS);
		if (stage_blob(s, hex) == -1 ||
		    (s->st->layers[s->st->nlayers] = strdup(hex)) == NULL)
			return -1;
		s->st->nlayers++;
	}
	return 0;
}

/* index.json → (nested indexes →) the linux/amd64 manifest. */
static int
read_oci(struct src *s, struct json *ix)
{
	const struct json *d;
	struct json *next;
	const char *hex;
	int depth, rc;

	for (depth = 0; depth <= SRC_MAXINDEX; depth++) {
		if ((d = pick_manifest(ix)) == NULL) {
			json_free(ix);
			return fail(s, EXIT_DATAERR, "index: no manifest for "
			    "linux/amd64");
		}
		hex = image_digest_hex(json_str(d, "digest"));
		if (stage_blob(s, hex) == -1 ||
		    (next = load_json(s, hex, "manifest")) == NULL) {
			json_free(ix);
			return -1;
		}
		if (!is_index_type(json_str(d, "mediaType")) &&
		    !is_index_type(json_str(next, "mediaType"))) {
			json_free(ix);
			rc = read_manifest(s, next);
			json_free(next);
			return rc;
		}
		json_free(ix);
		ix = next;
	}
	json_free(ix);
	return fail(s, EXIT_DATAERR, "index: nested over %d deep",
	    SRC_MAXINDEX);
}

/* docker save's manifest.json: [{"Config": FILE, "Layers": [FILE...]}]. */
static int
read_docker(struct src *s, struct json *mj)
{
	const struct json *m = mj->type == JSON_ARR ? mj->child : NULL, *l;
	const char *hex, *name;
	int rc = -1;

	if (m == NULL || (name = json_str(m, "Config")) == NULL ||
	    (l = json_get(m, "Layers")) == NULL || l->type != JSON_ARR) {
		fail(s, EXIT_DATAERR, "manifest.json: no Config or Layers");
		goto out;
	}
	if ((hex = map_find(s, name)) == NULL) {
		fail(s, EXIT_DATAERR, "manifest.json: %s is not in the "
		    "archive", name);
		goto out;
	}
	memcpy(s->st->config, hex, sizeof(s->st->config));
	for (l = l->child; l != NULL; l = l->next) {
		if (l->type != JSON_STR || (hex = map_find(s, l->str)) == NULL) {
			fail(s, EXIT_DATAERR, "manifest.json: a layer is not "
			    "in the archive");
			goto out;
		}
		if (s->st->nlayers >= IMAGE_MAX_LAYERS) {
			fail(s, EXIT_DATAERR, "over %d layers",
			    IMAGE_MAX_LAYERS);
			goto out;
		}
		if ((s->st->layers[s->st->nlayers++] = strdup(hex)) == NULL)
			goto out;
	}
	rc = 0;
out:
	json_free(mj);
	return rc;
}

static int
stage_layout_dir(struct src *s, const char *src)
{
	char hex[IMAGE_HEXLEN + 1];
	struct json *ix;
	int fd;

	if ((s->dirfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return fail(s, EXIT_NOINPUT, "%s: %s", src, strerror(errno));
	if (faccessat(s->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return fail(s, EXIT_DATAERR, "%s: not an OCI image layout "
		    "(no oci-layout file)", src);
	/* index.json is staged like a blob, so all JSON is read one way. */
	if ((fd = beneath_open(s->dirfd, "index.json", O_RDONLY)) == -1)
		return fail(s, EXIT_DATAERR, "%s/index.json: %s", src,
		    beneath_strerror(errno));
	if (stage_copy(s, fd, hex, NULL) == -1) {
		close(fd);
		return fail(s, EXIT_OSERR, "%s/index.json: %s", src,
		    strerror(errno));
	}
	close(fd);
	if ((ix = load_json(s, hex, "index.json")) == NULL)
		return -1;
	return read_oci(s, ix);
}

int
image_source_stage(const char *path, struct image_stage *st,
    const struct image_limits *lim, char *err, size_t errlen, int *code)
{
	struct src s = { -1, { NULL, NULL, 0 }, st, lim, 0, err, errlen, 0 };
	struct stat sb;
	const char *hex;
	struct json *j;
	size_t i;
	int rc = -1;

	if (stat(path, &sb) == -1) {
		fail(&s, EXIT_NOINPUT, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		rc = stage_layout_dir(&s, path);
		goto out;
	}
	if (stage_archive(&s, path) == -1)
		goto out;
	if ((hex = map_find(&s, "manifest.json")) != NULL) {
		if ((j = load_json(&s, hex, "manifest.json")) != NULL)
			rc = read_docker(&s, j);
	} else if ((hex = map_find(&s, "index.json")) != NULL &&
	    map_find(&s, "oci-layout") != NULL) {
		if ((j = load_json(&s, hex, "index.json")) != NULL)
			rc = read_oci(&s, j);
	} else
		fail(&s, EXIT_DATAERR, "%s: neither a docker-archive "
		    "(manifest.json) nor an oci-archive (index.json)", path);
out:
	if (s.dirfd != -1)
		close(s.dirfd);
	for (i = 0; i < s.map.n; i++)
		free(s.map.names[i]);
	free(s.map.names);
	free(s.map.hex);
	*code = s.code;
	return rc;
}
