/* SPDX-License-Identifier: ISC */
/* The ACME HTTP-01 challenge store: written by the hook, read by the router. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acmechal.h"
#include "beneath.h"
#include "state.h"

static int
b64url_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

int
acmechal_token_valid(const char *tok, size_t len)
{
	size_t i;

	if (len == 0 || len > ACMECHAL_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!b64url_char(tok[i]))
			return 0;
	return 1;
}

int
acmechal_auth_valid(const char *token, const char *auth)
{
	size_t tl = strlen(token), al = strlen(auth);

	if (!acmechal_token_valid(token, tl) || al <= tl + 1 ||
	    al > ACMECHAL_AUTH_MAX || strncmp(auth, token, tl) != 0 ||
	    auth[tl] != '.')
		return 0;
	return acmechal_token_valid(auth + tl + 1, al - tl - 1) &&
	    al - tl - 1 <= 64;
}

/* rundir/acme-challenge[/token] into buf; -1 ENAMETOOLONG. */
static int
store_path(char *buf, size_t size, const char *rundir, const char *token)
{
	if (token == NULL)
		return state_pathf(buf, size, "%s/%s", rundir, ACMECHAL_DIR);
	return state_pathf(buf, size, "%s/%s/%s", rundir, ACMECHAL_DIR, token);
}

int
acmechal_put(const char *rundir, const char *token, const char *auth)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (!acmechal_auth_valid(token, auth)) {
		errno = EINVAL;
		return -1;
	}
	if (store_path(dir, sizeof(dir), rundir, NULL) == -1 ||
	    store_path(path, sizeof(path), rundir, token) == -1)
		return -1;
	/* The router may run as another user: the answers are public. */
	if (state_mkdirs(dir, 0755) == -1)
		return -1;
	return state_replace(path, auth, strlen(auth), 0644, 0);
}

int
acmechal_remove(const char *rundir, const char *token)
{
	char path[PATH_MAX];

	if (!acmechal_token_valid(token, strlen(token))) {
		errno = EINVAL;
		return -1;
	}
	if (store_path(path, sizeof(path), rundir, token) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
acmechal_read(const char *rundir, const char *tok, size_t toklen,
    char **data, size_t *len)
{
	char dir[PATH_MAX], name[ACMECHAL_TOKEN_MAX + 1];
	int dfd, rc, saved;

	if (!acmechal_token_valid(tok, toklen)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(name, tok, toklen);
	name[toklen] = '\0';
	if (store_path(dir, sizeof(dir), rundir, NULL) == -1)
		return -1;
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	/* The token is checked, yet the store is opened as untrusted. */
	rc = beneath_read(dfd, name, ACMECHAL_AUTH_MAX, data, len);
	saved = errno;
	close(dfd);
	errno = saved;
	return rc;
}
