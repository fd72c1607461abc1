/* SPDX-License-Identifier: ISC */
/* release: app.conf settings: labs features, maintenance mode, the app id. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "diag.h"
#include "num.h"
#include "state.h"

#include "release.h"

#define APPCONF_MAX	65536

/* The labs features an app may enable (heroku.md 1.1, 1.9). */
static const char *features[] = {
	"log-runtime-metrics", "runtime-dyno-metadata",
};
#define NFEATURES	(sizeof(features) / sizeof(features[0]))

void
app_new_uuid(char out[37])
{
	unsigned char b[16];
	size_t i, n = 0;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		diag_die_errno(EXIT_OSERR, "getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		n += (size_t)snprintf(out + n, 3, "%02x", b[i]);
	}
}

/* The key of an INI line "  key = value", or 0 when it is not one. */
static size_t
line_key(const char *line, size_t len, const char **key)
{
	size_t i = 0, end;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == ';' || line[i] == '#' || line[i] == '[')
		return 0;
	*key = line + i;
	for (end = i; end < len && line[end] != '=' && line[end] != ':'; end++)
		;
	if (end == len)
		return 0;
	while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	return end - i;
}

/*
 * The text of app.conf with [app] key set to value: the key's line is
 * replaced where it is, or added at the end of the [app] section (made
 * when missing).  Other lines, comments included, stay as they were.
 */
static char *
with_key(const char *old, const char *key, const char *value)
{
	const char *p = old, *nl, *k;
	char *out, *o, *ins = NULL;
	size_t len, kl, cap = strlen(old) + strlen(key) + strlen(value) + 16;
	int in_app = 0, done = 0;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	o = out;
	for (; *p != '\0'; p = nl) {
		nl = p + strcspn(p, "\n");
		len = (size_t)(nl - p);
		nl += *nl == '\n';
		if (p[strspn(p, " \t")] == '[')
			in_app = strncmp(p + strspn(p, " \t"), "[app]", 5) == 0;
		if (in_app && !done && (kl = line_key(p, len, &k)) != 0 &&
		    kl == strlen(key) && strncmp(k, key, kl) == 0) {
			o += sprintf(o, "%s=%s\n", key, value);
			done = 1;
			continue;
		}
		memcpy(o, p, (size_t)(nl - p));
		o += nl - p;
		if (nl > p && nl[-1] != '\n')
			*o++ = '\n';
		if (in_app)
			ins = o;	/* after the last line of [app] so far */
	}
	*o = '\0';
	if (done)
		return out;
	if (ins == NULL) {
		o += sprintf(o, "[app]\n%s=%s\n", key, value);
		return out;
	}
	/* Insert at the end of [app], before the next section. */
	kl = strlen(key) + strlen(value) + 2;
	memmove(ins + kl, ins, strlen(ins) + 1);
	memcpy(ins, key, strlen(key));
	ins[strlen(key)] = '=';
	memcpy(ins + strlen(key) + 1, value, strlen(value));
	ins[kl - 1] = '\n';
	return out;
}

/* Set [app] key=value in app.conf, atomically; the caller holds the lock. */
static int
appconf_set(struct app *a, const char *key, const char *value)
{
	char path[PATH_MAX], *old = NULL, *text;
	int rc = 0;

	if (state_pathf(path, sizeof(path), "%s/app.conf", a->dir) == -1)
		return EXIT_SOFTWARE;
	if (state_read(path, APPCONF_MAX, &old, NULL) == -1) {
		if (errno != ENOENT) {
			diag_error_errno("%s", path);
			return diag_exit_for_errno(errno);
		}
		old = NULL;
	}
	if ((text = with_key(old ? old : "", key, value)) == NULL)
		diag_die_errno(EXIT_OSERR, "malloc");
	if (state_replace(path, text, strlen(text), 0644, STATE_FSYNC) == -1) {
		diag_error_errno("%s", path);
		rc = EXIT_CANTCREAT;
	}
	free(text);
	free(old);
	return rc;
}

/* [app] key of app.conf into buf ("" when absent); 0 or an exit code. */
static int
appconf_get(struct app *a, const char *key, char *buf, size_t size)
{
	char path[PATH_MAX], *text, *p, *nl;
	const char *k;
	size_t kl;
	int in_app = 0;

	buf[0] = '\0';
	if (state_pathf(path, sizeof(path), "%s/app.conf", a->dir) == -1)
		return EXIT_SOFTWARE;
	if (state_read(path, APPCONF_MAX, &text, NULL) == -1) {
		if (errno == ENOENT)
			return 0;
		diag_error_errno("%s", path);
		return diag_exit_for_errno(errno);
	}
	for (p = text; *p != '\0'; p = nl + (*nl != '\0')) {
		nl = p + strcspn(p, "\n");
		if (p[strspn(p, " \t")] == '[')
			in_app = strncmp(p + strspn(p, " \t"), "[app]", 5) == 0;
		if (in_app && (kl = line_key(p, (size_t)(nl - p), &k)) != 0 &&
		    kl == strlen(key) && strncmp(k, key, kl) == 0) {
			k = strpbrk(k, "=:") + 1;
			k += strspn(k, " \t");
			snprintf(buf, size, "%.*s", (int)(nl - k), k);
		}
	}
	free(text);
	return 0;
}

static int
appconf_bool(struct app *a, const char *key)
{
	char v[64];
	int on = 0;

	if (appconf_get(a, key, v, sizeof(v)) == 0 && v[0] != '\0')
		(void)num_parse_bool(v, &on);
	return on;
}

/* The app's stable id (heroku.md 1.1 HEROKU_APP_ID): made once, kept. */
int
app_ensure_id(struct app *a)
{
	char id[64];
	int rc;

	if ((rc = appconf_get(a, "id", id, sizeof(id))) != 0 || id[0] != '\0')
		return rc;
	app_new_uuid(id);
	return appconf_set(a, "id", id);
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
	size_t i;

	for (i = 0; i < NFEATURES; i++)
		printf("%s %s\n", features[i], appconf_bool(a, features[i]) ?
		    "on" : "off");
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
	    (rc = appconf_set(a, feature, on ? "true" : "false")) != 0)
		return rc;
	tell_manager(a);
	return 0;
}

/* release maintenance [on|off] APP. */
int
cmd_maintenance(struct app *a, int set, int on)
{
	int rc;

	if (set < 0) {
		printf("%s\n", appconf_bool(a, "maintenance") ? "on" : "off");
		return 0;
	}
	if ((rc = app_lock(a)) != 0 ||
	    (rc = appconf_set(a, "maintenance", on ? "true" : "false")) != 0)
		return rc;
	return 0;
}
