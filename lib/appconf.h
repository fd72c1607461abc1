/* SPDX-License-Identifier: ISC */
/* An app's settings file, DYNO_ROOT/apps/APP/app.conf: its one reader and writer. */
#ifndef DYNO_APPCONF_H
#define DYNO_APPCONF_H

#include <stddef.h>

#include "conf.h"

#define APPCONF_FILE		"app.conf"
#define APPCONF_FILE_MAX	65536	/* bytes of the whole file */
#define APPCONF_LINE_MAX	4096	/* bytes of one line, newline excluded */
#define APPCONF_ID_MAX		64
#define APPCONF_SPACE_MAX	64
#define APPCONF_STACK_MAX	64
#define APPCONF_HOSTS_MAX	2048	/* bytes of hostnames=, NUL included */
#define APPCONF_HOST_MAX	253	/* one DNS name */
#define APPCONF_PACKS_MAX	APPCONF_LINE_MAX	/* buildpacks= */
#define APPCONF_BRANCH_MAX	256	/* deploy_branch= */

/*
 * The [app] section.  Strings are "" when the key is absent or empty;
 * every flag is 0 unless the file says true.
 */
struct appconf {
	char	id[APPCONF_ID_MAX];		/* id=: HEROKU_APP_ID */
	char	space[APPCONF_SPACE_MAX];	/* space=: a space name */
	char	size[CONF_NAME_MAX];		/* size=: a dyno.conf size */
	char	stack[APPCONF_STACK_MAX];	/* stack=: DYNO_ROOT/stacks/NAME */
	char	hostnames[APPCONF_HOSTS_MAX];	/* hostnames=: as written */
	int	preboot;			/* preboot= */
	int	maintenance;			/* maintenance= */
	int	metadata;			/* runtime-dyno-metadata= */
	int	metrics;			/* log-runtime-metrics= */
	char	buildpacks[APPCONF_PACKS_MAX];	/* buildpacks=: dyno-build's */
	char	deploy_branch[APPCONF_BRANCH_MAX];	/* deploy_branch= */
};

/* Called for every line that is ignored, with "NAME:LINE: why". */
typedef void appconf_warn_fn(void *arg, const char *msg);

/* The settings of an app without an app.conf. */
void	appconf_init(struct appconf *ac);

/*
 * Parse len bytes of app.conf text into ac (set to appconf_init()'s
 * defaults first); `name` (the path) starts every message.  The policy,
 * the same for every tool (dyno-state(5)):
 * - lines are "[section]", "key=value" (blanks around both trimmed),
 *   blank, or comments starting with '#' or ';'; CRLF is fine;
 * - an unknown section, a key outside [app] or an unknown key of [app]
 *   is ignored with warn(arg, msg) (warn may be NULL);
 * - everything else is an error, never a truncation or a guess: a line
 *   that is none of the above, a control character or NUL byte, a line
 *   over APPCONF_LINE_MAX bytes, a known key given twice, a value that
 *   does not fit its key (too long, not a name, not true or false).
 * 0, or -1 with errno EINVAL and err = "NAME:LINE: why".
 */
int	appconf_parse(const char *name, const char *text, size_t len,
	    struct appconf *ac, appconf_warn_fn *warn, void *arg, char *err,
	    size_t errlen);

/*
 * Read and parse the file `path`.  A missing file is no error: ac gets
 * the defaults and 0 is returned.  -1 with errno and err = "PATH: why"
 * or "PATH:LINE: why": EINVAL as appconf_parse(), EFBIG over
 * APPCONF_FILE_MAX bytes, or open(2)'s and read(2)'s.
 */
int	appconf_load(const char *path, struct appconf *ac,
	    appconf_warn_fn *warn, void *arg, char *err, size_t errlen);

/*
 * Key `key` of ac as the file writes it ("true"/"false" for a flag) into
 * buf.  0, or -1 with errno EINVAL (no such key) or ERANGE (buf too small).
 */
int	appconf_get(const struct appconf *ac, const char *key, char *buf,
	    size_t size);

/*
 * The text of a new app.conf for ac into buf: "[app]" and one "key=value"
 * line for id, space, size, hostnames and preboot (so a user sees what to
 * set), then one for any other key not at its default.  Returns the length
 * it needs, as snprintf; parsing it back gives ac.
 */
size_t	appconf_format(char *buf, size_t size, const struct appconf *ac);

/*
 * The text (len bytes, of the file `name`) with [app] key=value: the
 * key's line replaced where it stands, or a line added at the end of the
 * last [app] section, or "[app]" and the line added at the end.  All
 * other bytes stay as they were.  The text must parse (a broken file is
 * never rewritten) and value must fit the key.  A malloc'd,
 * NUL-terminated text the caller frees, or NULL with errno (EINVAL, and
 * err saying why; ENOMEM).
 */
char	*appconf_edit(const char *name, const char *text, size_t len,
	    const char *key, const char *value, char *err, size_t errlen);

/*
 * appconf_edit() of the file `path` (missing: empty), written back
 * atomically and durably (state_replace, mode 0644, fsync).  The caller
 * holds the app's lock.  0, or -1 with errno and err = "PATH...: why".
 */
int	appconf_set(const char *path, const char *key, const char *value,
	    char *err, size_t errlen);

/* appconf_format() of ac written atomically and durably to `path`.  0 or -1
 * with errno, err = "PATH: why". */
int	appconf_write(const char *path, const struct appconf *ac, char *err,
	    size_t errlen);

#endif
