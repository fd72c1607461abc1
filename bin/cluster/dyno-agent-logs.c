/* SPDX-License-Identifier: ISC */
/* dyno-agent: one log per app across hosts: log-owner, log-tokens, drains. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "drains.h"
#include "logowner.h"
#include "logtokens.h"
#include "names.h"
#include "state.h"
#include "dyno-agent.h"

/*
 * An app's log lives in one host's logplexd, its owner (apps/APP/loghost,
 * chosen by the placer among the live hosts): the agent of every other host
 * writes APPDIR/log-owner naming it and the owner's [cluster] log_addr, so
 * its logplexd forwards the app's lines there and dyno-logs asks there;
 * on the owner the file is absent.  The forward and the remote tail need
 * one of the app's input tokens on both ends: APPDIR/log-tokens is the
 * same on every host, from apps/APP/log-tokens (the first host to see the
 * app with none publishes its own file, or mints one, create-if-absent).
 * The drains file is copied both ways through apps/APP/drains, so a drain
 * added on any host is the owner's too (only the owner delivers: each line
 * reaches a drain once).  Whatever came from etcd is parsed before it is
 * written: another host's bad value never becomes a file here.
 */

#define MAX_DRAINS	256

/* What the drains file and apps/APP/drains last agreed on, per app. */
struct logsync {
	char		 app[32];
	char		*drains;
};

static struct logsync *
sync_find(struct agent *a, const char *app)
{
	struct logsync *n;
	size_t i;

	for (i = 0; i < a->nlogs; i++)
		if (strcmp(a->logs[i].app, app) == 0)
			return &a->logs[i];
	if ((n = realloc(a->logs, (a->nlogs + 1) * sizeof(*n))) == NULL)
		return NULL;
	a->logs = n;
	n = &a->logs[a->nlogs++];
	snprintf(n->app, sizeof(n->app), "%.31s", app);
	n->drains = NULL;
	return n;
}

/* The value of apps/<app>/<what> from the watched copy (malloc'd) or NULL. */
static char *
app_key(struct agent *a, const char *app, const char *what, int *err)
{
	char key[512], *v = NULL;
	struct etcd_range r;

	snprintf(key, sizeof(key), AGENT_PREFIX "apps/%s/%s", app, what);
	if (agent_range(a, key, 0, &r) == -1) {
		*err = 1;
		return NULL;
	}
	if (r.n == 1)
		v = strdup(r.kvs[0].value);
	etcd_range_free(&r);
	return v;
}

/* A local file's text ("" when absent), NULL on another error. */
static char *
file_text(const char *appdir, const char *name, size_t max)
{
	char path[PATH_MAX], *t;

	if (state_pathf(path, sizeof(path), "%s/%s", appdir, name) == -1)
		return NULL;
	if (state_read(path, max, &t, NULL) == -1)
		return errno == ENOENT ? strdup("") : NULL;
	return t;
}

/* Replace the file when text differs; 1 if it did. */
static int
file_set(const char *appdir, const char *name, const char *old,
    const char *text, mode_t mode)
{
	char path[PATH_MAX];

	if (old != NULL && strcmp(old, text) == 0)
		return 0;
	if (state_pathf(path, sizeof(path), "%s/%s", appdir, name) == -1 ||
	    state_replace(path, text, strlen(text), mode, 0) == -1) {
		diag_warn_errno("%s/%s", appdir, name);
		return 0;
	}
	return 1;
}

static int
tokens_ok(const char *text)
{
	struct logtoken t[LOGTOKENS_MAX];

	return strlen(text) < LOGTOKENS_FILE_MAX &&
	    logtokens_parse(text, t, LOGTOKENS_MAX, NULL, 0) > 0;
}

/* Put key = text only if the key is absent (the first host wins). */
static int
put_if_absent(struct agent *a, const char *key, const char *text)
{
	struct etcd_cmp c = { ETCD_CREATE, ETCD_EQUAL, key, 0, NULL };
	struct etcd_op put = { ETCD_OP_PUT, key, text, 0, 0 };
	int won = 0;

	if (etcd_txn(a->etcd, &c, 1, &put, 1, NULL, 0, &won, NULL, NULL, 0) ==
	    -1)
		return -1;
	return won ? 0 : -1;
}

/* log-tokens: etcd's, or ours (or fresh ones) when etcd has none yet. */
static int
sync_tokens(struct agent *a, const char *app, const char *appdir)
{
	char key[512], mint[2 * (LOGTOKENS_LEN + 16)], tapp[LOGTOKENS_LEN + 1],
	    thk[LOGTOKENS_LEN + 1], *e, *l;
	int changed = 0, err = 0;

	e = app_key(a, app, LOGTOKENS_FILE, &err);
	l = file_text(appdir, LOGTOKENS_FILE, LOGTOKENS_FILE_MAX);
	if (err || l == NULL)
		goto out;
	if (e != NULL) {
		if (tokens_ok(e))
			changed = file_set(appdir, LOGTOKENS_FILE, l, e, 0600);
		else
			diag_warn_ratelimited(8, 30000, "apps/%s/log-tokens in "
			    "etcd is not a tokens file: not copied", app);
		goto out;
	}
	snprintf(key, sizeof(key), AGENT_PREFIX "apps/%s/" LOGTOKENS_FILE, app);
	if (!tokens_ok(l)) {
		if (logtokens_new(tapp) == -1 || logtokens_new(thk) == -1)
			goto out;
		snprintf(mint, sizeof(mint), "%s app\n%s heroku\n", tapp, thk);
		if (put_if_absent(a, key, mint) == 0)
			changed = file_set(appdir, LOGTOKENS_FILE, l, mint, 0600);
	} else
		(void)put_if_absent(a, key, l);
out:
	free(e);
	free(l);
	return changed;
}

