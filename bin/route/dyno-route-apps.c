/* SPDX-License-Identifier: ISC */
/* dyno-route: which app answers a Host, and where its up web dynos listen. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "appconf.h"
#include "diag.h"
#include "dynostate.h"
#include "dyno-route.h"
#include "names.h"
#include "state.h"

#define FILE_MAX	(1024 * 1024)

/*
 * Apps and upstreams are never freed while the worker runs: a request in
 * flight keeps pointers to both, so a reload updates them in place and
 * only flips `present` and the route list.  Both sets stay small.
 */
struct apps {
	char		 top[PATH_MAX];		/* DYNO_ROOT */
	char		 root[PATH_MAX];	/* DYNO_ROOT/apps */
	int		 ifd;			/* inotify */
	struct app	**v;
	size_t		 n;
	struct upstream	**ups;
	size_t		 nups;
};

struct apps *
apps_open(const char *root, char *err, size_t errlen)
{
	struct apps *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (state_pathf(a->top, sizeof(a->top), "%s", root) == -1 ||
	    state_pathf(a->root, sizeof(a->root), "%s/apps", root) == -1 ||
	    (a->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s/apps: %s", root, strerror(errno));
		free(a);
		return NULL;
	}
	/* The manager may not have made it yet; watching needs it to exist. */
	(void)state_mkdirs(a->root, 0755);
	if (apps_reload(a, err, errlen) == -1) {
		apps_close(a);
		return NULL;
	}
	return a;
}

void
apps_close(struct apps *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->v[i]->hosts);
		free(a->v[i]->routes);
		certstore_domains_free(&a->v[i]->domains);
		free(a->v[i]);
	}
	for (i = 0; i < a->nups; i++)
		free(a->ups[i]);
	free(a->v);
	free(a->ups);
	close(a->ifd);
	free(a);
}

int
apps_fd(struct apps *a)
{
	return a->ifd;
}

int
apps_drain(struct apps *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;

	while (read(a->ifd, buf, sizeof(buf)) > 0)
		changed = 1;
	return changed;
}

/* The upstream for "ADDR:PORT", made on first use. */
static struct upstream *
upstream_get(struct apps *a, const char *name)
{
	struct addrinfo hints, *res;
	struct upstream *u, **nv;
	char host[64], *port;
	size_t i;

	for (i = 0; i < a->nups; i++)
		if (strcmp(a->ups[i]->name, name) == 0)
			return a->ups[i];
	if (strlen(name) >= sizeof(host) || strchr(name, ':') == NULL)
		return NULL;
	snprintf(host, sizeof(host), "%s", name[0] == '[' ? name + 1 : name);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (name[0] == '[' && port - host >= 2 && port[-2] == ']')
		port[-2] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return NULL;
	u = calloc(1, sizeof(*u));
	nv = reallocarray(a->ups, a->nups + 1, sizeof(*nv));
	if (u == NULL || nv == NULL) {
		free(u);
		freeaddrinfo(res);
		if (nv != NULL)
			a->ups = nv;
		return NULL;
	}
	memcpy(&u->sa, res->ai_addr, res->ai_addrlen);
	u->salen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(u->name, sizeof(u->name), "%s", name);
	a->ups = nv;
	a->ups[a->nups++] = u;
	return u;
}

/* Add one host name (lowercased) to the app's NUL-separated list. */
static void
add_host(struct app *app, const char *h, size_t n)
{
	char *nh;
	size_t i;

	if (n == 0 || (nh = realloc(app->hosts, app->hostslen + n + 1)) == NULL)
		return;
	for (i = 0; i < n; i++)
		nh[app->hostslen + i] = (char)tolower((unsigned char)h[i]);
	nh[app->hostslen + n] = '\0';
	app->hosts = nh;
	app->hostslen += n + 1;
}

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	diag_warn("%s", msg);
}

/* Host names and maintenance mode from a parsed app.conf. */
static void
apply_appconf(struct app *app, const struct appconf *ac)
{
	const char *p = ac->hostnames;
	char def[64];
	size_t n;

	free(app->hosts);
	app->hosts = NULL;
	app->hostslen = 0;
	snprintf(def, sizeof(def), "%s.localhost", app->name);
	add_host(app, def, strlen(def));
	for (p += strspn(p, " \t,"); *p != '\0'; p += strspn(p, " \t,")) {
		n = strcspn(p, " \t,");
		add_host(app, p, n);
		p += n;
	}
	for (n = 0; n < app->domains.n; n++)
		add_host(app, app->domains.v[n], strlen(app->domains.v[n]));
	app->maintenance = ac->maintenance;
}

