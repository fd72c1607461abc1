/* SPDX-License-Identifier: ISC */
/* dyno-run: one cgroup per dyno, v2 where /sys/fs/cgroup is cgroup2, else v1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgtree.h"
#include "diag.h"
#include "dyno-run.h"
#include "state.h"

#define CGROOT	"/sys/fs/cgroup"


/*
 * mkdir -p, tried again when a folder on the way vanished: another dyno of
 * the app may have just removed the emptied app folder (see cg_remove).
 */
static int
mkdirs_again(const char *dir)
{
	int tries;

	/* Mostly only the leaf is missing: one mkdir, not one per level. */
	if (mkdir(dir, 0755) == 0)
		return 0;
	for (tries = 0; tries < 5; tries++) {
		if (state_mkdirs(dir, 0755) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
	}
	return -1;
}

static uint64_t
read_u64(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], *data = NULL, *p;
	uint64_t v = 0;

	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1 ||
	    state_read(path, 65536, &data, NULL) == -1)
		return 0;
	p = data;
	if (key != NULL) {
		/* "key value" lines (memory.events, memory.oom_control) */
		size_t kl = strlen(key);
		for (p = data; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : p)
			if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
				break;
		if (p != NULL)
			p += kl + 1;
	}
	if (p != NULL)
		v = strtoull(p, NULL, 10);
	free(data);
	return v;
}

/*
 * v2: the dyno's folder under the base that cgtree_base() finds (the
 * subtree systemd delegated to us, or the root without systemd), with the
 * controllers enabled top-down on the way.
 */
static int
create_v2(struct cg *cg, char *err, size_t errlen)
{
	if (cgtree_make(cg->base, cg->rel, err, errlen) == -1)
		return errno == ENOTSUP || errno == EBUSY ? EXIT_CONFIG :
		    EXIT_OSERR;
	cg->v2fd = open(cg->v2dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static int
limits_v2(struct cg *cg, const struct dyno *d, char *err, size_t errlen)
{
	char v[32];

	/*
	 * The hard limit is memory.high: the kernel throttles there and we
	 * kill the dyno with the R15 lines.  memory.max sits an eighth above
	 * as the backstop, so the kernel's OOM killer is the last resort,
	 * not the way a dyno normally dies.
	 */
	snprintf(v, sizeof(v), "%llu", (unsigned long long)d->size.memory_max);
	if (cgtree_write(cg->v2dir, "memory.high", v) == -1)
		goto fail;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)
	    (d->size.memory_max + d->size.memory_max / 8));
	if (cgtree_write(cg->v2dir, "memory.max", v) == -1)
		goto fail;
	(void)cgtree_write(cg->v2dir, "memory.swap.max", "0");
	/* An OOM kill takes the whole dyno, as R15 does on Heroku. */
	(void)cgtree_write(cg->v2dir, "memory.oom.group", "1");
	snprintf(v, sizeof(v), "%u", d->size.pids);
	if (cgtree_write(cg->v2dir, "pids.max", v) == -1)
		goto fail;
	snprintf(v, sizeof(v), "%u", d->size.cpu_weight);
	if (cgtree_write(cg->v2dir, "cpu.weight", v) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "set limits on cgroup %s: %s", cg->v2dir,
	    strerror(errno));
	return EXIT_OSERR;
}

/* v1: the dyno's folder in the hierarchy of `ctl`, "" when it has none. */
static int
path_v1(char *dir, size_t size, const char *ctl, const char *rel)
{
	char base[PATH_MAX];

	dir[0] = '\0';
	if (state_pathf(base, sizeof(base), CGROOT "/%s", ctl) == -1)
		return -1;
	if (access(base, F_OK) == -1)
		return 0;
	return state_pathf(dir, size, "%s/%s", base, rel);
}

static int
mkdir_v1(const char *dir)
{
	return dir[0] == '\0' ? 0 : mkdirs_again(dir);
}

