/* SPDX-License-Identifier: ISC */
/* dyno-cycle: restart dynos, or cycle the old ones daily, through the manager. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "dynostate.h"
#include "names.h"
#include "num.h"
#include "state.h"

#define MAX_DYNOS	256
#define POLL_US		100000
/*
 * A worker is "up" as soon as it starts: one that crashes a moment later
 * (a bad config var) must be named, not reported up.  Up means up and
 * still up this long after.
 */
#define SETTLE_MS	1500

struct opts {
	int		 daily, all_apps, dry_run, wait, rolling;
	uint64_t	 max_age_ms, jitter_ms, timeout_ms;
};

static const struct conf *conf;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dyno-cycle [--wait] [--rolling] [--timeout DURATION] [--dry-run]\n"
	    "                  APP [DYNO|TYPE ...]\n"
	    "       dyno-cycle --daily [-v] [--dry-run] [--max-age DURATION]\n"
	    "                  [--jitter DURATION] APP ... | --all-apps\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\noptions:\n"
	    "  -a, --all-apps          with --daily: every app under DYNO_ROOT\n"
	    "  -D, --daily             cycle the dynos older than max-age + jitter\n"
	    "  -n, --dry-run           print what would be cycled and why\n"
	    "  -j, --jitter=DURATION   random extra age per dyno (default 216m)\n"
	    "  -m, --max-age=DURATION  age before a dyno is cycled (default 24h)\n"
	    "  -r, --rolling           one dyno at a time, each up before the next\n"
	    "  -t, --timeout=DURATION  how long --wait waits (default 5m)\n"
	    "  -v, --verbose           say which dyno --daily cycles, and which\n"
	    "                          apps --all-apps skips (no manager)\n"
	    "  -w, --wait              wait until each restarted dyno is up again\n"
	    "  -h, --help              this text\n");
}

static int
read_small(const char *path, char *buf, size_t size)
{
	char *text;

	if (state_read(path, 256, &text, NULL) == -1)
		return -1;
	snprintf(buf, size, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	return 0;
}

/* One dyno's state files (dyno-state(5)). */
static int
dyno_read(const char *app, const char *name, struct dynostate *di)
{
	char dir[PATH_MAX];

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s", conf->root, app) == -1)
		return -1;
	return dynostate_read(dir, name, di);
}

/* Every dyno of an app, in natural order (web.2 before web.10). */
static size_t
dynos_list(const char *app, struct dynostate *out, size_t max)
{
	char dir[PATH_MAX];

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s", conf->root, app) == -1)
		return 0;
	return dynostate_list(dir, NULL, out, max);
}

/* The app's manager: its pid, or 0 (no manager) or -1 (no app) after
 * saying why there is none; `quiet`: "no manager" said only with -v. */
static pid_t
manager_of(const char *app, int quiet)
{
	void (*say_none)(const char *, ...) = quiet ? diag_verbose : diag_error;
	char path[PATH_MAX], dir[PATH_MAX];
	pid_t pid;

	state_pathf(dir, sizeof(dir), "%s/apps/%s", conf->root, app);
	if (access(dir, F_OK) == -1) {
		diag_error("%s: no such app", app);
		return -1;
	}
	state_pathf(path, sizeof(path), "%s/apps/%s/manager.pid", conf->rundir,
	    app);
	pid = state_read_pid(path);
	if (pid > 0)
		return pid;
	if (pid == -1)
		diag_error("%s: %s: unreadable pid file", app, path);
	else if (access(path, F_OK) == 0)
		say_none("%s: stale pid file %s: its dyno-manager is not running",
		    app, path);
	else
		say_none("%s: no dyno-manager is running for this app", app);
	return 0;
}

/* Ask the manager to restart `target` (a dyno, a type or "all"). */
static int
request(const char *app, pid_t mgr, const char *target, int cycle)
{
	char path[PATH_MAX];
	const char *body = cycle ? "cycle\n" : "restart\n";

	if (state_pathf(path, sizeof(path), "%s/apps/%s/cycle/%s", conf->rundir,
	    app, target) == -1 || state_replace(path, body, strlen(body), 0644,
	    0) == -1) {
		diag_error_errno("%s: cycle request for %s", app, target);
		return EXIT_CANTCREAT;
	}
	if (kill(mgr, SIGUSR1) == -1) {
		diag_error_errno("%s: signalling dyno-manager (pid %ld)", app,
		    (long)mgr);
		return EXIT_UNAVAILABLE;
	}
	return 0;
}

/* Is `want` a dyno name or a type of the app?  Fills sel[] with matches. */
static int
select_target(const char *want, const struct dynostate *all, size_t n, char *sel)
{
	size_t i, tl;
	int hit = 0;

	for (i = 0; i < n; i++) {
		tl = strcspn(all[i].name, ".");
		if (strcmp(all[i].name, want) == 0 || (strlen(want) == tl &&
		    strncmp(all[i].name, want, tl) == 0)) {
			sel[i] = 1;
			hit = 1;
		}
	}
	return hit;
}

static long long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) /
	    1000000;
}

