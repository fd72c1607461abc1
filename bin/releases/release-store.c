/* SPDX-License-Identifier: ISC */
/* release fetch: bring a slug named by its sha256 into the slug store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "slugstore.h"
#include "state.h"

#include "release.h"

/*
 * Download url to a temp file in the store's folder (so the final rename
 * never crosses a filesystem), hash it, and only when the hash is the one
 * asked for give it its name.  A slug with the wrong bytes is never
 * stored: the temp file goes, and R17 is said.
 */
static int
fetch_verify(const struct conf *c, const char *url, const char *hex,
    const char *dir, const char *to)
{
	char tmp[PATH_MAX], sha[65] = "";
	int fd, rc;

	if (state_pathf(tmp, sizeof(tmp), "%s/.fetch-XXXXXX", dir) == -1)
		return EXIT_SOFTWARE;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		diag_error_errno("%s", dir);
		return EXIT_CANTCREAT;
	}
	close(fd);
	fd = -1;
	if ((rc = fetch_url(c, url, tmp)) == 0 &&
	    (rc = slug_hash_file(c, tmp, sha)) == 0 && strcmp(sha, hex) != 0)
		rc = slug_r17(url, hex, sha);
	if (rc == 0 && ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fchmod(fd, 0644) == -1 || fsync(fd) == -1 ||
	    rename(tmp, to) == -1 || state_fsync_dir(dir) == -1)) {
		diag_error_errno("%s", to);
		rc = EXIT_CANTCREAT;
	}
	if (fd != -1)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int
slug_fetch(const struct conf *c, const char *url, const char *hex,
    char *to, size_t size)
{
	char dir[PATH_MAX];

	if (!slugstore_hex_valid(hex, strlen(hex))) {
		diag_error("%s: not a sha256 (64 lowercase hex digits)", hex);
		return EXIT_USAGE;
	}
	if (slugstore_dir(dir, sizeof(dir), c->root) == -1 ||
	    slugstore_path(to, size, c->root, hex) == -1) {
		diag_error("%s: path too long", c->root);
		return EXIT_SOFTWARE;
	}
	if (state_mkdirs(dir, 0755) == -1) {
		diag_error_errno("%s", dir);
		return EXIT_CANTCREAT;
	}
	/* Content-addressed: a name present was verified when stored. */
	if (access(to, F_OK) == 0)
		return 0;
	return fetch_verify(c, url, hex, dir, to);
}

int
cmd_fetch(const struct conf *c, const char *url, const char *hex)
{
	char to[PATH_MAX];
	int rc;

	if ((rc = slug_fetch(c, url, hex, to, sizeof(to))) == 0)
		printf("%s\n", to);
	return rc;
}
