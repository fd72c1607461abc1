/* SPDX-License-Identifier: ISC */
/* release: app.conf settings: labs features, maintenance mode, the app id. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appconf.h"
#include "diag.h"
#include "state.h"
#include "uuid.h"

#include "release.h"

/* The labs features an app may enable (heroku.md 1.1, 1.9). */
static const char *features[] = {
	"log-runtime-metrics", "runtime-dyno-metadata",
};
#define NFEATURES	(sizeof(features) / sizeof(features[0]))

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	diag_warn("%s", msg);
}

/* Say why lib/appconf failed; the exit code (a broken file is 78). */
static int
settings_failed(const char *err)
{
	int saved = errno;

	diag_error("%s", err);
	return saved == EINVAL || saved == EFBIG ? EXIT_CONFIG :
	    diag_exit_for_errno(saved);
}

/* The app's app.conf, parsed by the one policy (dyno-state(5)). */
static int
settings_load(struct app *a, struct appconf *ac)
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	if (state_pathf(path, sizeof(path), "%s/%s", a->dir, APPCONF_FILE)
	    == -1)
		return EXIT_SOFTWARE;
	if (appconf_load(path, ac, warn_cb, NULL, err, sizeof(err)) == -1)
		return settings_failed(err);
	return 0;
}

/* Set [app] key=value in app.conf, atomically; the caller holds the lock. */
static int
settings_set(struct app *a, const char *key, const char *value)
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	if (state_pathf(path, sizeof(path), "%s/%s", a->dir, APPCONF_FILE)
	    == -1)
		return EXIT_SOFTWARE;
	if (appconf_set(path, key, value, err, sizeof(err)) == -1)
		return settings_failed(err);
	return 0;
}

/* The app's stable id (heroku.md 1.1 HEROKU_APP_ID): made once, kept. */
int
app_ensure_id(struct app *a)
{
	struct appconf ac;
	char id[UUID_LEN + 1];
	int rc;

	if ((rc = settings_load(a, &ac)) != 0 || ac.id[0] != '\0')
		return rc;
	if (uuid_new(id) == -1)
		diag_die_errno(EXIT_OSERR, "getrandom");
	return settings_set(a, "id", id);
}

/* The running manager re-reads app.conf on SIGHUP (no restart). */
static void
tell_manager(struct app *a)
{
	char path[PATH_MAX];
	pid_t pid;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/manager.pid",
	    a->conf->rundir, a->name) == 0 &&
	    (pid = state_read_pid(path)) > 0 && kill(pid, SIGHUP) == -1)
		diag_warn_errno("signalling dyno-manager (pid %ld)", (long)pid);
}

/* release labs APP: "FEATURE on|off" lines. */
int
cmd_labs_show(struct app *a)
{
	struct appconf ac;
	char v[8];
	size_t i;
	int rc;

	if ((rc = settings_load(a, &ac)) != 0)
		return rc;
	for (i = 0; i < NFEATURES; i++)
		printf("%s %s\n", features[i], appconf_get(&ac, features[i], v,
		    sizeof(v)) == 0 && strcmp(v, "true") == 0 ? "on" : "off");
	return 0;
}

/* release labs enable|disable APP FEATURE. */
int
cmd_labs_set(struct app *a, const char *feature, int on)
{
	size_t i;
	int rc;

	for (i = 0; i < NFEATURES; i++)
		if (strcmp(features[i], feature) == 0)
			break;
	if (i == NFEATURES) {
		diag_error("%s: no such feature (log-runtime-metrics, "
		    "runtime-dyno-metadata)", feature);
		return EXIT_USAGE;
	}
	if ((rc = app_lock(a)) != 0 || (on && (rc = app_ensure_id(a)) != 0) ||
	    (rc = settings_set(a, feature, on ? "true" : "false")) != 0)
		return rc;
	tell_manager(a);
	return 0;
}

/* release maintenance [on|off] APP. */
int
cmd_maintenance(struct app *a, int set, int on)
{
	struct appconf ac;
	int rc;

	if (set < 0) {
		if ((rc = settings_load(a, &ac)) == 0)
			printf("%s\n", ac.maintenance ? "on" : "off");
		return rc;
	}
	if ((rc = app_lock(a)) != 0 ||
	    (rc = settings_set(a, "maintenance", on ? "true" : "false")) != 0)
		return rc;
	return 0;
}
