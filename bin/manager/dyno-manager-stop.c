/* SPDX-License-Identifier: ISC */
/* dyno-manager stop|kill: heroku ps:stop for a dyno, a type or a one-off dyno. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgtree.h"
#include "diag.h"
#include "dynostate.h"
#include "names.h"
#include "state.h"
#include "dyno-manager-app.h"

#define MAX_STOP	256
#define POLL_US		50000
#define KILL_SLACK_MS	10000	/* past the grace, before our SIGKILL */

/*
 * ---- The daemon's side: requests in DYNO_RUNDIR/apps/APP/stop/ ----
 *
 * A formation dyno that is stopped comes back (heroku.md 1.6): the
 * formation still wants it.  It goes down at once, its instance gets
 * SIGTERM (dyno-run logs the lines of the stop), and once that instance
 * has exited the dyno starts again, with its crash count reset.
 */
static void
stop_dyno(struct mgr *m, struct dyno *d)
{
	struct inst *in = d->cur;

	/* Asked again while the last stop is under way: that one stands. */
	if (in == NULL && d->stopped != NULL)
		return;
	dyno_event(m, d, EV_STOP);
	d->crashes = 0;
	d->norestart = 0;
	if (in == NULL)
		dyno_event(m, d, EV_COMEBACK);	/* nothing ran: back at once */
	else
		d->stopped = in;
}

void
mgr_take_stop_requests(struct mgr *m)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct dyno *d;
	DIR *dp;

	if (state_pathf(dir, sizeof(dir), "%s/stop", m->app.rundir) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || state_pathf(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1)
			continue;
		unlink(path);
		for (d = m->dynos; d != NULL; d = d->next)
			if (strcmp(de->d_name, d->name) == 0 ||
			    strcmp(de->d_name, d->type) == 0)
				stop_dyno(m, d);
	}
	closedir(dp);
}

static void
on_comeback(struct evloop *ev, void *arg)
{
	struct dyno *d = arg;

	(void)ev;
	d->restart = NULL;
	if (!d->m->stopping)
		dyno_event(d->m, d, EV_COMEBACK);
}

/*
 * An instance has exited: a stopped dyno whose instance it was comes back,
 * on the next turn of the loop, once the last lines of its predecessor's
 * pipes are logged.  The restart timer carries it: a scale, a stop or a
 * start in between cancels it.
 */
void
mgr_stopped_reaped(struct mgr *m, const struct inst *in)
{
	struct dyno *d;

	for (d = m->dynos; d != NULL; d = d->next) {
		if (d->stopped != in)
			continue;
		d->stopped = NULL;
		if (m->stopping || d->restart != NULL)
			continue;
		if ((d->restart = evloop_timer(m->ev, 0, on_comeback, d)) == NULL)
			dyno_event(m, d, EV_COMEBACK);	/* no memory for a timer */
	}
}

/* ---- The command: dyno-manager stop|kill [--wait] APP DYNO|TYPE ... ---- */

/* A dyno the command may stop. */
struct target {
	char		 name[256];
	pid_t		 pid;		/* dyno-run; 0 if unknown */
	char		 cgroup[PATH_MAX];	/* one-off: from its info */
	int		 oneoff;
	int		 sel;
};

struct stopcmd {
	const struct conf *conf;
	const char	*app;
	struct target	 t[MAX_STOP];
	size_t		 n;
	int		 wait;
};

/* "key=value" of a dyno-run info file into buf ("" if absent). */
static void
info_field(const char *text, const char *key, char *buf, size_t size)
{
	const char *p = text;
	size_t kl = strlen(key);

	buf[0] = '\0';
	for (; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n')
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			snprintf(buf, size, "%.*s", (int)strcspn(p + kl + 1,
			    "\n"), p + kl + 1);
			return;
		}
}

