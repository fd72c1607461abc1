/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: log-runtime-metrics: load and memory of each dyno. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgstat.h"
#include "cgtree.h"
#include "diag.h"
#include "state.h"
#include "dyno-manager-app.h"

#define LOAD_EVERY_MS	5000	/* the kernel's LOAD_FREQ */
#define MIN_INTERVAL_MS	200
#define MB		(1024.0 * 1024.0)

/* What we know of one running instance. */
struct mdyno {
	pid_t		 pid;			/* its dyno-run */
	int		 found;			/* cgroup known */
	int		 v2;
	char		 dir[PATH_MAX];		/* v2 folder or v1 memory */
	char		 threads[PATH_MAX];	/* cgroup.threads or tasks */
	char		 id[64];		/* the dyno's UUID */
	struct cgload	 load;
	int		 seen;
	struct mdyno	*next;
};

struct metrics {
	struct mgr	*m;
	struct evtimer	*timer;
	uint64_t	 every_ms;		/* load samples */
	uint64_t	 interval_ms;		/* log lines */
	uint64_t	 last_log;
	struct mdyno	*list;
};

static int
is_dir_with(const char *dir, const char *file)
{
	char path[PATH_MAX];

	return state_pathf(path, sizeof(path), "%s/%s", dir, file) == 0 &&
	    access(path, F_OK) == 0;
}

/*
 * The dyno's cgroup, as dyno-run's info file records it: relative to the
 * hierarchy ([BASE/]dyno/APP/LEAF), checked and turned into folders by
 * lib/cgtree as every other reader does: the v2 folder, or the v1 memory
 * folder and the tasks of the pids one (the memory one's without pids).
 */
static int
locate(struct mdyno *md, int v2, const char *rel)
{
	char dir[PATH_MAX];
	size_t i;

	if (!cgtree_dyno_rel(rel))
		return 0;
	md->v2 = v2;
	md->dir[0] = md->threads[0] = '\0';
	for (i = 0; cgtree_dir(v2, i, rel, dir, sizeof(dir)) == 0; i++) {
		if (md->dir[0] == '\0' && is_dir_with(dir, "memory.stat"))
			snprintf(md->dir, sizeof(md->dir), "%s", dir);
		if (md->threads[0] == '\0' && is_dir_with(dir, v2 ?
		    "cgroup.threads" : "pids.max") &&
		    state_pathf(md->threads, sizeof(md->threads), "%s/%s", dir,
		    v2 ? "cgroup.threads" : "tasks") == -1)
			return 0;
	}
	if (md->dir[0] == '\0')
		return 0;
	return md->threads[0] != '\0' || state_pathf(md->threads,
	    sizeof(md->threads), "%s/tasks", md->dir) == 0;
}

/* Read cgroup= and id= of the instance's info file, once it is there. */
static void
find_cgroup(struct mdyno *md, const struct mgr *m, const struct inst *in)
{
	char *text, *p, cg[PATH_MAX];

	if (state_read(in->info, 8192, &text, NULL) == -1)
		return;
	cg[0] = '\0';
	for (p = text; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, "cgroup=", 7) == 0)
			snprintf(cg, sizeof(cg), "%.*s", (int)strcspn(p + 7,
			    "\n"), p + 7);
		else if (strncmp(p, "id=", 3) == 0)
			snprintf(md->id, sizeof(md->id), "%.*s", (int)strcspn(p +
			    3, "\n"), p + 3);
	}
	free(text);
	/* v2 when the manager found a base there (mgr_cgroup_setup). */
	md->found = locate(md, m->cgbase[0] != '\0', cg);
}

static struct mdyno *
mdyno_get(struct metrics *mt, const struct inst *in)
{
	struct mdyno *md;

	for (md = mt->list; md != NULL; md = md->next)
		if (md->pid == in->pid)
			return md;
	if ((md = calloc(1, sizeof(*md))) == NULL)
		return NULL;
	md->pid = in->pid;
	md->next = mt->list;
	mt->list = md;
	return md;
}

/* The dyno's memory quota in bytes (its size's), 0 if unknown. */
static uint64_t
quota(const struct mgr *m, const struct dyno *d)
{
	const struct ftype *t = formation_find((struct formation *)&m->f,
	    d->type);
	const char *name = t && t->size[0] ? t->size : m->app.size;
	const struct dyno_size *s = conf_size(m->conf, name[0] ? name :
	    m->conf->size);

	return s ? s->memory : 0;
}

