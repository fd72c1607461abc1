/* SPDX-License-Identifier: ISC */
/* dyno-manager scale and ps: change the formation, show the dynos. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "diag.h"
#include "dynostate.h"
#include "etcd.h"
#include "logclient.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "dyno-manager.h"

/* One scale argument: TYPE=N, TYPE+N, TYPE-N, each with an optional
 * :SIZE, or TYPE=SIZE / TYPE:SIZE to change only the size. */
struct change {
	char		 type[64];
	char		 op;		/* '=', '+', '-', or 0 for size only */
	unsigned	 n;
	char		 size[CONF_NAME_MAX];
};

static int
parse_size(const struct conf *conf, const char *s, struct change *c)
{
	const struct dyno_size *ds = conf_size(conf, s);
	size_t i;

	if (ds == NULL) {
		diag_error("\"%s\": unknown dyno size", s);
		return -1;
	}
	for (i = 0; ds->name[i] != '\0' && i + 1 < sizeof(c->size); i++)
		c->size[i] = (char)tolower((unsigned char)ds->name[i]);
	c->size[i] = '\0';
	return 0;
}

static int
parse_change(const struct conf *conf, const char *arg, struct change *c)
{
	size_t tl = strcspn(arg, "=+-:");
	const char *rest = arg + tl, *colon;
	char num[32];

	memset(c, 0, sizeof(*c));
	if (tl == 0 || tl >= sizeof(c->type) || *rest == '\0')
		goto usage;
	memcpy(c->type, arg, tl);
	if (*rest == ':')
		return parse_size(conf, rest + 1, c);
	c->op = *rest++;
	colon = strchr(rest, ':');
	snprintf(num, sizeof(num), "%.*s", colon ? (int)(colon - rest) :
	    (int)strlen(rest), rest);
	if (c->op == '=' && num[0] != '\0' && !isdigit((unsigned char)num[0])) {
		c->op = 0;	/* web=standard-2x: the size alone */
		return parse_size(conf, num, c);
	}
	/* any count parses; apply_change() names the limit it passes */
	if (num_parse_uint(num, 0, 1000000, &c->n) == -1)
		goto usage;
	if (colon != NULL)
		return parse_size(conf, colon + 1, c);
	return 0;
usage:
	diag_error("\"%s\": expected TYPE=COUNT, TYPE+N, TYPE-N or TYPE=SIZE, "
	    "with an optional :SIZE", arg);
	return -1;
}

static int
apply_change(const struct conf *conf, const struct app *app,
    struct formation *f, const struct change *c)
{
	struct ftype *t = formation_find(f, c->type);
	unsigned count;

	if (procfile_find(&app->pf, c->type) == NULL || strcmp(c->type,
	    "release") == 0) {
		diag_error("%s: no process type \"%s\" in the Procfile of %s",
		    app->name, c->type, app->version);
		return -1;
	}
	if (t == NULL) {
		if (f->n == FORMATION_MAX_TYPES)
			return -1;
		t = &f->t[f->n++];
		memset(t, 0, sizeof(*t));
		snprintf(t->type, sizeof(t->type), "%s", c->type);
	}
	count = t->count;
	if (c->op == '=')
		count = c->n;
	else if (c->op == '+')
		count += c->n;
	else if (c->op == '-')
		count = c->n > count ? 0 : count - c->n;
	if (count > conf->max_dynos) {
		diag_error("%s: %s=%u: at most %u dynos per app (max_dynos in "
		    "dyno.conf)", app->name, c->type, count, conf->max_dynos);
		return -1;
	}
	t->count = count;
	if (c->size[0] != '\0')
		snprintf(t->size, sizeof(t->size), "%s", c->size);
	return 0;
}

static const char *
unix_user(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "unknown";
}

/* Tell the running manager, if any, to converge. */
static void
hup_manager(const struct app *app)
{
	char path[PATH_MAX];
	pid_t pid;

	state_pathf(path, sizeof(path), "%s/manager.pid", app->rundir);
	if ((pid = state_read_pid(path)) > 0 && kill(pid, SIGHUP) == -1)
		diag_warn_errno("%s: cannot signal the manager (pid %ld)",
		    app->name, (long)pid);
}

static int
total_dynos(const struct formation *f)
{
	unsigned i, total = 0;

	for (i = 0; i < f->n; i++)
		total += f->t[i].count;
	return (int)total;
}

