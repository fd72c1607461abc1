/* SPDX-License-Identifier: ISC */
/* An image reference file: "sha256:HEX\n", what names a type's image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "state.h"

int
imageref_valid(const char *text)
{
	size_t n = strlen(text);

	if (n == 7 + IMAGEREF_HEXLEN + 1 && text[n - 1] == '\n')
		n--;
	return n == 7 + IMAGEREF_HEXLEN && strncmp(text, "sha256:", 7) == 0 &&
	    strspn(text + 7, "0123456789abcdef") == IMAGEREF_HEXLEN;
}

int
imageref_dir(const char *root, const char *path, char *dir, size_t len)
{
	char *text;
	int rc = -1;

	if (state_read(path, 128, &text, NULL) == -1)
		return -1;
	if (!imageref_valid(text))
		errno = EINVAL;
	else {
		text[7 + IMAGEREF_HEXLEN] = '\0';
		rc = state_pathf(dir, len, "%s/images/sha256-%s", root,
		    text + 7);
	}
	free(text);
	return rc;
}
