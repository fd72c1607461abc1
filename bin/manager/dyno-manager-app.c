/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: keep the formation of an app's current release running. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "diag.h"
#include "dynostate.h"
#include "names.h"
#include "ready.h"
#include "state.h"
#include "dyno-manager-app.h"

/* dyno-run next to our own binary (a build tree) or in ../bin, else /usr. */
static void
find_dynorun(struct mgr *m)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (state_pathf(m->dynorun, sizeof(m->dynorun),
			    "%s/dyno-run", self) == 0 && access(m->dynorun, X_OK) == 0)
				return;
			/* installed: we are in sbin, dyno-run in ../bin */
			if (state_pathf(m->dynorun, sizeof(m->dynorun),
			    "%s/../bin/dyno-run", self) == 0 &&
			    access(m->dynorun, X_OK) == 0)
				return;
		}
	}
	snprintf(m->dynorun, sizeof(m->dynorun), "/usr/bin/dyno-run");
	if (access(m->dynorun, X_OK) == -1)
		snprintf(m->dynorun, sizeof(m->dynorun), "/usr/local/bin/dyno-run");
}

/* One live manager per app: a lock held for our lifetime, and a pid file. */
static int
take_app(struct mgr *m)
{
	char path[PATH_MAX];
	pid_t other;

	if (state_mkdirs(m->app.rundir, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/info", m->app.rundir) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/cycle", m->app.rundir) == -1 ||
	    state_mkdirs(path, 0755) == -1) {
		diag_error_errno("%s", m->app.rundir);
		return EXIT_CANTCREAT;
	}
	state_pathf(path, sizeof(path), "%s/manager.lock", m->app.rundir);
	if ((m->lockfd = state_lock(path, 0)) == -1) {
		state_pathf(path, sizeof(path), "%s/manager.pid", m->app.rundir);
		other = state_read_pid(path);
		diag_error("%s: already managed by a running dyno-manager (pid %ld)",
		    m->app.name, (long)other);
		return EXIT_TEMPFAIL;
	}
	state_pathf(path, sizeof(path), "%s/manager.pid", m->app.rundir);
	if (state_write_pid(path) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	return 0;
}

/* Wait up to ms for pid (not our child) to go; pidfd where we have it. */
static int
wait_gone(pid_t pid, uint64_t ms)
{
	uint64_t end = evloop_now_ms() + ms;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (fd >= 0) {
		poll(&pfd, 1, (int)ms);
		close(fd);
	}
	while (kill(pid, 0) == 0 && evloop_now_ms() < end)
		usleep(20000);
	return kill(pid, 0) == -1;
}

/*
 * After our own crash: the dyno-run processes we left behind still run,
 * but their output pipes died with us.  Stop each one gracefully and wait
 * for it, so that no dyno ever runs twice, then start afresh.
 */
static void
recover(struct mgr *m)
{
	char path[PATH_MAX];
	struct dynostate *ds;
	size_t n, i;
	pid_t pid;

	if ((ds = calloc(FORMATION_MAX_DYNOS * 2, sizeof(*ds))) == NULL)
		return;
	n = dynostate_list(m->app.dir, NULL, ds, FORMATION_MAX_DYNOS * 2);
	for (i = 0; i < n; i++) {
		if ((pid = (pid_t)ds[i].pid) <= 0 ||
		    !dynorun_of_app(pid, m->app.name))
			continue;
		diag_warn("%s: stopping %s (pid %ld) left by an earlier manager",
		    m->app.name, ds[i].name, (long)pid);
		kill(pid, SIGTERM);
		if (!wait_gone(pid, m->conf->grace_ms + 10000)) {
			kill(pid, SIGKILL);
			wait_gone(pid, 5000);
		}
	}
	free(ds);
	state_pathf(path, sizeof(path), "%s/dynos", m->app.dir);
	state_remove_tree(path);
	mgr_write_routes(m);
}

static struct dyno *
find_dyno(struct mgr *m, const char *type, unsigned num)
{
	struct dyno *d;

	for (d = m->dynos; d != NULL; d = d->next)
		if (d->num == num && strcmp(d->type, type) == 0)
			return d;
	return NULL;
}

/* Forget a dyno; with `files`, its dynos/TYPE.N folder goes too. */
static void
remove_dyno(struct mgr *m, struct dyno *d, int files)
{
	struct dyno **pp;
	char path[PATH_MAX];

	for (pp = &m->dynos; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	if (files && state_pathf(path, sizeof(path), "%s/dynos/%s", m->app.dir,
	    d->name) == 0)
		state_remove_tree(path);
	if (d->restart)
		evloop_timer_cancel(m->ev, d->restart);
	if (d->probe)
		evloop_timer_cancel(m->ev, d->probe);
	if (d->boot)
		evloop_timer_cancel(m->ev, d->boot);
	free(d);
}

/* Scale one type to `want`: start the missing numbers, stop the highest. */
static void
scale_type(struct mgr *m, const char *type, unsigned want, int restart)
{
	struct dyno *d, *next;
	unsigned n;

	for (n = 1; n <= want; n++) {
		if ((d = find_dyno(m, type, n)) == NULL) {
			if ((d = dyno_new(m, type, n)) != NULL)
				dyno_event(m, d, EV_WANTED);
		} else if (restart)
			dyno_restart(m, d, "Restarting", m->app.preboot);
		else
			dyno_event(m, d, EV_WANTED);
	}
	for (d = m->dynos; d != NULL; d = next) {
		next = d->next;
		if (strcmp(d->type, type) == 0 && d->num > want) {
			dyno_event(m, d, EV_STOP);
			remove_dyno(m, d, 1);
		}
	}
}

/* The size a type's dynos run at: the formation's, else the app's. */
static const char *
type_size(const struct formation *f, const struct app *app, const char *type)
{
	const struct ftype *t = formation_find((struct formation *)f, type);

	return t != NULL && t->size[0] != '\0' ? t->size : app->size;
}

/*
 * A type whose size changed (ps:scale web=1:performance-m, or app.conf's
 * default for types without their own) restarts onto it, as Heroku's do:
 * a running dyno keeps the limits it was started with.
 */
static int
size_changed(const struct mgr *m, const struct formation *oldf,
    const struct app *oldapp, const char *type)
{
	return strcasecmp(type_size(oldf, oldapp, type), type_size(&m->f,
	    &m->app, type)) != 0;
}

/*
 * Cluster mode (APPDIR/assigned, written by dyno-agent): run exactly the
 * dynos named there, whatever the formation counts; none while fenced.
 */
static void
converge_assigned(struct mgr *m, char (*names)[CLUSTER_NAME_MAX], int n,
    int restart)
{
	struct dyno *d, *next;
	char type[64];
	unsigned num;
	size_t tl;
	int i, keep;

	for (d = m->dynos; d != NULL; d = next) {
		next = d->next;
		for (i = 0, keep = 0; !m->fenced && i < n && !keep; i++)
			keep = strcmp(names[i], d->name) == 0;
		if (!keep || procfile_find(&m->app.pf, d->type) == NULL) {
			dyno_event(m, d, EV_STOP);
			remove_dyno(m, d, 1);
		}
	}
	for (i = 0; !m->fenced && i < n; i++) {
		if (names_check_dyno(names[i], &tl, &num) != NULL ||
		    tl >= sizeof(type))
			continue;
		snprintf(type, sizeof(type), "%.*s", (int)tl, names[i]);
		if (procfile_find(&m->app.pf, type) == NULL ||
		    strcmp(type, "release") == 0)
			continue;
		if ((d = find_dyno(m, type, num)) == NULL) {
			if ((d = dyno_new(m, type, num)) != NULL)
				dyno_event(m, d, EV_WANTED);
		} else if (restart)
			dyno_restart(m, d, "Restarting", m->app.preboot);
		else
			dyno_event(m, d, EV_WANTED);
	}
}

/* The assigned names, or -1 for an app that is not in a cluster. */
static int
read_assigned(struct mgr *m, char (**names)[CLUSTER_NAME_MAX])
{
	int n;

	*names = calloc(FORMATION_MAX_DYNOS * 10, CLUSTER_NAME_MAX);
	if (*names == NULL)
		return -1;
	n = cluster_assigned_read(m->app.dir, *names, FORMATION_MAX_DYNOS * 10);
	if (n == -1 && errno != ENOENT)
		diag_warn_errno("%s/assigned", m->app.dir);
	return n;
}

/* Re-read the release, app.conf and formation, and converge on them. */
static void
converge(struct mgr *m)
{
	struct app app;
	char path[PATH_MAX], err[512], oldver[16];
	struct formation f, oldf;
	struct app oldapp;
	char (*names)[CLUSTER_NAME_MAX];
	struct dyno *d;
	unsigned i;
	int restart, n;

	if (app_load(m->conf, m->app.name, &app) != 0)
		return;		/* keep running what we have; app_load said why */
	state_pathf(path, sizeof(path), "%s/formation", app.dir);
	if (formation_read(path, &f, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		app_free(&app);
		return;
	}
	snprintf(oldver, sizeof(oldver), "%s", m->app.version);
	restart = oldver[0] != '\0' && strcmp(oldver, app.version) != 0;
	oldf = m->f;
	oldapp = m->app;
	m->app = app;
	m->f = f;
	if ((n = read_assigned(m, &names)) >= 0 || m->cluster) {
		/* a cluster app stays one: a bad file runs nothing */
		m->cluster = 1;
		converge_assigned(m, names, n < 0 ? 0 : n, restart);
		free(names);
		app_free(&oldapp);
		mgr_metrics_update(m);
		return;
	}
	free(names);
	/* Types gone from the formation or the Procfile scale to zero. */
	for (d = m->dynos; d != NULL; ) {
		if (formation_find(&m->f, d->type) == NULL ||
		    procfile_find(&m->app.pf, d->type) == NULL) {
			scale_type(m, d->type, 0, 0);
			d = m->dynos;	/* the list changed: start over */
		} else
			d = d->next;
	}
	for (i = 0; i < m->f.n; i++)
		scale_type(m, m->f.t[i].type, procfile_find(&m->app.pf,
		    m->f.t[i].type) && strcmp(m->f.t[i].type, "release") ?
		    m->f.t[i].count : 0, restart || (oldver[0] != '\0' &&
		    size_changed(m, &oldf, &oldapp, m->f.t[i].type)));
	app_free(&oldapp);
	mgr_write_routes(m);
	mgr_metrics_update(m);
}

/* Cycle requests: files named after a dyno, a type or "all"; a file saying
 * "cycle" is the daily cycling, anything else a restart. */
static void
take_cycle_requests(struct mgr *m)
{
	char dir[PATH_MAX], path[PATH_MAX], *body;
	struct dirent *de;
	struct dyno *d;
	DIR *dp;
	int cycle;

	state_pathf(dir, sizeof(dir), "%s/cycle", m->app.rundir);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || state_pathf(path, sizeof(path),
		    "%s/%s", dir, de->d_name) == -1)
			continue;
		cycle = 0;
		if (state_read(path, 64, &body, NULL) == 0) {
			cycle = strncmp(body, "cycle", 5) == 0;
			free(body);
		}
		unlink(path);
		for (d = m->dynos; d != NULL; d = d->next)
			if (strcmp(de->d_name, "all") == 0 ||
			    strcmp(de->d_name, d->name) == 0 ||
			    strcmp(de->d_name, d->type) == 0)
				dyno_restart(m, d, cycle ? "Cycling" : "Restarting",
				    0);
	}
	closedir(dp);
}

/*
 * A cluster app's dynos run only while dyno-agent's lease is known to hold
 * (DYNO_RUNDIR/cluster/fence): past the deadline, whatever became of the
 * agent (killed, stopped, frozen, cut off), they stop, before the lease can
 * expire and the placer starts them elsewhere.
 */
static void
fence_check(struct evloop *ev, void *arg)
{
	struct mgr *m = arg;
	uint64_t deadline;
	int fenced;

	if (m->cluster && !m->stopping) {
		fenced = cluster_fence_read(m->conf->rundir, &deadline) == -1 ||
		    cluster_now_ms() >= deadline;
		if (fenced != m->fenced) {
			m->fenced = fenced;
			diag_warn("%s: %s", m->app.name, fenced ? "fenced: the "
			    "host's cluster lease is not known to hold: stopping "
			    "every dyno" : "the host's cluster lease holds again");
			mgr_logf(m, "manager", "%s", fenced ? "Fenced: stopping "
			    "every dyno of this host" : "Fence lifted");
			converge(m);
		}
	}
	evloop_timer(ev, 500, fence_check, m);
}

static void
mgr_maybe_exit(struct mgr *m)
{
	if (m->stopping && m->insts == NULL)
		evloop_stop(m->ev);
}

static void
stop_everything(struct mgr *m)
{
	struct dyno *d;

	if (m->stopping)
		return;
	m->stopping = 1;
	for (d = m->dynos; d != NULL; d = d->next)
		dyno_event(m, d, EV_STOP);
	mgr_write_routes(m);
	mgr_maybe_exit(m);
}

static void
on_signal(struct evloop *ev, int signo, void *arg)
{
	struct mgr *m = arg;
	struct inst *in;
	int wstatus;
	pid_t pid;

	(void)ev;
	switch (signo) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			if ((in = inst_find(m, pid)) != NULL) {
				/* a stopped dyno comes back once its instance is gone */
				mgr_stopped_reaped(m, in);
				inst_reaped(m, in, wstatus);
			}
		/* Stopping: the last instance gone ends the loop. */
		mgr_maybe_exit(m);
		break;
	case SIGHUP:
		if (!m->stopping)
			converge(m);
		break;
	case SIGUSR1:
		if (!m->stopping) {
			take_cycle_requests(m);
			mgr_take_stop_requests(m);
		}
		break;
	default:
		stop_everything(m);
	}
}

