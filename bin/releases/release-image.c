/* SPDX-License-Identifier: ISC */
/* release: the images of a release, one "sha256:HEX" file per process type. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "imageref.h"
#include "names.h"
#include "state.h"

#include "release.h"

/* "sha256:" and 64 lowercase hex digits, and a newline. */
static int
valid_ref(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '\n' && imageref_valid(s);
}

int
release_images_copy(const char *src, const char *staging)
{
	char from[PATH_MAX], to[PATH_MAX], *text;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if ((d = opendir(src)) == NULL)
		return 0;	/* a slug release: no images */
	if (state_pathf(to, sizeof(to), "%s/images", staging) == -1 ||
	    mkdir(to, 0755) == -1) {
		closedir(d);
		diag_error_errno("%s", to);
		return EXIT_CANTCREAT;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (names_check_proctype(de->d_name) != NULL ||
		    state_pathf(from, sizeof(from), "%s/%s", src,
		    de->d_name) == -1 || state_read(from, 128, &text, NULL) ==
		    -1) {
			diag_error("%s/%s: not a process type's image", src,
			    de->d_name);
			rc = EXIT_DATAERR;
			break;
		}
		if (!valid_ref(text)) {
			diag_error("%s: not a sha256:HEX line", from);
			rc = EXIT_DATAERR;
		} else if (state_pathf(to, sizeof(to), "%s/images/%s", staging,
		    de->d_name) == -1 || state_replace(to, text, strlen(text),
		    0644, 0) == -1) {
			diag_error_errno("%s", to);
			rc = EXIT_CANTCREAT;
		}
		free(text);
	}
	closedir(d);
	return rc;
}