static int
drains_ok(const char *text)
{
	struct drain_entry *d;
	int n;

	if (strlen(text) >= DRAINS_FILE_MAX ||
	    (d = calloc(MAX_DRAINS, sizeof(*d))) == NULL)
		return 0;
	n = drains_parse(text, d, MAX_DRAINS, NULL, 0);
	free(d);
	return n >= 0;
}

/*
 * drains, both ways: a local change (the file is not what was agreed) goes
 * to etcd; a change in etcd comes here.  At start etcd's wins.
 */
static int
sync_drains(struct agent *a, const char *app, const char *appdir)
{
	char key[512], err_[256], *e, *l, *want = NULL;
	struct logsync *s = sync_find(a, app);
	int changed = 0, err = 0;

	e = app_key(a, app, "drains", &err);
	l = file_text(appdir, "drains", DRAINS_FILE_MAX);
	if (s == NULL || err || l == NULL)
		goto out;
	snprintf(key, sizeof(key), AGENT_PREFIX "apps/%s/drains", app);
	if (s->drains != NULL && strcmp(l, s->drains) != 0 && drains_ok(l)) {
		if (etcd_put(a->etcd, key, l, strlen(l), 0, err_,
		    sizeof(err_)) == -1)
			goto out;
		want = strdup(l);
	} else if (e != NULL && drains_ok(e)) {
		changed = file_set(appdir, "drains", l, e, 0600);
		want = strdup(e);
	} else if (s->drains == NULL && l[0] != '\0' && drains_ok(l)) {
		if (put_if_absent(a, key, l) == 0)
			want = strdup(l);
	} else
		want = strdup(l);
	if (want != NULL) {
		free(s->drains);
		s->drains = want;
	}
out:
	free(e);
	free(l);
	return changed;
}

/* "HOST ADDR:PORT" of the app's owner, or "" when it is this host. */
static void
owner_line(struct agent *a, const char *app, char *buf, size_t size)
{
	char key[512], addr[64], *loghost, *v;
	struct logowner o;
	struct etcd_range r;
	int err = 0;

	buf[0] = '\0';
	if ((v = app_key(a, app, "loghost", &err)) == NULL) {
		if (err)
			snprintf(buf, size, "-");	/* unknown: as it is */
		return;
	}
	loghost = json_text(v);
	free(v);
	snprintf(key, sizeof(key), AGENT_PREFIX "hosts/%s", loghost ? loghost :
	    "");
	if (loghost == NULL || strcmp(loghost, a->host) == 0) {
		free(loghost);
		return;
	}
	/*
	 * The copy unreadable, or the owner gone and not replaced yet: the
	 * file stays, so the lines wait in the forward's queue for the next
	 * owner rather than land in this host's history.
	 */
	if (agent_range(a, key, 0, &r) == -1 || r.n != 1) {
		etcd_range_free(&r);	/* zeroed on failure: safe */
		snprintf(buf, size, "-");
		free(loghost);
		return;
	}
	addr[0] = '\0';
	json_str_field(r.kvs[0].value, "log_addr", addr, sizeof(addr));
	etcd_range_free(&r);
	memset(&o, 0, sizeof(o));
	snprintf(buf, size, "%s %s\n", loghost, addr);
	/* an owner without a log address (or a bad one): kept here */
	if (addr[0] == '\0' || logowner_parse(buf, &o, NULL) == -1)
		buf[0] = '\0';
	else
		logowner_format(buf, size, &o);
	free(loghost);
}

static int
sync_owner(struct agent *a, const char *app, const char *appdir)
{
	char line[LOGOWNER_FILE_MAX], path[PATH_MAX], *l;
	int changed = 0;

	owner_line(a, app, line, sizeof(line));
	if (strcmp(line, "-") == 0 || (l = file_text(appdir, LOGOWNER_FILE,
	    LOGOWNER_FILE_MAX)) == NULL)
		return 0;
	if (line[0] != '\0')
		changed = file_set(appdir, LOGOWNER_FILE, l, line, 0644);
	else if (l[0] != '\0' && state_pathf(path, sizeof(path), "%s/"
	    LOGOWNER_FILE, appdir) == 0 && unlink(path) == 0)
		changed = 1;
	free(l);
	return changed;
}

/* Whether the cluster knows app (apps/<app>/current). */
static int
known(struct agent *a, const char *app)
{
	char *v;
	int err = 0;

	v = app_key(a, app, "current", &err);
	free(v);
	return v != NULL;
}

/* logplexd re-reads drains, owners and tokens on SIGHUP. */
static void
hup_logplexd(struct agent *a)
{
	char path[PATH_MAX];
	pid_t pid;

	if (state_pathf(path, sizeof(path), "%s/logplexd.pid",
	    a->conf->rundir) == 0 && (pid = state_read_pid(path)) > 0)
		kill(pid, SIGHUP);
}

void
logs_tick(struct agent *a)
{
	char dir[PATH_MAX], appdir[PATH_MAX];
	struct dirent *de;
	int changed = 0;
	DIR *dp;

	if (!host_live(a))
		return;
	state_pathf(dir, sizeof(dir), "%s/apps", a->conf->root);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (names_check_app(de->d_name) != NULL || state_pathf(appdir,
		    sizeof(appdir), "%s/%s", dir, de->d_name) == -1 ||
		    !known(a, de->d_name))
			continue;
		changed |= sync_tokens(a, de->d_name, appdir);
		changed |= sync_drains(a, de->d_name, appdir);
		changed |= sync_owner(a, de->d_name, appdir);
	}
	closedir(dp);
	if (changed)
		hup_logplexd(a);
}
