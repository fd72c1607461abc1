/* SPDX-License-Identifier: ISC */
/* Random (version 4) UUIDs: app ids, drain and input tokens. */
#ifndef DYNO_UUID_H
#define DYNO_UUID_H

#include <stddef.h>

#define UUID_LEN	36	/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */

/*
 * A fresh random version 4 UUID, lowercase, NUL-terminated, into buf.
 * 0, or -1 with getrandom(2)'s errno.
 */
int	uuid_new(char buf[UUID_LEN + 1]);

/* 1 when p (len bytes) has the shape of a lowercase UUID, else 0. */
int	uuid_valid(const char *p, size_t len);

#endif