/* The formation dynos the manager's state files name (dyno-state(5)). */
static void
list_formation(struct stopcmd *s)
{
	char dir[PATH_MAX];
	struct dynostate *ds;
	size_t n, i;

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s", s->conf->root,
	    s->app) == -1 || (ds = calloc(MAX_STOP, sizeof(*ds))) == NULL)
		return;
	n = dynostate_list(dir, NULL, ds, MAX_STOP - s->n);
	for (i = 0; i < n; i++, s->n++) {
		memset(&s->t[s->n], 0, sizeof(s->t[0]));
		snprintf(s->t[s->n].name, sizeof(s->t[0].name), "%s",
		    ds[i].name);
		s->t[s->n].pid = (pid_t)ds[i].pid;
	}
	free(ds);
}

/*
 * Whether the dyno's init (pid `init`) is in cgroup `rel`: a registration
 * left by a dyno-run that was SIGKILLed may name a pid that another
 * dyno-run of the app now has, but not that one's cgroup.
 */
static int
init_in_cgroup(pid_t init, const char *rel)
{
	char path[64], want[PATH_MAX + 2], *text;
	int in;

	rel += *rel == '/';
	if (init <= 0 || rel[0] == '\0' ||
	    snprintf(want, sizeof(want), "/%s\n", rel) >= (int)sizeof(want))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)init);
	if (state_read(path, 65536, &text, NULL) == -1)
		return 0;
	in = strstr(text, want) != NULL;
	free(text);
	return in;
}

/* One-off dynos: each dyno-run --app APP registers in oneoff/NAME. */
static void
add_oneoff(struct stopcmd *s, const char *name, const char *path)
{
	char *text, buf[64];
	struct target *t = &s->t[s->n];
	pid_t init;

	if (state_read(path, 4096, &text, NULL) == -1)
		return;
	memset(t, 0, sizeof(*t));
	info_field(text, "pid", buf, sizeof(buf));
	t->pid = (pid_t)atol(buf);
	info_field(text, "init", buf, sizeof(buf));
	init = (pid_t)atol(buf);
	info_field(text, "cgroup", t->cgroup, sizeof(t->cgroup));
	free(text);
	/* A stale file, or a pid now someone else's: not a dyno of ours. */
	if (t->pid <= 0 || !dynorun_of_app(t->pid, s->app) ||
	    !init_in_cgroup(init, t->cgroup))
		return;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->oneoff = 1;
	s->n++;
}

static void
list_oneoffs(struct stopcmd *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s/oneoff", s->conf->rundir,
	    s->app) == -1 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && s->n < MAX_STOP)
		if (names_check_dyno(de->d_name, NULL, NULL) == NULL &&
		    state_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == 0)
			add_oneoff(s, de->d_name, path);
	closedir(d);
}

/* Select the dynos named `want` or of type `want`; 1 if any. */
static int
select_target(struct stopcmd *s, const char *want)
{
	size_t i, tl;
	int hit = 0;

	for (i = 0; i < s->n; i++) {
		tl = strcspn(s->t[i].name, ".");
		if (strcmp(s->t[i].name, want) == 0 || (strlen(want) == tl &&
		    strncmp(s->t[i].name, want, tl) == 0))
			s->t[i].sel = hit = 1;
	}
	return hit;
}

