/* SPDX-License-Identifier: ISC */
/* dyno-image: container images (OCI, Docker) as releases and as stacks. */
#ifndef DYNO_IMAGE_H
#define DYNO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define IMAGE_HEXLEN	64		/* a sha256 in hex */
#define IMAGE_JSON_MAX	(4u << 20)	/* index, manifest, config: 4 MiB */
#define IMAGE_MAX_LAYERS 127

/* Limits on one image, like the slug's: a decompression bomb stops here. */
struct image_limits {
	uint64_t	max_bytes;	/* uncompressed, all layers together */
	uint64_t	max_entries;	/* tar entries, all layers together */
	uint64_t	max_blob;	/* one compressed blob as read */
};

/* A small JSON tree (dyno-image-json.c). */
enum json_type {
	JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ,
};
struct json {
	enum json_type	 type;
	char		*key;		/* member name inside an object */
	char		*str;		/* JSON_STR: decoded, NUL-free */
	double		 num;		/* JSON_NUM, JSON_BOOL (0/1) */
	struct json	*child;		/* JSON_ARR, JSON_OBJ: first element */
	struct json	*next;		/* the next sibling */
};

/*
 * Parse `len` bytes of JSON (UTF-8; strings with a NUL are refused, depth
 * at most 64).  Returns a tree the caller frees with json_free(), or NULL
 * with a static reason in *why.
 */
struct json *json_parse(const char *text, size_t len, const char **why);
void	json_free(struct json *);
/* The member `key` of object `o` (NULL if o is not an object or lacks it). */
const struct json *json_get(const struct json *o, const char *key);
/* The string member `key`, or NULL when absent or not a string. */
const char *json_str(const struct json *o, const char *key);

/* The image's run settings, from its config blob (dyno-image-config.c). */
struct image_config {
	char		**argv;		/* Entrypoint ++ Cmd, or sh -c Cmd */
	size_t		  argc;
	char		**env;		/* "K=V", image order */
	size_t		  nenv;
	char		 *workdir;	/* "/" by default */
	char		 *user;		/* as written; "" for none */
	char		**diff_ids;	/* rootfs.diff_ids, hex only */
	size_t		  ndiff;
};

/*
 * Read the config blob `j` into *ic.  Returns 0, or -1 with a static
 * reason in *why.  image_config_free() releases what it holds.
 */
int	image_config_parse(const struct json *j, struct image_config *ic,
	    const char **why);
void	image_config_free(struct image_config *);
/* Write the run settings as files in folder dfd (argv, env, workdir, user). */
int	image_config_store(int dfd, const struct image_config *ic);

/* A staged image: every blob copied into `dir`, named by its verified hex. */
struct image_stage {
	int		 dfd;		/* the staging folder */
	char		 path[4096];
	char		 config[IMAGE_HEXLEN + 1];
	char		*layers[IMAGE_MAX_LAYERS];	/* compressed blob hex */
	size_t		 nlayers;
};

/*
 * Read image `src` (an OCI layout folder, an oci-archive or a docker-archive)
 * into st, which the caller has opened (dfd, path).  Every blob is copied
 * into st->dfd under its sha256, computed while copying, and a blob whose
 * digest is not the one that names it is refused.  Returns 0, or -1 with
 * a message in err (the exit code in *code).
 */
int	image_source_stage(const char *src, struct image_stage *st,
	    const struct image_limits *lim, char *err, size_t errlen, int *code);

/*
 * Hash the regular file `name` in dfd.  0 and hex in out, or -1 with errno.
 */
int	image_sha256_file(int dfd, const char *name, char out[IMAGE_HEXLEN + 1]);
/* True when s is 64 lowercase hex digits. */
int	image_is_hex(const char *s);
/* "sha256:HEX" → HEX (pointer into s), else NULL. */
const char *image_digest_hex(const char *s);

/*
 * Apply the staged layers, in order, onto the empty folder `rootfs`, in a
 * child confined to it.  Each layer is first decompressed into the stage
 * and checked against diff_ids.  Returns 0, or -1 with err filled and the
 * exit code in *code.
 */
int	image_layers_apply(struct image_stage *st, const struct image_config *ic,
	    const char *rootfs, const struct image_limits *lim,
	    char *err, size_t errlen, int *code);

/*
 * Remove each image under `images` that nothing under `root` refers to
 * (pushed images, releases, stacks) and no dyno holds, printing each
 * one's digest; with dry_run only print.  The caller holds the images
 * lock alone.  0, or -1 when a removal failed (warned).
 */
/*
 * dyno-image-release.c: write, in folder `stage`, a slug whose Procfile
 * runs each type's image command and an images folder naming each type's
 * pushed image, then run "release create APP --slug --images".  Dies on
 * a type without a pushed image; returns release's exit status.
 */
int	image_release(const char *root, const char *images, const char *app,
	    char **types, int ntypes, const char *stage);

/* dyno-image-gc.c: remove the images nothing names (or list, dry_run). */
int	image_gc(const char *root, const char *images, int dry_run);

#endif
