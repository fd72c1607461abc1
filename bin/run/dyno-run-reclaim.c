/* SPDX-License-Identifier: ISC */
/* dyno-run: undo what a dyno-run killed outright left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dyno-run.h"
#include "state.h"

#define RECORD_MAX	(8 * PATH_MAX)

/*
 * What a record holds: enough to undo the dyno without its dyno-run.
 * The start time tells a dead dyno-run from a new process with its pid.
 */
struct record {
	long		 pid, init;
	unsigned long long start;
	struct cg	 cg;
	char		 space[160], name[72], app[64];
	char		 info[PATH_MAX];
};

/* The start time of process `pid` (clock ticks since boot), 0 if none. */
static unsigned long long
proc_start(long pid)
{
	char path[64], *text, *p;
	unsigned long long t = 0;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (state_read(path, 4096, &text, NULL) == -1)
		return 0;
	/* Field 22; the command name (field 2) may hold spaces and ')'. */
	if ((p = strrchr(text, ')')) != NULL) {
		for (i = 2; i < 22 && p != NULL; i++)
			p = strchr(p + 1, ' ');
		if (p != NULL)
			t = strtoull(p + 1, NULL, 10);
	}
	free(text);
	return t;
}

int
reclaim_note(const char *rundir, const struct dyno *d, const struct cg *cg,
    pid_t init, const char *info, char *path, size_t pathlen)
{
	char dir[PATH_MAX], text[RECORD_MAX];
	const char *leaf = strrchr(cg->rel, '/');
	int n, fd;

	if (state_pathf(dir, sizeof(dir), "%s/dynos/%s", rundir, d->app) == -1
	    || state_pathf(path, pathlen, "%s/%s", dir, leaf + 1) == -1 ||
	    state_mkdirs(dir, 0700) == -1)
		return -1;
	n = snprintf(text, sizeof(text), "pid=%ld\nstart=%llu\ninit=%ld\n"
	    "v2=%d\nv2dir=%s\nmem=%s\npids=%s\ncpu=%s\nspace=%s\nname=%s\n"
	    "app=%s\ninfo=%s\n", (long)getpid(), proc_start(getpid()),
	    (long)init, cg->v2, cg->v2dir, cg->mem, cg->pids, cg->cpu,
	    d->net == NET_SPACE ? d->space : "", d->name, d->app,
	    info ? info : "");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (state_replace(path, text, (size_t)n, 0600, 0) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	/* Held until we exit: a sweep's LOCK_EX|LOCK_NB fails at once. */
	if (flock(fd, LOCK_SH) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy the value of "key=" in text, "" when absent or too long. */
static void
field(const char *text, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), len;
	const char *p;

	out[0] = '\0';
	for (p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			p += kl + 1;
			if ((len = strcspn(p, "\n")) < size)
				snprintf(out, size, "%.*s", (int)len, p);
			return;
		}
}

/* A cgroup folder we may kill and remove: a dyno's, under CGROOT. */
static int
dyno_cgroup(const char *dir)
{
	return dir[0] == '\0' || (strncmp(dir, "/sys/fs/cgroup/", 15) == 0 &&
	    strstr(dir, "/dyno/") != NULL && strstr(dir, "/..") == NULL);
}

static int
record_parse(const char *text, struct record *r)
{
	char num[32];

	memset(r, 0, sizeof(*r));
	r->cg.v2fd = -1;
	field(text, "pid", num, sizeof(num));
	r->pid = strtol(num, NULL, 10);
	field(text, "start", num, sizeof(num));
	r->start = strtoull(num, NULL, 10);
	field(text, "init", num, sizeof(num));
	r->init = strtol(num, NULL, 10);
	field(text, "v2", num, sizeof(num));
	r->cg.v2 = strcmp(num, "1") == 0;
	field(text, "v2dir", r->cg.v2dir, sizeof(r->cg.v2dir));
	field(text, "mem", r->cg.mem, sizeof(r->cg.mem));
	field(text, "pids", r->cg.pids, sizeof(r->cg.pids));
	field(text, "cpu", r->cg.cpu, sizeof(r->cg.cpu));
	field(text, "space", r->space, sizeof(r->space));
	field(text, "name", r->name, sizeof(r->name));
	field(text, "app", r->app, sizeof(r->app));
	field(text, "info", r->info, sizeof(r->info));
	if (r->pid <= 0 || !dyno_cgroup(r->cg.v2dir) ||
	    !dyno_cgroup(r->cg.mem) || !dyno_cgroup(r->cg.pids) ||
	    !dyno_cgroup(r->cg.cpu))
		return -1;
	return 0;
}

/* The info file, if it still describes the dead dyno-run. */
static void
remove_info(const struct record *r)
{
	char *text, pid[32];

	if (r->info[0] == '\0' || state_read(r->info, 4096, &text, NULL) == -1)
		return;
	field(text, "pid", pid, sizeof(pid));
	if (strtol(pid, NULL, 10) == r->pid)
		(void)unlink(r->info);
	free(text);
}

/* A private-space dyno's folder of names, beside its record. */
static void
remove_dns(const char *record)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s.dns/hosts", record) == 0)
		(void)unlink(path);
	if (state_pathf(path, sizeof(path), "%s.dns", record) == 0)
		(void)rmdir(path);
}

/*
 * Reclaim one record, unless its dyno-run still runs or another reclaimer
 * holds it: every step is idempotent, so one that dies half-way is taken
 * over by the next.  1 when reclaimed, else 0.
 */
static int
reclaim_one(const char *path)
{
	struct record r;
	struct stat st;
	char *text;
	int fd, done = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 || fstat(fd, &st) == -1 ||
	    st.st_nlink == 0 || state_read(path, RECORD_MAX, &text, NULL) == -1)
		goto out;
	if (record_parse(text, &r) == -1) {
		(void)unlink(path);	/* not ours: nothing to undo */
		free(text);
		goto out;
	}
	free(text);
	if (proc_start(r.pid) == r.start)
		goto out;		/* alive: its dyno-run undoes it */
	cg_kill(&r.cg);
	cg_remove(&r.cg);
	if (r.space[0] != '\0' && r.init > 0)
		net_detach_lease(r.space, r.name, r.app, (pid_t)r.init);
	remove_info(&r);
	remove_dns(path);
	(void)unlink(path);
	done = 1;
out:
	close(fd);
	return done;
}

/* Every record in DYNO_RUNDIR/dynos/APP; how many were reclaimed. */
static int
sweep_app(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	/* Temp files of state_replace() are hidden: skipped with the dots. */
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strstr(de->d_name, ".dns") == NULL &&
		    state_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == 0)
			n += reclaim_one(path);
	closedir(d);
	return n;
}

int
reclaim_sweep(const char *rundir, const char *app)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (app != NULL)
		return state_pathf(dir, sizeof(dir), "%s/dynos/%s", rundir,
		    app) == -1 ? 0 : sweep_app(dir);
	if (state_pathf(dir, sizeof(dir), "%s/dynos", rundir) == -1 ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && state_pathf(sub, sizeof(sub),
		    "%s/%s", dir, de->d_name) == 0)
			n += sweep_app(sub);
	closedir(d);
	return n;
}