/* FNV-1a of the text, 0 for no file: has app.conf changed? */
static uint64_t
text_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * app.conf, by lib/appconf's policy, when its text changed since the last
 * read: routes, beside it, changes far more often, and a warning is said
 * once.  A broken one changes nothing: the app keeps what it had, or its
 * defaults.
 */
static void
read_appconf(struct app *app, const char *dir)
{
	char path[PATH_MAX], err[PATH_MAX + 256], *text = NULL;
	struct appconf ac;
	size_t len = 0;
	uint64_t h;
	int rc = 0;

	if (state_pathf(path, sizeof(path), "%s/%s", dir, APPCONF_FILE) == -1)
		return;
	if (state_read(path, APPCONF_FILE_MAX, &text, &len) == -1 &&
	    errno != ENOENT) {
		rc = -1;
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
	}
	h = text_hash(text, len);
	if (rc == 0 && app->hosts != NULL && h == app->conf_hash)
		goto out;
	app->conf_hash = h;
	if (rc == 0)
		rc = appconf_parse(path, text != NULL ? text : "", len, &ac,
		    warn_cb, NULL, err, sizeof(err));
	if (rc == 0)
		apply_appconf(app, &ac);
	else {
		diag_warn("%s; %s keeps its %s", err, app->name,
		    app->hosts != NULL ? "settings" : "defaults");
		appconf_init(&ac);
		if (app->hosts == NULL)
			apply_appconf(app, &ac);
	}
out:
	free(text);
}

/* "DYNO ADDR:PORT" lines; bad lines are skipped with a warning. */
static void
read_routes(struct apps *a, struct app *app, const char *dir)
{
	char path[PATH_MAX], *data, *line, *save;
	struct route *r = NULL, *nr;
	struct dynoroute dr;
	unsigned n = 0;

	if (state_pathf(path, sizeof(path), "%s/routes", dir) == -1 ||
	    state_read(path, FILE_MAX, &data, NULL) == -1)
		goto out;
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct upstream *u;

		if (dynostate_route_parse(line, &dr) == -1 ||
		    (u = upstream_get(a, dr.addr)) == NULL) {
			diag_warn("%s: bad line: %.80s", path, line);
			continue;
		}
		if ((nr = reallocarray(r, n + 1, sizeof(*r))) == NULL)
			break;
		r = nr;
		snprintf(r[n].dyno, sizeof(r[n].dyno), "%s", dr.dyno);
		r[n++].up = u;
	}
	free(data);
out:
	free(app->routes);
	app->routes = r;
	app->nroutes = n;
}

static struct app *
app_get(struct apps *a, const char *name)
{
	struct app *app, **nv;
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i]->name, name) == 0)
			return a->v[i];
	if ((app = calloc(1, sizeof(*app))) == NULL)
		return NULL;
	if ((nv = reallocarray(a->v, a->n + 1, sizeof(*nv))) == NULL) {
		free(app);
		return NULL;
	}
	snprintf(app->name, sizeof(app->name), "%s", name);
	a->v = nv;
	a->v[a->n++] = app;
	return app;
}

/* Whether two domain lists differ. */
static int
domains_differ(const struct certstore_domains *x,
    const struct certstore_domains *y)
{
	size_t i;

	if (x->n != y->n)
		return 1;
	for (i = 0; i < x->n; i++)
		if (strcmp(x->v[i], y->v[i]) != 0)
			return 1;
	return 0;
}

/*
 * The app's custom domains (lib/certstore checks every line); a change
 * makes read_appconf build the host names again, the domains with them.
 * An unreadable file keeps the domains the app had.
 */
static void
read_domains(struct apps *a, struct app *app)
{
	struct certstore_domains d;
	char err[PATH_MAX + 256];

	if (certstore_domains_read(a->top, app->name, &d, err,
	    sizeof(err)) == -1) {
		diag_warn("%s; %s keeps its domains", err, app->name);
		return;
	}
	if (!domains_differ(&d, &app->domains)) {
		certstore_domains_free(&d);
		return;
	}
	certstore_domains_free(&app->domains);
	app->domains = d;
	free(app->hosts);
	app->hosts = NULL;
	app->hostslen = 0;
}

/*
 * Watch the app's folder: routes, app.conf and domains are renamed into
 * it; and its certs folder, where certificate folders are.
 */
