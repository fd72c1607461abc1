/* SPDX-License-Identifier: ISC */
/* An app's input tokens file (DYNO_ROOT/apps/APP/log-tokens). */
#ifndef DYNO_LOGTOKENS_H
#define DYNO_LOGTOKENS_H

#include <stddef.h>

#define LOGTOKENS_LEN		38	/* "t." and a 36-character UUID */
#define LOGTOKENS_MAX		16	/* tokens per app */
#define LOGTOKENS_FILE		"log-tokens"
#define LOGTOKENS_FILE_MAX	4096

/*
 * One line of the file: "t.<uuid> SOURCE\n", SOURCE being "app" or
 * "heroku": the source the token's lines are logged as.  Blank lines and
 * lines starting with '#' are comments.
 */
struct logtoken {
	char		token[LOGTOKENS_LEN + 1];
	char		source[8];
};

/* 1 when p (len bytes) is "t." and a lowercase UUID, else 0. */
int	logtokens_valid(const char *p, size_t len);

/* A fresh random token "t.<uuid v4>" into buf.  0, or -1 with errno. */
int	logtokens_new(char buf[LOGTOKENS_LEN + 1]);

/*
 * Parse the file's text (NUL-terminated) into at most max entries.
 * Returns how many, or -1 with errno EINVAL (or E2BIG: more than max) and
 * err = "LINE: why" (err may be NULL).
 */
int	logtokens_parse(const char *text, struct logtoken *t, size_t max,
	    char *err, size_t errlen);

/* The file's text for n entries into buf; returns the length it needs. */
size_t	logtokens_format(char *buf, size_t size, const struct logtoken *t,
	    size_t n);

#endif
