/* SPDX-License-Identifier: ISC */
/* The .env format foreman and dotenv read, and the release `env` file format. */
#ifndef DYNO_ENVFILE_H
#define DYNO_ENVFILE_H

#include <stddef.h>

#include "env.h"

/* Called for every line that is skipped ("NAME:LINE: msg, line ignored"). */
typedef void envfile_warn_fn(void *arg, const char *msg);

/*
 * .env: KEY=VALUE lines; an "export " prefix; 'single' quotes (literal,
 * \' does not close them), "double" quotes (\n \r \t \\ \" \$ escapes;
 * both may span lines); '#' comments on their own line or after a value
 * (" #"); empty values; CRLF.  No variable expansion (as foreman).  Keys:
 * [A-Za-z0-9_.-]+.  Adds to *out (later lines win).  As foreman and dotenv,
 * a line that is not an assignment ("=x", "a b", text after a closing
 * quote, a NUL byte) is skipped, with warn(arg, msg) when warn is set.
 * 0, or -1 with errno EINVAL and err = "NAME:LINE: msg" for what cannot
 * be skipped safely: an unterminated quote, which would swallow the rest
 * of the file (ENOMEM too).
 */
int	envfile_parse_dotenv(const char *name, const char *text, size_t len,
	    struct env *out, envfile_warn_fn *warn, void *arg, char *err,
	    size_t errlen);
int	envfile_load_dotenv(const char *path, struct env *out,
	    envfile_warn_fn *warn, void *arg, char *err, size_t errlen);

/*
 * Release env: one "KEY=VALUE" per line, VALUE escaped so any byte string
 * round-trips: "\\" for a backslash, "\n", "\r", "\t", and "\xHH" for the
 * other bytes below 0x20 and 0x7f.  Everything else (quotes, '=', '$',
 * UTF-8) is literal.  Same return convention as above.
 */
int	envfile_parse_release(const char *name, const char *text, size_t len,
	    struct env *out, char *err, size_t errlen);
int	envfile_load_release(const char *path, struct env *out, char *err,
	    size_t errlen);

/* The release-format text of e: malloc'd, caller frees; NULL on ENOMEM. */
char   *envfile_format_release(const struct env *e, size_t *len);

/* Quote value for a POSIX shell ('...' with '\'' for quotes): malloc'd. */
char   *envfile_shell_quote(const char *value);

#endif