static void
load_app(struct apps *a, const char *name)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct app *app;

	if (state_pathf(dir, sizeof(dir), "%s/%s", a->root, name) == -1 ||
	    (app = app_get(a, name)) == NULL)
		return;
	(void)inotify_add_watch(a->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ONLYDIR);
	if (state_pathf(sub, sizeof(sub), "%s/%s", dir,
	    CERTSTORE_CERTS_DIR) == 0)
		(void)inotify_add_watch(a->ifd, sub, IN_MOVED_TO |
		    IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ONLYDIR |
		    IN_DONT_FOLLOW);
	read_domains(a, app);
	read_appconf(app, dir);
	read_routes(a, app, dir);
	app->present = 1;
}

int
apps_reload(struct apps *a, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	size_t i;

	(void)inotify_add_watch(a->ifd, a->root, IN_CREATE | IN_DELETE |
	    IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR);
	if ((d = opendir(a->root)) == NULL) {
		if (errno == ENOENT) {
			for (i = 0; i < a->n; i++)
				a->v[i]->present = 0;
			return 0;
		}
		snprintf(err, errlen, "%s: %s", a->root, strerror(errno));
		return -1;
	}
	for (i = 0; i < a->n; i++)
		a->v[i]->present = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || names_check_app(de->d_name) != NULL)
			continue;
		load_app(a, de->d_name);
	}
	closedir(d);
	return 0;
}

/* The host part of a Host header, without port or trailing dot. */
static size_t
host_only(const char *h, size_t n)
{
	size_t i;

	if (n > 0 && h[0] == '[') {
		const char *e = memchr(h, ']', n);
		return e ? (size_t)(e - h) + 1 : n;
	}
	for (i = 0; i < n; i++)
		if (h[i] == ':')
			break;
	if (i > 0 && h[i - 1] == '.')
		i--;
	return i;
}

/* Whether a host name of an app is h: equal, or a "*." domain's label. */
static int
host_match(const char *p, size_t n, const char *h, size_t len,
    int wildcard)
{
	char buf[CERTSTORE_DOMAIN_MAX + 1];

	if (!wildcard)
		return n == len && strncasecmp(p, h, len) == 0;
	if (n < 3 || p[0] != '*' || len >= sizeof(buf))
		return 0;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return certstore_covers(p, buf);
}

/* An exact name in any app before a wildcard domain. */
struct app *
apps_lookup(struct apps *a, const char *host, size_t len)
{
	struct app *app;
	const char *p;
	size_t i, n;
	int wild;

	len = host_only(host, len);
	for (wild = 0; wild < 2; wild++)
		for (i = 0; i < a->n; i++) {
			if (!(app = a->v[i])->present)
				continue;
			for (p = app->hosts; p < app->hosts + app->hostslen;
			    p += n + 1) {
				n = strlen(p);
				if (host_match(p, n, host, len, wild))
					return app;
			}
		}
	return NULL;
}

/* Count the app's web dynos whose state file says st1 or st2. */
static int
count_web(struct apps *a, const struct app *app, const char *st1,
    const char *st2)
{
	char dir[PATH_MAX];
	struct dynostate ds[128];	/* a formation has at most 100 */
	size_t n, i;
	int c = 0;

	if (state_pathf(dir, sizeof(dir), "%s/%s", a->root, app->name) == -1)
		return 0;
	n = dynostate_list(dir, "web", ds, sizeof(ds) / sizeof(ds[0]));
	for (i = 0; i < n; i++)
		if (strcmp(ds[i].state, st1) == 0 || strcmp(ds[i].state, st2) == 0)
			c++;
	return c;
}

int
apps_crashed(struct apps *a, const struct app *app)
{
	return count_web(a, app, "crashed", "crashed") > 0 &&
	    count_web(a, app, "up", "starting") == 0;
}

int
apps_booting(struct apps *a, const struct app *app)
{
	return count_web(a, app, "starting", "starting") > 0;
}

void
apps_dump(struct apps *a)
{
	struct app *app;
	size_t i;
	unsigned j;

	for (i = 0; i < a->n; i++) {
		if (!(app = a->v[i])->present)
			continue;
		fprintf(stderr, "%s: app %s: %u routes, %u in flight\n",
		    diag_prog(), app->name, app->nroutes, app->inflight);
		for (j = 0; j < app->nroutes; j++)
			fprintf(stderr, "%s:   %s %s idle=%u%s\n", diag_prog(),
			    app->routes[j].dyno, app->routes[j].up->name,
			    app->routes[j].up->nidle,
			    app->routes[j].up->quarantined_until ?
			    " quarantined" : "");
	}
}

struct app **
apps_list(struct apps *a, size_t *n)
{
	*n = a->n;
	return a->v;
}

struct upstream **
apps_upstreams(struct apps *a, size_t *n)
{
	*n = a->nups;
	return a->ups;
}
