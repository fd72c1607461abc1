/* SPDX-License-Identifier: ISC */
/* dyno-agent: this host's part: assignments to managers, states to status/,
 * status/ to the routes files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster.h"
#include "diag.h"
#include "dynostate.h"
#include "names.h"
#include "state.h"
#include "dyno-agent.h"

#define MAX_LOCAL	1000	/* dynos of one app on this host */

/* The assignments of one app to this host. */
struct mine {
	char		 app[32];
	char		 release[16];
	char		 (*names)[CLUSTER_NAME_MAX];
	size_t		 n;
	int		 seen;		/* the app has a folder here */
};

static struct mine *
mine_find(struct mine *m, size_t n, const char *app)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].app, app) == 0)
			return &m[i];
	return NULL;
}

/* assign/<me>/<app>/<dyno> into one struct mine per app. */
static struct mine *
read_mine(struct agent *a, size_t *count)
{
	char prefix[128], app[32], dyno[CLUSTER_NAME_MAX];
	struct etcd_range r;
	struct mine *m, *x;
	size_t i, n = 0;

	snprintf(prefix, sizeof(prefix), AGENT_PREFIX "assign/%s/", a->host);
	if (agent_range(a, prefix, 1, &r) == -1)
		return NULL;
	m = calloc(r.n + 1, sizeof(*m));
	for (i = 0; m != NULL && i < r.n; i++) {
		if (sscanf(r.kvs[i].key + strlen(prefix), "%31[^/]/%79s", app,
		    dyno) != 2 || names_check_app(app) != NULL ||
		    names_check_dyno(dyno, NULL, NULL) != NULL)
			continue;
		if ((x = mine_find(m, n, app)) == NULL) {
			x = &m[n++];
			snprintf(x->app, sizeof(x->app), "%s", app);
			json_str_field(r.kvs[i].value, "release", x->release,
			    sizeof(x->release));
			x->names = calloc(r.n, CLUSTER_NAME_MAX);
		}
		if (x->names != NULL)
			snprintf(x->names[x->n++], CLUSTER_NAME_MAX, "%s", dyno);
	}
	etcd_range_free(&r);
	*count = n;
	return m;
}

static void
free_mine(struct mine *m, size_t n)
{
	size_t i;

	for (i = 0; m != NULL && i < n; i++)
		free(m[i].names);
	free(m);
}

/*
 * `release follow APP` in the background (a slug download must not hold
 * the loop, nor the lease renewals, up): one per app, at most 8 at once;
 * local_reap() frees its slot.
 */
static void
follow_release(struct agent *a, const char *app)
{
	uint64_t now = cluster_now_ms();
	struct follow *f = NULL, *g;
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof(a->follows) / sizeof(a->follows[0]); i++) {
		g = &a->follows[i];
		/* running, or failed less than 5 s ago: not again yet */
		if (strcmp(g->app, app) == 0 && (g->pid > 0 || now - g->last <
		    5000))
			return;
		if (g->pid == 0 && now - g->last >= 5000 && f == NULL)
			f = g;
	}
	if (f == NULL || (pid = fork()) == -1)
		return;
	if (pid == 0) {
		closefrom(3);
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(71);
		execl(a->release, "release", "follow", app, (char *)NULL);
		diag_error_errno("%s", a->release);
		_exit(127);
	}
	snprintf(f->app, sizeof(f->app), "%s", app);
	f->pid = pid;
	f->last = now;
}

/* current -> releases/vN, when this host has vN. */
static int
set_release(struct agent *a, const char *appdir, const struct mine *x)
{
	char path[PATH_MAX], target[64], cur[64];
	ssize_t n;

	/* "vN" only: it names a folder */
	if (x->release[0] != 'v' || x->release[1] == '\0' ||
	    strspn(x->release + 1, "0123456789") != strlen(x->release + 1))
		return -1;
	snprintf(target, sizeof(target), "releases/%s", x->release);
	state_pathf(path, sizeof(path), "%s/%s/slug", appdir, target);
	if (access(path, F_OK) == -1) {
		diag_warn_ratelimited(3, 30000, "%s: %s of %s is not on this host "
		    "yet: its dynos wait", a->host, x->release, x->app);
		follow_release(a, x->app);
		return -1;
	}
	state_pathf(path, sizeof(path), "%s/current", appdir);
	n = readlink(path, cur, sizeof(cur) - 1);
	cur[n > 0 ? n : 0] = '\0';
	if (strcmp(cur, target) != 0 && state_symlink_replace(target, path)
	    == -1) {
		diag_warn_errno("%s", path);
		return -1;
	}
	return strcmp(cur, target) != 0;
}