static int
limits_v1(struct cg *cg, const struct dyno *d, char *err, size_t errlen)
{
	char v[32];

	if (cg->mem[0] == '\0' || cg->pids[0] == '\0') {
		snprintf(err, errlen, "no cgroup v2 and no v1 memory and pids "
		    "hierarchies under " CGROOT);
		return EXIT_CONFIG;
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)d->size.memory_max);
	if (cgtree_write(cg->mem, "memory.limit_in_bytes", v) == -1)
		goto fail;
	(void)cgtree_write(cg->mem, "memory.memsw.limit_in_bytes", v);
	/*
	 * No OOM killer inside the dyno: at the limit its tasks wait, we see
	 * under_oom and kill the whole dyno with the R15 lines, as Heroku does,
	 * instead of the kernel picking one process.
	 */
	(void)cgtree_write(cg->mem, "memory.oom_control", "1");
	snprintf(v, sizeof(v), "%u", d->size.pids);
	if (cgtree_write(cg->pids, "pids.max", v) == -1)
		goto fail;
	/* v1 shares: 1024 is the default, as cpu.weight 100 is on v2. */
	snprintf(v, sizeof(v), "%u", d->size.cpu_weight * 1024 / 100);
	if (cg->cpu[0] != '\0' && cgtree_write(cg->cpu, "cpu.shares", v) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "set limits on cgroup %s: %s", cg->rel,
	    strerror(errno));
	return EXIT_OSERR;
}

int
cg_init(struct cg *cg, const struct dyno *d, char *err, size_t errlen)
{
	memset(cg, 0, sizeof(*cg));
	cg->v2fd = -1;
	/*
	 * The pid makes the path unique even while an old and a new dyno
	 * share a name during a restart.
	 */
	if (state_pathf(cg->rel, sizeof(cg->rel), "dyno/%s/%s-%ld", d->app,
	    d->name, (long)getpid()) == -1)
		goto toolong;
	if ((cg->v2 = cgtree_v2())) {
		if (cgtree_base(cg->base, sizeof(cg->base), err, errlen) == -1)
			return errno == EPERM ? EXIT_CONFIG : EXIT_OSERR;
		/* We make the dyno's cgroup: we must not sit in the base. */
		if (cgtree_leave_base(cg->base, err, errlen) == -1)
			return EXIT_OSERR;
		if (state_pathf(cg->v2dir, sizeof(cg->v2dir), "%s/%s",
		    cg->base, cg->rel) == -1)
			goto toolong;
		return 0;
	}
	if (path_v1(cg->mem, sizeof(cg->mem), "memory", cg->rel) == -1 ||
	    path_v1(cg->pids, sizeof(cg->pids), "pids", cg->rel) == -1 ||
	    path_v1(cg->cpu, sizeof(cg->cpu), "cpu", cg->rel) == -1)
		goto toolong;
	return 0;
toolong:
	snprintf(err, errlen, "cgroup path too long");
	return EXIT_OSERR;
}

int
cg_create(struct cg *cg, const struct dyno *d, char *err, size_t errlen)
{
	int rc;

	if (cg->v2)
		return (rc = create_v2(cg, err, errlen)) != 0 ? rc :
		    limits_v2(cg, d, err, errlen);
	if (mkdir_v1(cg->mem) == -1 || mkdir_v1(cg->pids) == -1 ||
	    mkdir_v1(cg->cpu) == -1) {
		snprintf(err, errlen, "create cgroup %s: %s", cg->rel,
		    strerror(errno));
		cg_remove(cg);
		return EXIT_OSERR;
	}
	return limits_v1(cg, d, err, errlen);
}

/*
 * Called by the dyno's future init, in its own process, before anything
 * of the dyno's runs, with the host's tree under `root`: v2 dynos are born inside their cgroup (CLONE_INTO_CGROUP), this is
 * for v1 (and v2 without clone3).  On v1 it writes "0" (itself) to each
 * hierarchy's `tasks`: moving the current thread skips the kernel's global
 * threadgroup lock, whose write side waits for an RCU grace period (about
 * 6-12 ms) every time, as writing a pid to cgroup.procs does.  The caller is
 * single-threaded (a fresh clone), so its one thread is the whole process.
 */
int
cg_join(const struct cg *cg, const char *root, char *err, size_t errlen)
{
	const char *dirs[] = { cg->mem, cg->pids, cg->cpu };
	char dir[PATH_MAX];
	size_t i;

	if (cg->v2) {
		if (state_pathf(dir, sizeof(dir), "%s%s", root, cg->v2dir) ==
		    -1 || cgtree_write(dir, "cgroup.procs", "0") == -1)
			goto fail;
		return 0;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (dirs[i][0] == '\0')
			continue;
		if (state_pathf(dir, sizeof(dir), "%s%s", root, dirs[i]) == -1 ||
		    cgtree_write(dir, "tasks", "0") == -1)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "move into cgroup %s: %s", cg->rel,
	    strerror(errno));
	return -1;
}

