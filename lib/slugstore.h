/* SPDX-License-Identifier: ISC */
/* The content-addressed slug store: DYNO_ROOT/slugs/sha256-HEX.tgz. */
#ifndef DYNO_SLUGSTORE_H
#define DYNO_SLUGSTORE_H

#include <stddef.h>

#define SLUGSTORE_DIR		"slugs"		/* under DYNO_ROOT */
#define SLUGSTORE_HEX_LEN	64
#define SLUGSTORE_NAME_LEN	(7 + SLUGSTORE_HEX_LEN + 4)
#define SLUGSTORE_REF_PREFIX	"sha256:"	/* release create --slug sha256:HEX */

/*
 * A slug archive is stored under the sha256 of its bytes, lowercase hex:
 * "sha256-<64 hex>.tgz".  The name is the whole index: a file is written
 * to a temp name in the folder, verified, then renamed to its name, so a
 * name present is a slug whose bytes were checked when it was stored.
 */

/* 1 when p (len bytes) is 64 lowercase hex digits, else 0. */
int	slugstore_hex_valid(const char *p, size_t len);

/*
 * 1 when name (len bytes, not NUL-terminated) is exactly a store name,
 * else 0; the hex is copied to hex (NUL-terminated) when it is not NULL.
 */
int	slugstore_name_parse(const char *name, size_t len,
	    char hex[SLUGSTORE_HEX_LEN + 1]);

/* The store name of hex into buf.  0, or -1 with errno EINVAL/ENAMETOOLONG. */
int	slugstore_name(char *buf, size_t size, const char *hex);

/* DYNO_ROOT/slugs into buf.  0, or -1 with errno ENAMETOOLONG. */
int	slugstore_dir(char *buf, size_t size, const char *root);

/* DYNO_ROOT/slugs/sha256-HEX.tgz into buf.  0, or -1 with errno. */
int	slugstore_path(char *buf, size_t size, const char *root,
	    const char *hex);

/*
 * 1 when the store under root has hex's archive (a name present was
 * verified when stored), 0 when not (or hex is not a sha256).
 */
int	slugstore_has(const char *root, const char *hex);

/*
 * The URL of hex's archive in a store served at base (a host's slug_url,
 * "http://h:port/slugs/", with or without its last slash) into buf.  0, or
 * -1 with errno EINVAL (hex, or a base not http:// or https://) or
 * ENAMETOOLONG.
 */
int	slugstore_url(char *buf, size_t size, const char *base,
	    const char *hex);

/*
 * 1 when s is "sha256:" and 64 lowercase hex digits (a slug named by its
 * hash, as release create --slug takes it); the hex into hex.
 */
int	slugstore_ref_parse(const char *s, char hex[SLUGSTORE_HEX_LEN + 1]);

#endif
