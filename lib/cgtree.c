/* SPDX-License-Identifier: ISC */
/* Where dyno's cgroups live on cgroup v2, and how they are made there. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgtree.h"
#include "state.h"

int
cgtree_v2(void)
{
	struct statfs sf;

	return statfs(CGTREE_MOUNT, &sf) == 0 &&
	    sf.f_type == CGROUP2_SUPER_MAGIC;
}

int
cgtree_systemd(void)
{
	/* sd_booted(3)'s test, without linking libsystemd for it. */
	return access("/run/systemd/system", F_OK) == 0;
}

/* Our own cgroup as "/a/b" ("/" at the root), from /proc/self/cgroup. */
static int
self_cgroup(char *path, size_t size)
{
	char *data, *p;
	int rc = -1;

	if (state_read("/proc/self/cgroup", 65536, &data, NULL) == -1)
		return -1;
	/* The v2 line is "0::/path"; v1 lines have a controller list. */
	for (p = data; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : p)
		if (strncmp(p, "0::", 3) == 0) {
			p += 3;
			p[strcspn(p, "\n")] = '\0';
			rc = state_pathf(path, size, "%s", p);
			break;
		}
	if (p == NULL || *p == '\0')
		errno = ENOENT;
	free(data);
	return rc;
}

/* Has systemd delegated this cgroup folder (Delegate=yes on its unit)? */
static int
delegated(const char *dir)
{
	static const char *names[] = { "trusted.delegate", "user.delegate" };
	char v[8];
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = getxattr(dir, names[i], v, sizeof(v) - 1);
		if (n > 0) {
			v[n] = '\0';
			if (strcmp(v, "1") == 0)
				return 1;
		}
	}
	return 0;
}

int
cgtree_base(char *base, size_t size, char *err, size_t errlen)
{
	char own[PATH_MAX], dir[PATH_MAX], *slash;

	if (self_cgroup(own, sizeof(own)) == -1) {
		snprintf(err, errlen, "read /proc/self/cgroup: %s",
		    strerror(errno));
		return -1;
	}
	/* Without systemd, nobody else owns the tree: start at its root. */
	if (!cgtree_systemd())
		return state_pathf(base, size, "%s", CGTREE_MOUNT);
	/*
	 * systemd owns every cgroup it did not hand over: the nearest
	 * delegated ancestor is ours (systemd.io, "Control Group APIs and
	 * Delegation"); outside one, dyno makes nothing.
	 */
	for (;;) {
		if (state_pathf(dir, sizeof(dir), "%s%s", CGTREE_MOUNT,
		    strcmp(own, "/") == 0 ? "" : own) == -1)
			goto toolong;
		if (delegated(dir))
			return state_pathf(base, size, "%s", dir) == -1 ?
			    -1 : 0;
		if ((slash = strrchr(own, '/')) == NULL || slash == own)
			break;
		*slash = '\0';
	}
	(void)self_cgroup(own, sizeof(own));
	snprintf(err, errlen, "cgroup %s is not delegated to dyno by systemd: "
	    "run it from a unit with Delegate=yes (dyno-manager@.service, or "
	    "systemd-run --scope -p Delegate=yes)", own);
	errno = EPERM;
	return -1;
toolong:
	snprintf(err, errlen, "cgroup path too long");
	errno = ENAMETOOLONG;
	return -1;
}

int
cgtree_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

int
cgtree_dyno_rel(const char *rel)
{
	const char *d;

	rel += *rel == '/';
	if (strncmp(rel, "dyno/", 5) == 0)
		d = rel;
	else if ((d = strstr(rel, "/dyno/")) != NULL)
		d++;
	else
		return 0;
	/* dyno/APP/LEAF: a leaf below the app's folder, never a root. */
	return strchr(d + 5, '/') != NULL && strstr(rel, "..") == NULL;
}

/* The v1 hierarchies a dyno's cgroup is in (dyno-run makes it there). */
static const char *const roots_v1[] = { CGTREE_MOUNT "/pids",
    CGTREE_MOUNT "/memory", CGTREE_MOUNT "/cpu" };

int
cgtree_dir(int v2, size_t i, const char *rel, char *dir, size_t size)
{
	rel += *rel == '/';
	if (v2)
		return i == 0 ? state_pathf(dir, size, CGTREE_MOUNT "/%s", rel) :
		    -1;
	if (i >= sizeof(roots_v1) / sizeof(roots_v1[0]))
		return -1;
	return state_pathf(dir, size, "%s/%s", roots_v1[i], rel);
}

