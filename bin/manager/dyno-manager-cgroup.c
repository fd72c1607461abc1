/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: kill and sweep what a dyno-run left of its cgroups. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgtree.h"
#include "diag.h"
#include "state.h"
#include "dyno-manager-app.h"

int
mgr_cgroup_setup(struct mgr *m)
{
	char err[512];

	if (!cgtree_v2())
		return 0;
	if (cgtree_base(m->cgbase, sizeof(m->cgbase), err, sizeof(err)) ==
	    -1) {
		diag_error("%s", err);
		return errno == EPERM ? EXIT_CONFIG : EXIT_OSERR;
	}
	if (cgtree_leave_base(m->cgbase, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_OSERR;
	}
	return 0;
}

/* Write "1" to cgroup.kill (v2), else SIGKILL every pid of cgroup.procs. */
static void
kill_dir(const char *dir)
{
	char path[PATH_MAX], *procs, *p;

	if (cgtree_write(dir, "cgroup.kill", "1") == 0)
		return;
	if (state_pathf(path, sizeof(path), "%s/cgroup.procs", dir) == -1 ||
	    state_read(path, 1 << 20, &procs, NULL) == -1)
		return;
	for (p = procs; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n')
		if (atol(p) > 0)
			kill((pid_t)atol(p), SIGKILL);
	free(procs);
}

void
mgr_cgroup_kill(int v2, const char *rel)
{
	char dir[PATH_MAX];
	size_t i;

	/* Only ever a dyno's own cgroup, never a hierarchy's root. */
	if (!cgtree_dyno_rel(rel))
		return;
	for (i = 0; cgtree_dir(v2, i, rel, dir, sizeof(dir)) == 0; i++)
		if (access(dir, F_OK) == 0)
			kill_dir(dir);
}

/*
 * The dyno's cgroup from dyno-run's info file: "dyno/APP/NAME-PID", below
 * the v2 base on v2 ("system.slice/x.service/dyno/APP/NAME-PID").
 */
static int
info_cgroup(const char *info, char *rel, size_t size)
{
	char *text, *p;
	int ok = 0;

	if (state_read(info, 4096, &text, NULL) == -1)
		return 0;
	if ((p = strstr(text, "cgroup=")) != NULL) {
		p += 7;
		p[strcspn(p, "\n")] = '\0';
		p += *p == '/';
		ok = cgtree_dyno_rel(p) && snprintf(rel, size, "%s", p) <
		    (int)size;
	}
	free(text);
	return ok;
}

void
mgr_cgroup_kill_inst(struct mgr *m, struct inst *in)
{
	if (info_cgroup(in->info, in->cgroup, sizeof(in->cgroup)))
		mgr_cgroup_kill(m->cgbase[0] != '\0', in->cgroup);
}

/*
 * A dyno-run that died by a signal could not undo its dyno: `dyno-run
 * --reclaim` does, from the record each dyno-run keeps (cgroup, lease,
 * info file), in a child of its own so the loop goes on; SIGCHLD reaps it.
 */
void
mgr_cgroup_reclaim(struct mgr *m)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		diag_warn_errno("reclaim: fork");
		return;
	}
	if (pid != 0)
		return;
	evloop_child_sigreset();
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);
	close_range(3, ~0U, 0);
	execl(m->dynorun, "dyno-run", "--reclaim", (char *)NULL);
	_exit(EXIT_CANTRUN);
}

/* The app's own folder in each hierarchy, when the manager stops. */
void
mgr_cgroup_remove_app(struct mgr *m)
{
	char rel[PATH_MAX], dir[PATH_MAX];
	size_t i;

	if (m->cgbase[0] != '\0') {
		if (state_pathf(dir, sizeof(dir), "%s/dyno/%s", m->cgbase,
		    m->app.name) == 0)
			(void)rmdir(dir);
		return;
	}
	if (state_pathf(rel, sizeof(rel), "dyno/%s", m->app.name) == -1)
		return;
	for (i = 0; cgtree_dir(0, i, rel, dir, sizeof(dir)) == 0; i++)
		(void)rmdir(dir);
}

/* Is pid a dyno-run of this app (and not a stranger that reused the pid)? */
int
dynorun_of_app(pid_t pid, const char *app)
{
	char path[64], *cmd, *p;
	size_t len;
	int ours = 0;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if (state_read(path, 65536, &cmd, &len) == -1)
		return 0;
	if (strstr(cmd, "dyno-run") != NULL)
		for (p = cmd; p < cmd + len; p += strlen(p) + 1)
			if (strcmp(p, "--app") == 0 && p + strlen(p) + 1 < cmd + len &&
			    strcmp(p + strlen(p) + 1, app) == 0)
				ours = 1;
	free(cmd);
	return ours;
}
