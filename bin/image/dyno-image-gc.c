/* SPDX-License-Identifier: ISC */
/* The images no app refers to, and no dyno uses, go away. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "state.h"

#include "dyno-image.h"

/* Referenced image hexes, a small growing list. */
struct refs {
	char		(*hex)[IMAGE_HEXLEN + 1];
	size_t		  n;
};

static void
refs_add_file(struct refs *r, const char *path)
{
	char *text = NULL, *nl;
	const char *hex;
	void *p;

	if (state_read(path, 256, &text, NULL) == -1)
		return;
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	if ((hex = image_digest_hex(text)) != NULL &&
	    (p = reallocarray(r->hex, r->n + 1, sizeof(*r->hex))) != NULL) {
		r->hex = p;
		memcpy(r->hex[r->n++], hex, IMAGE_HEXLEN + 1);
	}
	free(text);
}

/* Every regular file in dir that names an image ("sha256:HEX"). */
static void
refs_add_dir(struct refs *r, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && state_pathf(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == 0)
			refs_add_file(r, path);
	closedir(d);
}

/*
 * What refers to an image: each app's pushed images (apps/APP/images/),
 * the images of each of its releases (releases/vN/images/), the stacks.
 */
static void
image_refs_collect(const char *root, struct refs *r)
{
	char path[PATH_MAX], rel[PATH_MAX];
	struct dirent *de, *ve;
	DIR *d, *v;

	if (state_pathf(path, sizeof(path), "%s/stacks", root) == 0)
		refs_add_dir(r, path);
	if (state_pathf(path, sizeof(path), "%s/apps", root) == -1 ||
	    (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (state_pathf(path, sizeof(path), "%s/apps/%s/images", root,
		    de->d_name) == 0)
			refs_add_dir(r, path);
		if (state_pathf(rel, sizeof(rel), "%s/apps/%s/releases", root,
		    de->d_name) == -1 || (v = opendir(rel)) == NULL)
			continue;
		while ((ve = readdir(v)) != NULL)
			if (ve->d_name[0] != '.' && state_pathf(path,
			    sizeof(path), "%s/%s/images", rel, ve->d_name) == 0)
				refs_add_dir(r, path);
		closedir(v);
	}
	closedir(d);
}

static int
refs_has(const struct refs *r, const char *hex)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->hex[i], hex) == 0)
			return 1;
	return 0;
}

/*
 * A dyno on the image holds a shared flock(2) on its "config.json" for
 * its whole life; failing to take it alone means the image is in use.
 */
static int
in_use(const char *dir)
{
	char path[PATH_MAX];
	int fd, busy;

	if (state_pathf(path, sizeof(path), "%s/config.json", dir) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	busy = flock(fd, LOCK_EX | LOCK_NB) == -1;
	close(fd);
	return busy;
}

int
image_gc(const char *root, const char *images, int dry_run)
{
	struct refs r = { NULL, 0 };
	char path[PATH_MAX];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	image_refs_collect(root, &r);
	if ((d = opendir(images)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		int stale = strncmp(n, ".stage-", 7) == 0 ||
		    strncmp(n, ".tmp-", 5) == 0;

		/* Imports hold the lock shared: a temp folder now is stale. */
		if (!stale && (strncmp(n, "sha256-", 7) != 0 ||
		    !image_is_hex(n + 7) || refs_has(&r, n + 7)))
			continue;
		if (state_pathf(path, sizeof(path), "%s/%s", images, n) == -1)
			continue;
		if (!stale && in_use(path)) {
			diag_verbose("sha256:%s: in use by a dyno", n + 7);
			continue;
		}
		if (!stale)
			printf("sha256:%s\n", n + 7);
		if (!dry_run && state_remove_tree(path) == -1) {
			diag_warn_errno("%s", path);
			rc = -1;
		}
	}
	closedir(d);
	free(r.hex);
	return rc;
}