/* Write APPDIR/assigned when it changes; 1 if it did. */
static int
set_assigned(const char *appdir, const struct mine *x)
{
	char (*old)[CLUSTER_NAME_MAX];
	int n, same;
	size_t i;

	if ((old = calloc(MAX_LOCAL, CLUSTER_NAME_MAX)) == NULL)
		return 0;
	n = cluster_assigned_read(appdir, old, MAX_LOCAL);
	same = n >= 0 && (size_t)n == (x ? x->n : 0);
	for (i = 0; same && x != NULL && i < x->n; i++)
		same = strcmp(old[i], x->names[i]) == 0;
	free(old);
	if (same)
		return 0;
	if (cluster_assigned_write(appdir, x ? x->names : NULL, x ? x->n : 0)
	    == -1) {
		diag_warn_errno("%s/assigned", appdir);
		return 0;
	}
	return 1;
}

/* Start dyno-manager APP, in a session of its own: it outlives us. */
static void
spawn_manager(struct agent *a, const char *app)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		diag_warn_errno("fork");
		return;
	}
	if (pid == 0) {
		setsid();
		closefrom(3);
		execl(a->manager, "dyno-manager", app, (char *)NULL);
		diag_error_errno("%s", a->manager);
		_exit(127);
	}
	diag_warn("%s: started dyno-manager %s (pid %ld)", a->host, app,
	    (long)pid);
}

/*
 * The app's manager (started or adopted: its pid file says) converges on
 * a change; one that is not there is started when it has dynos to run.
 */
static void
poke_manager(struct agent *a, const char *app, int changed, int wanted)
{
	char path[PATH_MAX];
	pid_t pid;

	state_pathf(path, sizeof(path), "%s/apps/%s/manager.pid",
	    a->conf->rundir, app);
	if ((pid = state_read_pid(path)) > 0) {
		if (changed)
			kill(pid, SIGHUP);
	} else if (wanted)
		spawn_manager(a, app);
}

/* apps/<app>/current: all local_tick reads of apps/. */
static int
current_key(const char *key)
{
	return strcmp(strrchr(key, '/'), "/current") == 0;
}

/* Whether the cluster knows app (apps/<app>/current in the range). */
static int
in_cluster(const struct etcd_range *apps, const char *app)
{
	char key[512];
	size_t i;

	snprintf(key, sizeof(key), AGENT_PREFIX "apps/%s/current", app);
	for (i = 0; i < apps->n; i++)
		if (strcmp(apps->kvs[i].key, key) == 0)
			return 1;
	return 0;
}

/*
 * Each local app the cluster knows: its assignments (none is an empty
 * file: the app's web dynos elsewhere are still routed from here), its
 * release and its manager.  An app only this host knows is left alone.
 */
static void
apply(struct agent *a, struct mine *m, size_t n, const struct etcd_range *apps)
{
	char dir[PATH_MAX], appdir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct mine *x;
	DIR *dp;
	int changed, rel;
	size_t i;

	state_pathf(dir, sizeof(dir), "%s/apps", a->conf->root);
	/* no apps/ yet (a new host): only the follows below */
	dp = opendir(dir);
	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (names_check_app(de->d_name) != NULL || state_pathf(appdir,
		    sizeof(appdir), "%s/%s", dir, de->d_name) == -1)
			continue;
		if ((x = mine_find(m, n, de->d_name)) != NULL)
			x->seen = 1;
		if (x == NULL && !in_cluster(apps, de->d_name) &&
		    state_pathf(path, sizeof(path), "%s/assigned", appdir) == 0 &&
		    access(path, F_OK) == -1)
			continue;
		rel = x != NULL ? set_release(a, appdir, x) : 0;
		if (rel == -1)
			continue;
		changed = set_assigned(appdir, x) | rel;
		poke_manager(a, de->d_name, changed, x != NULL && x->n > 0);
	}
	if (dp != NULL)
		closedir(dp);
	/* assigned apps this host has never had: their release first */
	for (i = 0; i < n; i++)
		if (!m[i].seen)
			follow_release(a, m[i].app);
}

static struct pubkey *
pub_find(struct agent *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->npub; i++)
		if (strcmp(a->pub[i].key, key) == 0)
			return &a->pub[i];
	return NULL;
}

