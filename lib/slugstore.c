/* SPDX-License-Identifier: ISC */
/* Names in the content-addressed slug store. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "slugstore.h"
#include "state.h"

int
slugstore_hex_valid(const char *p, size_t len)
{
	size_t i;

	if (len != SLUGSTORE_HEX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

int
slugstore_name_parse(const char *name, size_t len,
    char hex[SLUGSTORE_HEX_LEN + 1])
{
	if (len != SLUGSTORE_NAME_LEN || memcmp(name, "sha256-", 7) != 0 ||
	    memcmp(name + 7 + SLUGSTORE_HEX_LEN, ".tgz", 4) != 0 ||
	    !slugstore_hex_valid(name + 7, SLUGSTORE_HEX_LEN))
		return 0;
	if (hex != NULL) {
		memcpy(hex, name + 7, SLUGSTORE_HEX_LEN);
		hex[SLUGSTORE_HEX_LEN] = '\0';
	}
	return 1;
}

int
slugstore_name(char *buf, size_t size, const char *hex)
{
	if (!slugstore_hex_valid(hex, strlen(hex))) {
		errno = EINVAL;
		return -1;
	}
	return state_pathf(buf, size, "sha256-%s.tgz", hex);
}

int
slugstore_dir(char *buf, size_t size, const char *root)
{
	return state_pathf(buf, size, "%s/" SLUGSTORE_DIR, root);
}

int
slugstore_path(char *buf, size_t size, const char *root, const char *hex)
{
	if (!slugstore_hex_valid(hex, strlen(hex))) {
		errno = EINVAL;
		return -1;
	}
	return state_pathf(buf, size, "%s/" SLUGSTORE_DIR "/sha256-%s.tgz",
	    root, hex);
}

int
slugstore_has(const char *root, const char *hex)
{
	char path[PATH_MAX];

	return slugstore_path(path, sizeof(path), root, hex) == 0 &&
	    access(path, F_OK) == 0;
}

int
slugstore_url(char *buf, size_t size, const char *base, const char *hex)
{
	size_t blen = strlen(base);

	/* a host's word from etcd: no file:, no other scheme libcurl has */
	if ((strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8)
	    != 0) || !slugstore_hex_valid(hex, strlen(hex))) {
		errno = EINVAL;
		return -1;
	}
	return state_pathf(buf, size, "%s%ssha256-%s.tgz", base,
	    base[blen - 1] == '/' ? "" : "/", hex);
}

int
slugstore_ref_parse(const char *s, char hex[SLUGSTORE_HEX_LEN + 1])
{
	size_t plen = strlen(SLUGSTORE_REF_PREFIX);

	if (strncmp(s, SLUGSTORE_REF_PREFIX, plen) != 0 ||
	    !slugstore_hex_valid(s + plen, strlen(s + plen)))
		return 0;
	memcpy(hex, s + plen, SLUGSTORE_HEX_LEN + 1);
	return 1;
}