/* Apply every change under the app lock, then write the formation once. */
static int
scale_locked(const struct conf *conf, struct app *app, int argc, char **argv)
{
	char path[PATH_MAX], err[512], desc[2048];
	struct formation f;
	struct change c;
	struct logclient *lc;
	int64_t rev = 0;
	int i, cluster = conf->cluster_etcd[0] != '\0';

	state_pathf(path, sizeof(path), "%s/formation", app->dir);
	if (formation_read(path, &f, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_DATAERR;
	}
	/* a cluster's formation is etcd's: any host may have scaled */
	if (cluster && cluster_formation_load(conf, app->name, &f, &rev) == -1)
		return EXIT_UNAVAILABLE;
	for (i = 0; i < argc; i++)
		if (parse_change(conf, argv[i], &c) == -1 ||
		    apply_change(conf, app, &f, &c) == -1)
			return EXIT_USAGE;
	if (total_dynos(&f) > (int)conf->max_dynos) {
		diag_error("%s: %d dynos: at most %u dynos per app (max_dynos in "
		    "dyno.conf)", app->name, total_dynos(&f), conf->max_dynos);
		return EXIT_USAGE;
	}
	if (cluster && cluster_formation_store(conf, app->name, &f, rev) == -1)
		return EXIT_UNAVAILABLE;
	if (formation_write(path, &f) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	formation_describe(&f, app, conf, desc, sizeof(desc));
	lc = logclient_open(conf->rundir);
	logclient_set_quiet(lc, 1);
	logclient_sendf(lc, app->name, "app", "api", "Scaled to %s by user %s",
	    desc, unix_user());
	logclient_close(lc);
	printf("Scaled %s to %s\n", app->name, desc);
	hup_manager(app);
	return 0;
}

int
scale_main(const struct conf *conf, int argc, char **argv)
{
	char lockpath[PATH_MAX];
	struct app app;
	int rc, fd;

	if (argc < 3) {
		diag_error("usage: dyno-manager scale APP TYPE=COUNT[:SIZE] ...");
		return EXIT_USAGE;
	}
	if ((rc = app_load(conf, argv[1], &app)) != 0)
		return rc;
	state_pathf(lockpath, sizeof(lockpath), "%s/lock", app.dir);
	if ((fd = state_lock(lockpath, 1)) == -1) {
		diag_error_errno("%s", lockpath);
		app_free(&app);
		return EXIT_TEMPFAIL;
	}
	rc = scale_locked(conf, &app, argc - 2, argv + 2);
	close(fd);
	app_free(&app);
	return rc;
}

/* One dyno's line of ps: "web.1: up 2026/11/22 10:00:00 +0000 (~ 6m ago)",
 * malloc'd. */
static char *
ps_line(const struct dynostate *ds)
{
	char when[64], age[32], *s;
	time_t t = (time_t)ds->started;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S +0000", &tm);
	num_format_duration((uint64_t)(time(NULL) - t) * 1000, age, sizeof(age));
	return asprintf(&s, "%s: %s %s (~ %s ago)", ds->name, ds->state, when,
	    age) == -1 ? NULL : s;
}

static void
ps_dyno(const struct dynostate *ds)
{
	char *line = ps_line(ds);

	if (line != NULL)
		printf("%s\n", line);
	free(line);
}

/* Natural order of dyno names (run.2 before run.10), for qsort. */
static int
cmp_dyno(const void *a, const void *b)
{
	return dynostate_cmp(*(char *const *)a, *(char *const *)b);
}

/* "standard-1x" as Heroku shows it: "Standard-1X". */
static void
size_display(char *sz, size_t size, const char *name)
{
	size_t i;

	snprintf(sz, size, "%s", name);
	for (i = 0; sz[i] != '\0'; i++)
		if (i == 0 || sz[i - 1] == '-' || isdigit((unsigned char)sz[i - 1]))
			sz[i] = (char)toupper((unsigned char)sz[i]);
}

/* A cluster's dynos of one type from status/: each with its host. */
static void
ps_cluster(const struct app *app, const char *type,
    const struct etcd_range *st)
{
	char prefix[256], *line;
	size_t i, pl;
	struct dynostate ds;
	json_t *j;

	pl = (size_t)snprintf(prefix, sizeof(prefix), "/dyno/status/%s/%s.",
	    app->name, type);
	for (i = 0; i < st->n; i++) {
		if (strncmp(st->kvs[i].key, prefix, pl) != 0 ||
		    (j = json_loads(st->kvs[i].value, 0, NULL)) == NULL)
			continue;
		memset(&ds, 0, sizeof(ds));
		snprintf(ds.name, sizeof(ds.name), "%s", strrchr(st->kvs[i].key,
		    '/') + 1);
		snprintf(ds.state, sizeof(ds.state), "%s", json_string_value(
		    json_object_get(j, "state")) ?: "unknown");
		ds.started = json_integer_value(json_object_get(j, "started"));
		if ((line = ps_line(&ds)) != NULL)
			printf("%s on %s\n", line, json_string_value(
			    json_object_get(j, "host")) ?: "?");
		free(line);
		json_decref(j);
	}
}

/* The dynos of one type, in natural order (dyno-state(5)). */
static void
ps_type(const struct app *app, const struct ftype *t, const char *command,
    const struct etcd_range *st)
{
	struct dynostate *ds;
	char sz[CONF_NAME_MAX];
	size_t n, i;

	size_display(sz, sizeof(sz), t->size[0] ? t->size : app->size);
	printf("=== %s (%s): %s (%u)\n", t->type, sz, command, t->count);
	if (st != NULL) {
		ps_cluster(app, t->type, st);
		return;
	}
	if ((ds = calloc(FORMATION_MAX_DYNOS * 2, sizeof(*ds))) == NULL)
		return;
	n = dynostate_list(app->dir, t->type, ds, FORMATION_MAX_DYNOS * 2);
	for (i = 0; i < n; i++)
		ps_dyno(&ds[i]);
	free(ds);
}

/* A field "key=value" of a one-off dyno's entry, or "". */
static void
field(const char *text, const char *key, char *out, size_t size)
{
	const char *p;
	size_t kl = strlen(key);

	out[0] = '\0';
	for (p = text; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p, "\n")]
	    != '\0'))
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			snprintf(out, size, "%.*s", (int)strcspn(p + kl + 1, "\n"),
			    p + kl + 1);
			return;
		}
}