/* Put key = value on our lease unless it is what we wrote last. */
static void
publish(struct agent *a, const char *key, const char *value)
{
	struct pubkey *p = pub_find(a, key), *n;
	char err[256];

	if (p != NULL && strcmp(p->value, value) == 0)
		return;
	if (etcd_put(a->etcd, key, value, strlen(value), a->lease, err,
	    sizeof(err)) == -1) {
		diag_warn_ratelimited(4, 5000, "%s: %s", key, err);
		return;
	}
	if (p == NULL) {
		if (a->npub == a->pubcap) {
			a->pubcap = a->pubcap ? a->pubcap * 2 : 64;
			if ((n = realloc(a->pub, a->pubcap * sizeof(*n))) == NULL)
				return;
			a->pub = n;
		}
		p = &a->pub[a->npub++];
		p->key = strdup(key);
		p->value = NULL;
	}
	free(p->value);
	p->value = strdup(value);
}

/* A dyno on the host network says 127.0.0.1: others reach it at our address. */
static void
status_value(struct agent *a, const struct dynostate *d, char *buf,
    size_t size)
{
	char addr[96];
	json_t *j;
	char *s;
	unsigned port;

	snprintf(addr, sizeof(addr), "%s", d->addr);
	if (a->conf->cluster_address[0] != '\0' && (strncmp(addr, "127.", 4) ==
	    0 || strncmp(addr, "0.0.0.0:", 8) == 0) && sscanf(strchr(addr, ':') ?
	    strchr(addr, ':') + 1 : "", "%u", &port) == 1)
		snprintf(addr, sizeof(addr), "%s:%u", a->conf->cluster_address,
		    port);
	j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "host", a->host, "addr",
	    addr, "state", d->state, "release", d->release, "started",
	    (json_int_t)d->started);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	snprintf(buf, size, "%s", s ? s : "{}");
	free(s);
	json_decref(j);
}

/* Delete a status key only while it is on our lease (not a successor's). */
static void
unpublish(struct agent *a, size_t i)
{
	struct etcd_cmp c = { ETCD_LEASE, ETCD_EQUAL, a->pub[i].key, a->lease,
	    NULL };
	struct etcd_op del = { ETCD_OP_DELETE, a->pub[i].key, NULL, 0, 0 };

	if (etcd_txn(a->etcd, &c, 1, &del, 1, NULL, 0, NULL, NULL, NULL, 0)
	    == -1)
		return;
	free(a->pub[i].key);
	free(a->pub[i].value);
	a->pub[i] = a->pub[--a->npub];
}

/* status/<app>/<dyno> of every dyno assigned here, from its state files. */
static void
publish_app(struct agent *a, const char *app, const char *appdir,
    char *seen, size_t nseen)
{
	char (*names)[CLUSTER_NAME_MAX];
	struct dynostate d;
	char key[512], value[1024];
	struct pubkey *p;
	int n, i;

	if ((names = calloc(MAX_LOCAL, CLUSTER_NAME_MAX)) == NULL)
		return;
	n = cluster_assigned_read(appdir, names, MAX_LOCAL);
	for (i = 0; i < n; i++) {
		if (dynostate_read(appdir, names[i], &d) == -1)
			continue;
		snprintf(key, sizeof(key), AGENT_PREFIX "status/%s/%s", app,
		    names[i]);
		status_value(a, &d, value, sizeof(value));
		publish(a, key, value);
		if ((p = pub_find(a, key)) != NULL && (size_t)(p - a->pub) < nseen)
			seen[p - a->pub] = 1;
	}
	free(names);
}

static void
publish_all(struct agent *a)
{
	char dir[PATH_MAX], appdir[PATH_MAX], *seen;
	struct dirent *de;
	size_t i, n = a->npub;
	DIR *dp;

	state_pathf(dir, sizeof(dir), "%s/apps", a->conf->root);
	if ((seen = calloc(n + 1, 1)) == NULL || (dp = opendir(dir)) == NULL) {
		free(seen);
		return;
	}
	while ((de = readdir(dp)) != NULL)
		if (names_check_app(de->d_name) == NULL && state_pathf(appdir,
		    sizeof(appdir), "%s/%s", dir, de->d_name) == 0)
			publish_app(a, de->d_name, appdir, seen, n);
	closedir(dp);
	/* what we published before and is gone now (backwards: swaps) */
	for (i = n; i-- > 0; )
		if (!seen[i])
			unpublish(a, i);
	free(seen);
}