/*
 * How many dynos may be in dyno-run's setup at once: dyno.conf's
 * start_parallel, else four per CPU we may run on (at least 8).  The
 * setups share the spaces lock and the CPUs: a hundred at once made each
 * lock holder wait behind the others for the CPU, and a 100-dyno
 * scale-up held the lock 7 of its 8.4 s (t/bench/dyno-manager.sh).  Much
 * fewer (4 on 2 CPUs) left the CPUs idle while setups waited on each
 * other's wakeups: 100 dynos with no network took 7-8 s against 5-6.
 */
static unsigned
start_limit(const struct conf *c)
{
	cpu_set_t cpus;
	int n;

	if (c->start_parallel > 0)
		return c->start_parallel;
	n = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ?
	    CPU_COUNT(&cpus) : 1;
	return 4 * n < 8 ? 8 : 4 * (unsigned)n;
}

static int
setup(struct mgr *m)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGUSR1, SIGTERM, SIGINT };
	size_t i;

	if ((m->ev = evloop_new()) == NULL)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (evloop_add_signal(m->ev, sigs[i], on_signal, m) == -1)
			return -1;
	/* A dyno-run that loses its own parent is re-parented to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	m->lc = logclient_open(m->conf->rundir);
	if (logq_open(m, mgr_resume_output) == -1)
		return -1;
	find_dynorun(m);
	m->start_limit = start_limit(m->conf);
	if (mgr_watch_info(m) == -1)
		diag_warn_errno("%s/info: watching (dynos found up by probes)",
		    m->app.rundir);
	srandom((unsigned)(time(NULL) ^ getpid()));
	return 0;
}

static void
teardown(struct mgr *m)
{
	char path[PATH_MAX];
	struct dyno *d;

	for (d = m->dynos; d != NULL; d = d->next)
		dyno_event(m, d, EV_SHUTDOWN);
	mgr_write_routes(m);
	state_pathf(path, sizeof(path), "%s/manager.pid", m->app.rundir);
	unlink(path);
	mgr_metrics_end(m);
	mgr_cgroup_remove_app(m);
	while (m->dynos != NULL)
		remove_dyno(m, m->dynos, 0);
	logq_close(m);
	logclient_close(m->lc);
	if (m->infowatch != -1)
		close(m->infowatch);
	evloop_free(m->ev);
	app_free(&m->app);
	free(m->routes);
}

int
app_run(const struct conf *conf, const char *name, int ready_fd)
{
	struct mgr m;
	char err[256], path[PATH_MAX];
	int rc;

	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.lockfd = -1;
	m.infowatch = -1;
	if ((rc = app_load(conf, name, &m.app)) != 0)
		return rc;
	if ((rc = take_app(&m)) != 0 || (rc = mgr_cgroup_setup(&m)) != 0 ||
	    setup(&m) == -1) {
		if (rc == 0)
			diag_error_errno("%s: setting up", name);
		app_free(&m.app);
		return rc ? rc : EXIT_OSERR;
	}
	state_pathf(path, sizeof(path), "%s/assigned", m.app.dir);
	m.cluster = access(path, F_OK) == 0;
	fence_check(m.ev, &m);		/* from here on, every 500 ms */
	recover(&m);
	m.app.version[0] = '\0';	/* the first converge starts everything */
	converge(&m);
	if (ready_signal(ready_fd, err, sizeof(err)) == -1)	/* started */
		diag_warn("%s", err);
	rc = evloop_run(m.ev) == -1 ? EXIT_OSERR : 0;
	teardown(&m);
	return rc;
}
