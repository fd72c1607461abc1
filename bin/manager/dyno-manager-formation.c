/* SPDX-License-Identifier: ISC */
/* dyno-manager: reading an app, its formation, and the scale and ps commands. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "appconf.h"
#include "diag.h"
#include "logclient.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "dyno-manager.h"

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	diag_warn("%s", msg);
}

/* app.conf by lib/appconf's one policy: an error is 78, the app not run. */
static int
load_appconf(struct app *app)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct appconf ac;

	if (state_pathf(path, sizeof(path), "%s/%s", app->dir, APPCONF_FILE)
	    == -1 || appconf_load(path, &ac, warn_cb, NULL, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_CONFIG;
	}
	snprintf(app->space, sizeof(app->space), "%s", ac.space);
	snprintf(app->size, sizeof(app->size), "%s", ac.size);
	snprintf(app->id, sizeof(app->id), "%s", ac.id);
	app->preboot = ac.preboot;
	app->metrics = ac.metrics;
	return 0;
}

/* The current release: the `current` symlink, "releases/vN". */
static int
load_current(const struct conf *conf, struct app *app)
{
	char link[PATH_MAX], target[PATH_MAX], pf[PATH_MAX], err[512];
	const char *v;
	ssize_t n;

	state_pathf(link, sizeof(link), "%s/current", app->dir);
	if ((n = readlink(link, target, sizeof(target) - 1)) == -1) {
		diag_error_errno("%s: no current release (deploy with release "
		    "create)", app->name);
		return EXIT_NOINPUT;
	}
	target[n] = '\0';
	v = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(v) >= sizeof(app->version) || v[0] != 'v') {
		diag_error("%s: current: unexpected target \"%s\"", app->name,
		    target);
		return EXIT_DATAERR;
	}
	strcpy(app->version, v);
	state_pathf(app->reldir, sizeof(app->reldir), "%s/releases/%s",
	    app->dir, app->version);
	state_pathf(pf, sizeof(pf), "%s/slug", app->reldir);
	/* Beneath the slug: a link in it never makes us read a host file. */
	if (procfile_load_beneath(pf, "Procfile", &app->pf, warn_cb, NULL, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	(void)conf;
	return 0;
}

int
app_load(const struct conf *conf, const char *name, struct app *app)
{
	const char *why;
	int rc;

	memset(app, 0, sizeof(*app));
	if ((why = names_check_app(name)) != NULL) {
		diag_error("%s: bad app name: %s", name, why);
		return EXIT_USAGE;
	}
	snprintf(app->name, sizeof(app->name), "%s", name);
	if (state_pathf(app->dir, sizeof(app->dir), "%s/apps/%s", conf->root,
	    name) == -1 || state_pathf(app->rundir, sizeof(app->rundir),
	    "%s/apps/%s", conf->rundir, name) == -1) {
		diag_error("%s: path too long", name);
		return EXIT_USAGE;
	}
	if (access(app->dir, F_OK) == -1) {
		diag_error("%s: no such app", name);
		return EXIT_NOINPUT;
	}
	if ((rc = load_appconf(app)) != 0 || (rc = load_current(conf, app)) != 0)
		return rc;
	if (app->size[0] == '\0')
		snprintf(app->size, sizeof(app->size), "%s", conf->size);
	return 0;
}

void
app_free(struct app *app)
{
	procfile_free(&app->pf);
}

struct ftype *
formation_find(struct formation *f, const char *type)
{
	unsigned i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->t[i].type, type) == 0)
			return &f->t[i];
	return NULL;
}

/* One "TYPE=COUNT[:SIZE]" line. */
static int
formation_line(struct formation *f, char *line, const char **why)
{
	char *eq = strchr(line, '='), *colon;
	struct ftype *t;

	*why = "expected TYPE=COUNT or TYPE=COUNT:SIZE";
	if (eq == NULL)
		return -1;
	*eq = '\0';
	if ((colon = strchr(eq + 1, ':')) != NULL)
		*colon = '\0';
	if (names_check_proctype(line) != NULL || f->n == FORMATION_MAX_TYPES)
		return -1;
	t = &f->t[f->n];
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "%s", line);
	if (num_parse_uint(eq + 1, 0, FORMATION_MAX_DYNOS, &t->count) == -1)
		return -1;
	if (colon != NULL && snprintf(t->size, sizeof(t->size), "%s",
	    colon + 1) >= (int)sizeof(t->size))
		return -1;
	f->n++;
	return 0;
}

int
formation_read(const char *path, struct formation *f, char *err, size_t errlen)
{
	char *text, *line, *save = NULL;
	const char *why;
	unsigned lineno = 0;

	memset(f, 0, sizeof(*f));
	if (state_read(path, 1 << 20, &text, NULL) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (*line == '#' || *line == '\0')
			continue;
		if (formation_line(f, line, &why) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			free(text);
			errno = EINVAL;
			return -1;
		}
	}
	free(text);
	return 0;
}

int
formation_write(const char *path, const struct formation *f)
{
	char buf[FORMATION_MAX_TYPES * 128];
	size_t len = 0;
	unsigned i;

	for (i = 0; i < f->n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=%u%s%s\n",
		    f->t[i].type, f->t[i].count, f->t[i].size[0] ? ":" : "",
		    f->t[i].size);
	return state_replace(path, buf, len, 0644, STATE_FSYNC);
}

/* "standard-1x" as Heroku prints it: "Standard-1X". */
static void
display_size(const char *size, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", size);
	for (i = 0; buf[i] != '\0'; i++)
		if (i == 0 || buf[i - 1] == '-' || isdigit((unsigned char)buf[i - 1]))
			buf[i] = (char)toupper((unsigned char)buf[i]);
}

static int
cmp_type(const void *a, const void *b)
{
	return strcmp(((const struct ftype *)a)->type,
	    ((const struct ftype *)b)->type);
}

void
formation_describe(const struct formation *f, const struct app *app,
    const struct conf *conf, char *buf, size_t size)
{
	struct formation sorted = *f;
	char sz[CONF_NAME_MAX];
	size_t len = 0;
	unsigned i;

	(void)conf;
	qsort(sorted.t, sorted.n, sizeof(sorted.t[0]), cmp_type);
	buf[0] = '\0';
	for (i = 0; i < sorted.n && len < size; i++) {
		display_size(sorted.t[i].size[0] ? sorted.t[i].size : app->size,
		    sz, sizeof(sz));
		len += (size_t)snprintf(buf + len, size - len, "%s%s@%u:%s",
		    i ? " " : "", sorted.t[i].type, sorted.t[i].count, sz);
	}
}