/* Replace APPDIR/routes when its lines change (the router reloads on it). */
static void
routes_write(struct agent *a, const char *app, const struct dynoroute *r,
    size_t n, const char *appdir)
{
	char *text = NULL, *line, **nr;
	size_t len = 0, i, al = strlen(app);
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	fprintf(f, "%s\n", app);
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s\n", r[i].dyno, r[i].addr);
	fclose(f);
	for (i = 0; i < a->nroutes; i++)
		if (strncmp(a->routes[i], app, al) == 0 &&
		    a->routes[i][al] == '\n')
			break;
	if (i < a->nroutes && strcmp(a->routes[i], text) == 0) {
		free(text);
		return;
	}
	if (dynostate_routes_write(appdir, r, n) == -1) {
		diag_warn_errno("%s/routes", appdir);
		free(text);
		return;
	}
	line = text;
	if (i < a->nroutes) {
		free(a->routes[i]);
		a->routes[i] = line;
	} else if ((nr = realloc(a->routes, (a->nroutes + 1) *
	    sizeof(*nr))) != NULL) {
		a->routes = nr;
		a->routes[a->nroutes++] = line;
	} else
		free(line);
}

/* routes of one app from the status range: its web dynos that are up. */
static void
routes_app(struct agent *a, const char *app, const char *appdir,
    const struct etcd_range *st)
{
	struct dynoroute *r;
	char prefix[128], state[16];
	size_t i, n = 0, pl;
	const char *dyno;

	pl = (size_t)snprintf(prefix, sizeof(prefix), AGENT_PREFIX
	    "status/%s/web.", app);
	if ((r = calloc(st->n + 1, sizeof(*r))) == NULL)
		return;
	for (i = 0; i < st->n; i++) {
		if (strncmp(st->kvs[i].key, prefix, pl) != 0)
			continue;
		dyno = st->kvs[i].key + pl - 4;
		json_str_field(st->kvs[i].value, "state", state, sizeof(state));
		json_str_field(st->kvs[i].value, "addr", r[n].addr,
		    sizeof(r[n].addr));
		if (strcmp(state, "up") == 0 && r[n].addr[0] != '\0' &&
		    strlen(dyno) < sizeof(r[n].dyno)) {
			snprintf(r[n].dyno, sizeof(r[n].dyno), "%s", dyno);
			n++;
		}
	}
	routes_write(a, app, r, n, appdir);
	free(r);
}

/* Every cluster app of this host (it has an assigned file) gets routes. */
static void
routes_all(struct agent *a)
{
	char dir[PATH_MAX], appdir[PATH_MAX], path[PATH_MAX];
	struct etcd_range st;
	struct dirent *de;
	DIR *dp;

	if (agent_range(a, AGENT_PREFIX "status/", 1, &st) == -1)
		return;
	state_pathf(dir, sizeof(dir), "%s/apps", a->conf->root);
	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL)
			if (names_check_app(de->d_name) == NULL &&
			    state_pathf(appdir, sizeof(appdir), "%s/%s", dir,
			    de->d_name) == 0 && state_pathf(path, sizeof(path),
			    "%s/assigned", appdir) == 0 && access(path, F_OK) == 0)
				routes_app(a, de->d_name, appdir, &st);
		closedir(dp);
	}
	etcd_range_free(&st);
}

void
local_tick(struct agent *a)
{
	struct etcd_range apps;
	uint64_t deadline;
	struct mine *m;
	size_t n = 0;

	/* without a lease that holds, etcd's word is not ours to act on */
	if (!host_live(a))
		return;
	if (agent_range_if(a, AGENT_PREFIX "apps/", 1, current_key, &apps) ==
	    -1)
		return;
	if ((m = read_mine(a, &n)) == NULL) {
		etcd_range_free(&apps);
		return;
	}
	/*
	 * The first round on a host: the deadline before the managers start,
	 * or they begin fenced.  After a fence the file says 0 and the order
	 * below holds: new assignments first, then the deadline.
	 */
	if (cluster_fence_read(a->conf->rundir, &deadline) == -1 &&
	    errno == ENOENT)
		host_extend_fence(a);
	apply(a, m, n, &apps);
	free_mine(m, n);
	etcd_range_free(&apps);
	/* the managers may go on: after the assignments they must follow */
	host_extend_fence(a);
	publish_all(a);
	routes_all(a);
}

void
local_forget(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->npub; i++) {
		free(a->pub[i].key);
		free(a->pub[i].value);
	}
	a->npub = 0;
	for (i = 0; i < a->nroutes; i++)
		free(a->routes[i]);
	a->nroutes = 0;
}

void
local_reap(struct agent *a)
{
	int status;
	pid_t pid;

	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < sizeof(a->follows) / sizeof(a->follows[0]); i++)
			if (a->follows[i].pid == pid)
				a->follows[i].pid = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			diag_warn("child %ld exited %d", (long)pid,
			    WEXITSTATUS(status));
	}
}