/* SIGKILL every process listed in dir/cgroup.procs; how many were left. */
static int
kill_listed(const char *dir)
{
	char path[PATH_MAX], *data = NULL, *p, *end;
	int n = 0;
	long pid;

	if (dir[0] == '\0' || state_pathf(path, sizeof(path),
	    "%s/cgroup.procs", dir) == -1 ||
	    state_read(path, 1 << 20, &data, NULL) == -1)
		return 0;
	for (p = data; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
		while (*end == '\n')
			end++;
	}
	free(data);
	return n;
}

const char *
cg_path(const struct cg *cg)
{
	if (!cg->v2)
		return cg->rel;
	/* v2dir is CGROOT "/..." (or CGROOT itself, never for a dyno) */
	return cg->v2dir + strlen(CGROOT) + (cg->v2dir[strlen(CGROOT)] == '/');
}

void
cg_kill(struct cg *cg)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int tries;

	if (cg->v2 && cgtree_write(cg->v2dir, "cgroup.kill", "1") == 0)
		return;
	/* No cgroup.kill: repeat until a pass finds nobody (forks race). */
	for (tries = 0; tries < 200; tries++) {
		if (kill_listed(cg->v2 ? cg->v2dir : cg->pids) == 0)
			return;
		nanosleep(&ts, NULL);
	}
}

static void
rmdir_retry(const char *dir)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int tries;

	if (dir[0] == '\0')
		return;
	/* Dying tasks keep a cgroup busy for a moment after SIGKILL. */
	for (tries = 0; tries < 300; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		if (tries % 20 == 19)
			kill_listed(dir);
		nanosleep(&ts, NULL);
	}
}

static void
rmdir_parent(const char *dir)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dir, '/');

	if (dir[0] == '\0' || slash == NULL || state_pathf(parent,
	    sizeof(parent), "%.*s", (int)(slash - dir), dir) == -1)
		return;
	(void)rmdir(parent);	/* ENOTEMPTY while other dynos of the app run */
}

void
cg_remove(struct cg *cg)
{
	if (cg->v2fd != -1) {
		close(cg->v2fd);
		cg->v2fd = -1;
	}
	rmdir_retry(cg->v2dir);
	rmdir_retry(cg->mem);
	rmdir_retry(cg->pids);
	rmdir_retry(cg->cpu);
	/* The app's folder too, when this was its last dyno (best effort). */
	rmdir_parent(cg->v2dir);
	rmdir_parent(cg->mem);
	rmdir_parent(cg->pids);
	rmdir_parent(cg->cpu);
}

uint64_t
cg_mem_current(const struct cg *cg)
{
	return cg->v2 ? read_u64(cg->v2dir, "memory.current", NULL) :
	    read_u64(cg->mem, "memory.usage_in_bytes", NULL);
}

uint64_t
cg_mem_peak(const struct cg *cg)
{
	uint64_t v;

	if (!cg->v2)
		return read_u64(cg->mem, "memory.max_usage_in_bytes", NULL);
	v = read_u64(cg->v2dir, "memory.peak", NULL);
	return v ? v : cg_mem_current(cg);
}

/* v2: the anonymous memory of the dyno, from memory.stat. */
static uint64_t
anon_v2(const struct cg *cg)
{
	return read_u64(cg->v2dir, "memory.stat", "anon");
}

int
cg_oom_happened(struct cg *cg, uint64_t limit)
{
	uint64_t n;

	if (!cg->v2) {
		if (read_u64(cg->mem, "memory.oom_control", "under_oom") != 0)
			return 1;
		n = read_u64(cg->mem, "memory.oom_control", "oom_kill");
	} else {
		/* At memory.high with (nearly) all of it anonymous memory. */
		if (anon_v2(cg) >= limit - limit / 32)
			return 1;
		n = read_u64(cg->v2dir, "memory.events", "oom_kill");
	}
	if (n == cg->oom_kills)
		return 0;
	cg->oom_kills = n;
	return 1;
}
