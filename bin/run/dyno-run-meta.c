/* SPDX-License-Identifier: ISC */
/* dyno-run: Heroku's dyno metadata variables, when the app enables them. */
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "dyno-run.h"
#include "state.h"

/* The [release] fields the variables come from. */
struct relmeta {
	char	version[16];
	char	created[32];
	char	description[160];
	char	commit[64];
};

static int
release_line(void *arg, const char *section, const char *key,
    const char *value)
{
	struct relmeta *r = arg;

	if (strcmp(section, "release") != 0)
		return 1;
	if (strcmp(key, "version") == 0)
		snprintf(r->version, sizeof(r->version), "v%s", value);
	else if (strcmp(key, "created") == 0)
		snprintf(r->created, sizeof(r->created), "%s", value);
	else if (strcmp(key, "description") == 0)
		snprintf(r->description, sizeof(r->description), "%s", value);
	else if (strcmp(key, "commit") == 0)
		snprintf(r->commit, sizeof(r->commit), "%s", value);
	return 1;
}

/*
 * runtime-dyno-metadata (heroku.md 1.1): who the dyno is, from app.conf's
 * id and the release file of the release it runs.  They are set after
 * the config vars, so an app cannot fake them (nor could it name them:
 * HEROKU_ is the platform's).  0, or -1 with err filled.
 */
int
meta_env(struct dyno *d, const char *reldir, const char *appid, char *err,
    size_t errlen)
{
	struct relmeta r;
	char path[PATH_MAX];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (state_pathf(path, sizeof(path), "%s/release", reldir) == -1 ||
	    (rc = ini_parse(path, release_line, &r)) != 0) {
		snprintf(err, errlen, "%s: %s", path, rc < 0 ? "unreadable" :
		    "bad release file");
		return -1;
	}
	if ((appid[0] != '\0' && env_set(&d->env, "HEROKU_APP_ID", appid) ==
	    -1) || env_set(&d->env, "HEROKU_APP_NAME", d->app) == -1 ||
	    env_set(&d->env, "HEROKU_DYNO_ID", d->hostname) == -1 ||
	    env_set(&d->env, "HEROKU_RELEASE_VERSION", r.version) == -1 ||
	    env_set(&d->env, "HEROKU_RELEASE_CREATED_AT", r.created) == -1 ||
	    env_set(&d->env, "HEROKU_SLUG_COMMIT", r.commit) == -1 ||
	    env_set(&d->env, "HEROKU_SLUG_DESCRIPTION", r.description) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
