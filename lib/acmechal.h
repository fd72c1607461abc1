/* SPDX-License-Identifier: ISC */
/* The ACME HTTP-01 challenge store: DYNO_RUNDIR/acme-challenge/TOKEN. */
#ifndef DYNO_ACMECHAL_H
#define DYNO_ACMECHAL_H

#include <stddef.h>

/*
 * The store is written by dyno-acm-hook (uacme's hook) and read by
 * dyno-route for GET /.well-known/acme-challenge/TOKEN.  A token comes
 * from the ACME server, and on the router's side from any client: it is
 * checked here, on both sides, before it names a file.
 */
#define ACMECHAL_DIR		"acme-challenge"
#define ACMECHAL_PREFIX		"/.well-known/acme-challenge/"
/* RFC 8555 8.3: base64url, at least 128 bits (22 characters). */
#define ACMECHAL_TOKEN_MAX	128
/* A key authorization: TOKEN "." base64url(SHA-256 thumbprint). */
#define ACMECHAL_AUTH_MAX	(ACMECHAL_TOKEN_MAX + 1 + 64)

/* Whether tok[0..len) is 1 to ACMECHAL_TOKEN_MAX of [A-Za-z0-9_-]. */
int	acmechal_token_valid(const char *tok, size_t len);

/*
 * Whether auth is a key authorization for token: "TOKEN.THUMBPRINT", the
 * thumbprint 1 to 64 of [A-Za-z0-9_-].
 */
int	acmechal_auth_valid(const char *token, const char *auth);

/*
 * Store auth as the answer for token, atomically (temp file + rename),
 * mode 0644 in a folder made 0755 if missing.  0, or -1 with errno:
 * EINVAL a bad token or key authorization, else the system call's.
 */
int	acmechal_put(const char *rundir, const char *token, const char *auth);

/* Remove token's answer.  0 (also when it was not there), -1 with errno. */
int	acmechal_remove(const char *rundir, const char *token);

/*
 * Read token's answer into a malloc'd NUL-terminated buffer the caller
 * frees, *len its length.  The file is opened beneath the store with
 * openat2(RESOLVE_BENEATH) (lib/beneath): no symlink or ".." leaves it,
 * no FIFO or device is opened.  0, or -1 with errno: EINVAL a bad token,
 * ENOENT no answer, EFBIG an answer over ACMECHAL_AUTH_MAX, or others.
 */
int	acmechal_read(const char *rundir, const char *tok, size_t toklen,
	    char **data, size_t *len);

#endif