/* Wait until dyno `before` has a new instance that is up, and stays up
 * SETTLE_MS.  0 up, 1 crashed, 75 timeout. */
static int
wait_up(const char *app, const struct dynostate *before, uint64_t timeout_ms)
{
	struct dynostate now;
	struct timespec t0;
	long long up_at = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (dyno_read(app, before->name, &now) == 0 &&
		    (now.pid != before->pid || now.started != before->started)) {
			if (strcmp(now.state, "crashed") == 0) {
				diag_error("%s: %s crashed instead of coming up", app,
				    before->name);
				return EXIT_NO;
			}
			if (strcmp(now.state, "up") != 0)
				up_at = -1;
			else if (up_at == -1)
				up_at = ms_since(&t0);
			else if (ms_since(&t0) - up_at >= SETTLE_MS)
				return 0;
		}
		if (ms_since(&t0) > (long long)timeout_ms) {
			diag_error("%s: %s is not up again after %llus", app,
			    before->name, (unsigned long long)timeout_ms / 1000);
			return EXIT_TEMPFAIL;
		}
		usleep(POLL_US);
	}
}

static int
restart_dynos(const char *app, pid_t mgr, const struct dynostate *all,
    size_t n, const char *sel, const struct opts *o)
{
	size_t i;
	int rc = 0, r;

	/* Without --rolling, one request per dyno, all at once. */
	for (i = 0; i < n && !o->rolling; i++)
		if (sel[i] && (r = request(app, mgr, all[i].name, 0)) != 0)
			return r;
	for (i = 0; i < n; i++) {
		if (!sel[i])
			continue;
		if (o->rolling && (r = request(app, mgr, all[i].name, 0)) != 0)
			return r;
		if ((o->wait || o->rolling) &&
		    (r = wait_up(app, &all[i], o->timeout_ms)) != 0) {
			if (o->rolling)
				return r;
			rc = rc ? rc : r;
		}
	}
	return rc;
}

/* dyno-cycle APP [DYNO|TYPE ...]: heroku ps:restart. */
static int
cycle_app(const char *app, char **targets, int ntargets, const struct opts *o)
{
	struct dynostate all[MAX_DYNOS];
	char sel[MAX_DYNOS] = { 0 };
	size_t n, i;
	pid_t mgr;
	int t;

	if (names_check_app(app) != NULL) {
		diag_error("%s: bad app name: %s", app, names_check_app(app));
		return EXIT_USAGE;
	}
	if ((mgr = manager_of(app, 0)) <= 0)
		return mgr == 0 ? EXIT_UNAVAILABLE : EXIT_NOINPUT;
	n = dynos_list(app, all, MAX_DYNOS);
	for (t = 0; t < ntargets; t++)
		if (!select_target(targets[t], all, n, sel)) {
			diag_error("%s: no dyno or process type \"%s\"", app,
			    targets[t]);
			return EXIT_NOINPUT;
		}
	if (ntargets == 0)
		memset(sel, 1, n);
	for (i = 0; i < n && o->dry_run; i++)
		if (sel[i])
			printf("%s %s: would restart\n", app, all[i].name);
	if (o->dry_run)
		return 0;
	return restart_dynos(app, mgr, all, n, sel, o);
}

/*
 * The dyno's own random share of the jitter, drawn once per dyno start and
 * kept in DYNO_RUNDIR/apps/APP/cycle-jitter/NAME as "STARTED PPM", so that
 * every cron run sees the same deadline until the dyno restarts.
 */
static uint64_t
jitter_share(const char *app, const struct dynostate *di, uint64_t jitter_ms)
{
	char dir[PATH_MAX], path[PATH_MAX], buf[64];
	long long started = -1;
	unsigned long ppm = 0;

	state_pathf(dir, sizeof(dir), "%s/apps/%s/cycle-jitter", conf->rundir, app);
	if (state_pathf(path, sizeof(path), "%s/%s", dir, di->name) == -1)
		return 0;
	if (read_small(path, buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%lld %lu", &started, &ppm) == 2 &&
	    started == di->started && ppm <= 1000000)
		return jitter_ms / 1000 * ppm / 1000;
	ppm = (unsigned long)(random() % 1000001);
	snprintf(buf, sizeof(buf), "%lld %lu\n", di->started, ppm);
	if (state_mkdirs(dir, 0755) == -1 ||
	    state_replace(path, buf, strlen(buf), 0644, 0) == -1)
		diag_warn_errno("%s", path);
	return jitter_ms / 1000 * ppm / 1000;
}

/* A request not yet taken, or a dyno still starting: one at a time. */
static int
app_busy(const char *app, const struct dynostate *all, size_t n)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t i;
	DIR *d;
	int busy = 0;

	for (i = 0; i < n; i++)
		if (strcmp(all[i].state, "starting") == 0)
			return 1;
	state_pathf(path, sizeof(path), "%s/apps/%s/cycle", conf->rundir, app);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			busy = 1;
	closedir(d);
	return busy;
}