/* The two lines of heroku.md 1.9, as Heroku writes them. */
static void
log_dyno(struct mgr *m, const struct dyno *d, const struct mdyno *md)
{
	char who[256];
	struct cgmem mem;
	int rc;

	snprintf(who, sizeof(who), "source=%s dyno=heroku.%s.%s", d->name,
	    m->app.id[0] ? m->app.id : m->app.name, md->id);
	mgr_logf(m, d->name, "%s sample#load_avg_1m=%.2f sample#load_avg_5m="
	    "%.2f sample#load_avg_15m=%.2f", who, md->load.avg[0],
	    md->load.avg[1], md->load.avg[2]);
	rc = md->v2 ? cgstat_mem_v2(md->dir, &mem) :
	    cgstat_mem_v1(md->dir, &mem);
	if (rc == -1)
		return;
	mgr_logf(m, d->name, "%s sample#memory_total=%.2fMB sample#memory_rss="
	    "%.2fMB sample#memory_cache=%.2fMB sample#memory_swap=%.2fMB "
	    "sample#memory_pgpgin=%llupages sample#memory_pgpgout=%llupages "
	    "sample#memory_quota=%.2fMB", who, (double)(mem.rss + mem.cache +
	    mem.swap) / MB, (double)mem.rss / MB, (double)mem.cache / MB,
	    (double)mem.swap / MB, (unsigned long long)mem.pgpgin,
	    (unsigned long long)mem.pgpgout, (double)quota(m, d) / MB);
}

/* Forget the instances that are gone. */
static void
sweep(struct metrics *mt)
{
	struct mdyno **pp, *md;

	for (pp = &mt->list; (md = *pp) != NULL; )
		if (!md->seen) {
			*pp = md->next;
			free(md);
		} else
			pp = &md->next;
}

static void
on_tick(struct evloop *ev, void *arg)
{
	struct metrics *mt = arg;
	struct mgr *m = mt->m;
	uint64_t now = evloop_now_ms();
	int logit = now - mt->last_log >= mt->interval_ms;
	struct mdyno *md;
	struct dyno *d;
	long n;

	mt->timer = NULL;
	for (md = mt->list; md != NULL; md = md->next)
		md->seen = 0;
	for (d = m->dynos; d != NULL; d = d->next) {
		if (d->cur == NULL || (d->state != ST_UP && d->state !=
		    ST_STARTING) || (md = mdyno_get(mt, d->cur)) == NULL)
			continue;
		md->seen = 1;
		if (!md->found)
			find_cgroup(md, m, d->cur);
		if (!md->found)
			continue;
		if ((n = cgstat_runnable(md->threads, "/proc")) >= 0)
			cgload_sample(&md->load, (unsigned long)n, now);
		if (logit)
			log_dyno(m, d, md);
	}
	if (logit)
		mt->last_log = now;
	sweep(mt);
	if ((mt->timer = evloop_timer(ev, mt->every_ms, on_tick, mt)) == NULL)
		diag_warn("%s: log-runtime-metrics stopped: out of memory",
		    m->app.name);
}

static void
metrics_start(struct mgr *m)
{
	struct metrics *mt;

	if ((mt = calloc(1, sizeof(*mt))) == NULL) {
		diag_warn("%s: log-runtime-metrics: out of memory", m->app.name);
		return;
	}
	mt->m = m;
	mt->interval_ms = m->conf->metrics_interval_ms < MIN_INTERVAL_MS ?
	    MIN_INTERVAL_MS : m->conf->metrics_interval_ms;
	/* Load is sampled every 5 s, or at each line when they come faster. */
	mt->every_ms = mt->interval_ms < LOAD_EVERY_MS ? mt->interval_ms :
	    LOAD_EVERY_MS;
	/* The first lines come one interval after the start, as Heroku's. */
	mt->last_log = evloop_now_ms();
	mt->timer = evloop_timer(m->ev, mt->every_ms, on_tick, mt);
	m->metrics = mt;
}

void
mgr_metrics_end(struct mgr *m)
{
	struct metrics *mt = m->metrics;

	if (mt == NULL)
		return;
	if (mt->timer != NULL)
		evloop_timer_cancel(m->ev, mt->timer);
	for (mt->last_log = 0; mt->list != NULL; ) {
		struct mdyno *md = mt->list;

		mt->list = md->next;
		free(md);
	}
	free(mt);
	m->metrics = NULL;
}

void
mgr_metrics_update(struct mgr *m)
{
	if (m->app.metrics && m->metrics == NULL)
		metrics_start(m);
	else if (!m->app.metrics)
		mgr_metrics_end(m);
}
