/* SPDX-License-Identifier: ISC */
/* Procfile: Heroku's "type: command" grammar (heroku.md section 2.1). */
#ifndef DYNO_PROCFILE_H
#define DYNO_PROCFILE_H

#include <stddef.h>

/* A Procfile over this many bytes is refused, unread. */
#define PROCFILE_MAX	(1024 * 1024)

struct procfile_entry {
	char		*type;
	char		*command;
	unsigned	 line;
};

struct procfile {
	struct procfile_entry *entries;	/* in file order */
	size_t		 n;
};

/* Called for every line that is skipped with a reason ("NAME:LINE: msg"). */
typedef void procfile_warn_fn(void *arg, const char *msg);

/*
 * Parse `len` bytes of Procfile text; `name` is used in messages.  Accepts
 * blank lines, '#' comments (indented too), CRLF, leading spaces, names of
 * [A-Za-z0-9_-], colons inside the command, "web:cmd" without a space.
 * A line that is not "type: command" is skipped with a warning.  Errors
 * (-1, errno EINVAL, err = "NAME:LINE: msg"): a duplicate type, a missing
 * command, a name over 63 characters, no process type at all.  On success
 * the caller owns *pf and frees it with procfile_free().
 */
int	procfile_parse(const char *name, const char *text, size_t len,
	    struct procfile *pf, procfile_warn_fn *warn, void *arg,
	    char *err, size_t errlen);

/* procfile_parse() on a file; ENOENT etc. give -1 with err "PATH: why". */
int	procfile_load(const char *path, struct procfile *pf,
	    procfile_warn_fn *warn, void *arg, char *err, size_t errlen);

/*
 * procfile_load() of the file `name` inside the untrusted folder `dir` (a
 * slug), through beneath_read(): it never leaves dir, reads only a regular
 * file, at most 1 MiB.  err is "DIR/NAME: why" (beneath_strerror()).
 */
int	procfile_load_beneath(const char *dir, const char *name,
	    struct procfile *pf, procfile_warn_fn *warn, void *arg,
	    char *err, size_t errlen);

/* The entry of `type`, or NULL. */
const struct procfile_entry *procfile_find(const struct procfile *pf,
	    const char *type);

/* Index of `type` in file order, or -1. */
int	procfile_index(const struct procfile *pf, const char *type);

void	procfile_free(struct procfile *pf);

#endif