static void
say(const char *app, const struct dynostate *di, uint64_t up_ms, uint64_t due_ms,
    const char *what)
{
	char up[32], due[32];

	num_format_duration(up_ms, up, sizeof(up));
	num_format_duration(due_ms, due, sizeof(due));
	printf("%s %s: up %s, due after %s: %s\n", app, di->name, up, due, what);
}

/*
 * dyno-cycle --daily for one app: cycle its most overdue dyno, if any.
 * `found`: the app came from --all-apps, where a deployed app that is not
 * running (no manager) is no error, and is named only with -v.
 */
static int
daily_app(const char *app, const struct opts *o, int found)
{
	struct dynostate all[MAX_DYNOS];
	uint64_t up_ms, due_ms, worst = 0;
	size_t n, i, pick = SIZE_MAX;
	time_t now = time(NULL);
	pid_t mgr = manager_of(app, found);
	int busy;

	n = dynos_list(app, all, MAX_DYNOS);
	busy = app_busy(app, all, n);
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].state, "up") != 0 || all[i].started <= 0)
			continue;
		up_ms = (uint64_t)(now - all[i].started) * 1000;
		due_ms = o->max_age_ms + jitter_share(app, &all[i], o->jitter_ms);
		if (o->dry_run)
			say(app, &all[i], up_ms, due_ms, up_ms < due_ms ? "not yet" :
			    busy ? "due, after the restart in progress" :
			    "would cycle");
		if (up_ms >= due_ms && up_ms - due_ms >= worst) {
			worst = up_ms - due_ms;
			pick = i;
		}
	}
	if (mgr <= 0)
		return mgr == 0 ? (found ? 0 : EXIT_UNAVAILABLE) : EXIT_NOINPUT;
	if (o->dry_run || pick == SIZE_MAX || busy)
		return 0;
	/* stdout stays empty unless asked: cron mails whatever it gets */
	if (diag_verbosity > 0)
		printf("%s %s: cycling\n", app, all[pick].name);
	return request(app, mgr, all[pick].name, 1);
}

static int
daily(char **apps, int napps, const struct opts *o)
{
	char path[PATH_MAX];
	struct dirent *de;
	int i, rc = 0, r;
	DIR *d;

	for (i = 0; i < napps; i++)
		if ((r = daily_app(apps[i], o, 0)) != 0 && rc == 0)
			rc = r;
	if (!o->all_apps)
		return rc;
	state_pathf(path, sizeof(path), "%s/apps", conf->root);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? rc : EXIT_NOINPUT;
	while ((de = readdir(d)) != NULL)
		if (names_check_app(de->d_name) == NULL &&
		    (r = daily_app(de->d_name, o, 1)) != 0 && rc == 0)
			rc = r;
	closedir(d);
	return rc;
}

static const struct option longopts[] = {
	{ "all-apps",	no_argument,		NULL, 'a' },
	{ "daily",	no_argument,		NULL, 'D' },
	{ "dry-run",	no_argument,		NULL, 'n' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "jitter",	required_argument,	NULL, 'j' },
	{ "max-age",	required_argument,	NULL, 'm' },
	{ "rolling",	no_argument,		NULL, 'r' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "wait",	no_argument,		NULL, 'w' },
	{ NULL,		0,			NULL, 0 }
};

static void
duration_opt(const char *name, uint64_t *out)
{
	if (num_parse_duration_ms(optarg, out) == -1) {
		diag_error("--%s: \"%s\": expected a duration, like 24h or 90s",
		    name, optarg);
		exit(EXIT_USAGE);
	}
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "aDhj:m:nrt:vw", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'a': o->all_apps = 1; break;
		case 'D': o->daily = 1; break;
		case 'n': o->dry_run = 1; break;
		case 'r': o->rolling = 1; break;
		case 'w': o->wait = 1; break;
		case 'v': diag_verbosity++; break;
		case 'j': duration_opt("jitter", &o->jitter_ms); break;
		case 'm': duration_opt("max-age", &o->max_age_ms); break;
		case 't': duration_opt("timeout", &o->timeout_ms); break;
		case 'h': help(); exit(0);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
}

int
main(int argc, char **argv)
{
	static struct conf c;
	struct opts o = { 0 };
	char err[512];

	diag_start(argc, argv);
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	conf = &c;
	o.max_age_ms = c.cycle_max_age_ms;
	o.jitter_ms = c.cycle_jitter_ms;
	o.timeout_ms = 300000;
	parse_opts(argc, argv, &o);
	srandom((unsigned)(time(NULL) ^ getpid()));
	if (o.daily && (optind < argc) == o.all_apps) {
		diag_error("--daily needs APP ... or --all-apps");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.daily)
		return daily(argv + optind, argc - optind, &o);
	if (optind >= argc || o.all_apps) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return cycle_app(argv[optind], argv + optind + 1, argc - optind - 1, &o);
}