int
cgtree_leave_base(const char *base, char *err, size_t errlen)
{
	char own[PATH_MAX], dir[PATH_MAX], leaf[PATH_MAX];

	if (self_cgroup(own, sizeof(own)) == -1 ||
	    state_pathf(dir, sizeof(dir), "%s%s", CGTREE_MOUNT,
	    strcmp(own, "/") == 0 ? "" : own) == -1)
		goto fail;
	if (strcmp(dir, base) != 0)
		return 0;
	/* The true root is exempt from the rule (it has no cgroup.type). */
	if (strcmp(base, CGTREE_MOUNT) == 0 &&
	    access(CGTREE_MOUNT "/cgroup.type", F_OK) == -1)
		return 0;
	if (state_pathf(leaf, sizeof(leaf), "%s/%s", base,
	    CGTREE_SUPERVISOR) == -1 ||
	    (mkdir(leaf, 0755) == -1 && errno != EEXIST) ||
	    cgtree_write(leaf, "cgroup.procs", "0") == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "move into cgroup %s/%s: %s", base,
	    CGTREE_SUPERVISOR, strerror(errno));
	return -1;
}

/* Is `word` one of the space-separated words of `list`? */
static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* The first of CGTREE_CONTROLLERS missing from dir/file, or NULL. */
static const char *
missing(const char *dir, const char *file)
{
	static const char *ctl[] = { "cpu", "memory", "pids" };
	char path[PATH_MAX], *list;
	const char *miss = NULL;
	size_t i;

	if (state_pathf(path, sizeof(path), "%s/%s", dir, file) == -1 ||
	    state_read(path, 4096, &list, NULL) == -1)
		return ctl[0];
	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]) && miss == NULL; i++)
		if (!has_word(list, ctl[i]))
			miss = ctl[i];
	free(list);
	return miss;
}

/* Give dir's children the controllers; dir must have them itself. */
static int
enable(const char *dir, char *err, size_t errlen)
{
	const char *miss;

	if (access(dir, F_OK) == -1)
		return -1;		/* ENOENT: removed meanwhile, retried */
	if ((miss = missing(dir, "cgroup.controllers")) != NULL) {
		snprintf(err, errlen, "cgroup v2 controller %s is not available "
		    "in %s: enable it in its parent's cgroup.subtree_control "
		    "(under systemd: Delegate=yes on the unit)", miss, dir);
		errno = ENOTSUP;
		return -1;
	}
	if (missing(dir, "cgroup.subtree_control") == NULL)
		return 0;
	if (cgtree_write(dir, "cgroup.subtree_control", "+cpu +memory +pids") ==
	    0)
		return 0;
	if (errno == EBUSY)
		snprintf(err, errlen, "enable controllers in %s: it holds "
		    "processes (cgroup v2 lets only a cgroup without processes "
		    "give controllers to its children): move them into a leaf",
		    dir);
	else
		snprintf(err, errlen, "enable controllers in %s: %s", dir,
		    strerror(errno));
	return -1;
}

/* One pass of cgtree_make; ENOENT when a folder vanished on the way. */
static int
make_once(const char *base, const char *rel, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *p, *next;

	if (enable(base, err, errlen) == -1)
		return -1;
	for (p = rel; *p != '\0'; p = next + (*next == '/')) {
		next = p + strcspn(p, "/");
		if (state_pathf(dir, sizeof(dir), "%s/%.*s", base,
		    (int)(next - rel), rel) == -1)
			goto fail;
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			goto fail;
		if (*next != '\0' && enable(dir, err, errlen) == -1)
			return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "create cgroup %s: %s", dir, strerror(errno));
	return -1;
}

int
cgtree_make(const char *base, const char *rel, char *err, size_t errlen)
{
	int tries;

	/*
	 * Another dyno of the app may remove the emptied app folder between
	 * our mkdir and our next step (its last dyno went): start again.
	 */
	for (tries = 0; tries < 5; tries++) {
		if (make_once(base, rel, err, errlen) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
	}
	return -1;
}

int
cgtree_scope_exec(char *const argv[])
{
	static const char *pre[] = { "systemd-run", "--scope", "--quiet",
	    "--collect", "--slice=dyno.slice", "--property=Delegate=yes", "--" };
	size_t npre = sizeof(pre) / sizeof(pre[0]), argc, i;
	char exe[PATH_MAX], base[PATH_MAX], err[256];
	char **av;
	ssize_t n;

	if (getenv("DYNO_SCOPE") != NULL || !cgtree_v2() ||
	    !cgtree_systemd() || cgtree_base(base, sizeof(base), err,
	    sizeof(err)) == 0)
		return 0;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		return -1;
	exe[n] = '\0';
	for (argc = 0; argv[argc] != NULL; argc++)
		;
	if ((av = calloc(npre + argc + 1, sizeof(*av))) == NULL)
		return -1;
	for (i = 0; i < npre; i++)
		av[i] = (char *)pre[i];
	av[npre] = exe;
	for (i = 1; i < argc; i++)
		av[npre + i] = argv[i];
	if (setenv("DYNO_SCOPE", "1", 1) == -1)
		goto out;
	execvp(av[0], av);
out:
	free(av);
	return -1;
}
