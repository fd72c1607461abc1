/* SPDX-License-Identifier: ISC */
/* An image reference file: "sha256:HEX\n", what names a type's image. */
#ifndef DYNO_IMAGEREF_H
#define DYNO_IMAGEREF_H

#include <stddef.h>

#define IMAGEREF_HEXLEN	64

/*
 * Read the reference file `path` (releases/vN/images/TYPE, stacks/NAME)
 * and write the folder of the image it names, ROOT/images/sha256-HEX,
 * into dir.  Returns 0, or -1 with errno: ENOENT no such file, EINVAL
 * not one "sha256:" and 64 lowercase hex digits line, ENAMETOOLONG dir
 * too small, or what reading said.
 */
int	imageref_dir(const char *root, const char *path, char *dir, size_t len);

/* 1 when text is "sha256:" and 64 lowercase hex digits, an optional "\n". */
int	imageref_valid(const char *text);

#endif