/* Is pid a live dyno-run (not a stale entry whose pid was reused)? */
static int
live_dynorun(const char *pid)
{
	char path[64], *comm;
	int ok;

	if (atol(pid) <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", atol(pid));
	if (state_read(path, 64, &comm, NULL) == -1)
		return 0;
	ok = strncmp(comm, "dyno-run", 8) == 0;
	free(comm);
	return ok;
}

/* One line per running one-off dyno, as heroku ps; returns how many. */
static unsigned
ps_oneoff_lines(const char *dir, char **names, size_t n, int print)
{
	char path[PATH_MAX], *text, v[8192], st[32], sz[CONF_NAME_MAX], when[64];
	char age[32], pid[32];
	unsigned shown = 0;
	time_t t;
	struct tm tm;
	size_t i;

	for (i = 0; i < n; i++) {
		if (state_pathf(path, sizeof(path), "%s/%s", dir, names[i]) ==
		    -1 || state_read(path, 16384, &text, NULL) == -1)
			continue;
		field(text, "pid", pid, sizeof(pid));
		if (live_dynorun(pid) && ++shown && print) {
			field(text, "state", st, sizeof(st));
			field(text, "size", v, sizeof(v));
			size_display(sz, sizeof(sz), v);
			field(text, "started", v, sizeof(v));
			t = (time_t)atoll(v);
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S +0000", &tm);
			num_format_duration((uint64_t)(time(NULL) - t) * 1000, age,
			    sizeof(age));
			field(text, "command", v, sizeof(v));
			printf("%s (%s): %s %s (~ %s ago): %s\n", names[i], sz, st,
			    when, age, v);
		}
		free(text);
	}
	return shown;
}

/* heroku ps's "=== run: one-off processes (N)" section; how many. */
static unsigned
ps_oneoff(const struct conf *conf, const struct app *app, int sep)
{
	char dir[PATH_MAX], *names[256];
	struct dirent *de;
	unsigned shown;
	size_t n = 0, i;
	DIR *d;

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s/oneoff", conf->rundir,
	    app->name) == -1 || (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < 256)
		if (strncmp(de->d_name, "run.", 4) == 0 &&
		    names_check_dyno(de->d_name, NULL, NULL) == NULL)
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (i = 0; i < n; i++)
		if (names[i] == NULL)
			names[i--] = names[--n];
	qsort(names, n, sizeof(names[0]), cmp_dyno);
	if ((shown = ps_oneoff_lines(dir, names, n, 0)) > 0) {
		printf("%s=== run: one-off processes (%u)\n", sep ? "\n" : "",
		    shown);
		ps_oneoff_lines(dir, names, n, 1);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return shown;
}

int
ps_main(const struct conf *conf, int argc, char **argv)
{
	char path[PATH_MAX], err[512];
	const struct procfile_entry *e;
	struct formation f;
	struct etcd_range st = { 0 };
	struct app app;
	unsigned i, shown = 0;
	int64_t rev;
	int rc, cluster = conf->cluster_etcd[0] != '\0';

	if (argc != 2) {
		diag_error("usage: dyno-manager ps APP");
		return EXIT_USAGE;
	}
	if ((rc = app_load(conf, argv[1], &app)) != 0)
		return rc;
	state_pathf(path, sizeof(path), "%s/formation", app.dir);
	if (formation_read(path, &f, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		app_free(&app);
		return EXIT_DATAERR;
	}
	if (cluster && (cluster_formation_load(conf, app.name, &f, &rev) == -1 ||
	    cluster_status(conf, app.name, &st) == -1)) {
		app_free(&app);
		return EXIT_UNAVAILABLE;
	}
	for (i = 0; i < f.n; i++) {
		if (f.t[i].count == 0 ||
		    (e = procfile_find(&app.pf, f.t[i].type)) == NULL)
			continue;
		if (shown++)
			printf("\n");
		ps_type(&app, &f.t[i], e->command, cluster ? &st : NULL);
	}
	shown += ps_oneoff(conf, &app, shown > 0);
	if (shown == 0)
		printf("No dynos on %s\n", app.name);
	etcd_range_free(&st);
	app_free(&app);
	return 0;
}