/* Ask the manager: a request file named after the target, then SIGUSR1. */
static int
request(struct stopcmd *s, const char *target)
{
	char path[PATH_MAX], dir[PATH_MAX];
	pid_t mgr;

	state_pathf(path, sizeof(path), "%s/apps/%s/manager.pid",
	    s->conf->rundir, s->app);
	if ((mgr = state_read_pid(path)) <= 0) {
		diag_error("%s: no dyno-manager is running for this app", s->app);
		return EXIT_UNAVAILABLE;
	}
	if (state_pathf(dir, sizeof(dir), "%s/apps/%s/stop", s->conf->rundir,
	    s->app) == -1 || state_mkdirs(dir, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/%s", dir, target) == -1 ||
	    state_replace(path, "stop\n", 5, 0644, 0) == -1) {
		diag_error_errno("%s: stop request for %s", s->app, target);
		return EXIT_CANTCREAT;
	}
	if (kill(mgr, SIGUSR1) == -1) {
		diag_error_errno("%s: signalling dyno-manager (pid %ld)", s->app,
		    (long)mgr);
		return EXIT_UNAVAILABLE;
	}
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * --wait: until every stopped dyno-run has exited.  dyno-run SIGKILLs its
 * own dyno when the grace period is over; a one-off dyno-run that still
 * has not exited KILL_SLACK_MS later is SIGKILLed with its cgroup.
 */
static int
wait_stopped(struct stopcmd *s)
{
	uint64_t end = now_ms() + s->conf->grace_ms + KILL_SLACK_MS;
	size_t i, left;
	int killed = 0;

	for (;;) {
		for (i = 0, left = 0; i < s->n; i++)
			if (s->t[i].sel && s->t[i].pid > 0 &&
			    kill(s->t[i].pid, 0) == 0)
				left++;
		if (left == 0)
			return 0;
		if (now_ms() >= end + (killed ? 5000 : 0)) {
			if (killed) {
				diag_error("%s: %zu dyno(s) still running", s->app,
				    left);
				return EXIT_TEMPFAIL;
			}
			for (i = 0; i < s->n; i++)
				if (s->t[i].sel && s->t[i].oneoff &&
				    kill(s->t[i].pid, 0) == 0) {
					mgr_cgroup_kill(cgtree_v2(),
					    s->t[i].cgroup);
					kill(s->t[i].pid, SIGKILL);
				}
			killed = 1;
		}
		usleep(POLL_US);
	}
}

/* Stop what was selected: one-offs by SIGTERM, the rest by request. */
static int
stop_selected(struct stopcmd *s, char **targets, int ntargets)
{
	size_t i;
	int k, rc, formation;

	for (k = 0; k < ntargets; k++) {
		formation = 0;
		for (i = 0; i < s->n; i++)
			if (!s->t[i].oneoff && (strcmp(s->t[i].name,
			    targets[k]) == 0 || (strlen(targets[k]) ==
			    strcspn(s->t[i].name, ".") && strncmp(s->t[i].name,
			    targets[k], strlen(targets[k])) == 0)))
				formation = 1;
		if (formation && (rc = request(s, targets[k])) != 0)
			return rc;
	}
	for (i = 0; i < s->n; i++)
		if (s->t[i].sel && s->t[i].oneoff &&
		    kill(s->t[i].pid, SIGTERM) == -1 && errno != ESRCH) {
			diag_error_errno("%s: stopping %s (pid %ld)", s->app,
			    s->t[i].name, (long)s->t[i].pid);
			return EXIT_OSERR;
		}
	return s->wait ? wait_stopped(s) : 0;
}

static int
stop_usage(const char *cmd)
{
	fprintf(stderr, "usage: dyno-manager %s [-w] APP DYNO|TYPE ...\n", cmd);
	return EXIT_USAGE;
}

int
stop_main(const struct conf *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	static struct stopcmd s;
	char path[PATH_MAX];
	const char *why;
	int ch, i;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "w", longopts, NULL)) != -1) {
		if (ch != 'w')
			return stop_usage(argv[0]);
		s.wait = 1;
	}
	if (argc - optind < 2)
		return stop_usage(argv[0]);
	s.app = argv[optind];
	if ((why = names_check_app(s.app)) != NULL) {
		diag_error("%s: bad app name: %s", s.app, why);
		return EXIT_USAGE;
	}
	for (i = optind + 1; i < argc; i++)
		if (names_check_dyno(argv[i], NULL, NULL) != NULL &&
		    names_check_proctype(argv[i]) != NULL) {
			diag_error("\"%s\": not a dyno name or process type",
			    argv[i]);
			return EXIT_USAGE;
		}
	state_pathf(path, sizeof(path), "%s/apps/%s", conf->root, s.app);
	if (access(path, F_OK) == -1) {
		diag_error("%s: no such app", s.app);
		return EXIT_NOINPUT;
	}
	list_formation(&s);
	list_oneoffs(&s);
	for (i = optind + 1; i < argc; i++)
		if (!select_target(&s, argv[i])) {
			diag_error("%s: no dyno or process type \"%s\"", s.app,
			    argv[i]);
			return EXIT_NOINPUT;
		}
	return stop_selected(&s, argv + optind + 1, argc - optind - 1);
}
