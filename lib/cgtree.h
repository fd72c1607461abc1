/* SPDX-License-Identifier: ISC */
/* Where dyno's cgroups live on cgroup v2, and how they are made there. */
#ifndef DYNO_CGTREE_H
#define DYNO_CGTREE_H

#include <stddef.h>

#define CGTREE_MOUNT	"/sys/fs/cgroup"
/* What every dyno's cgroup limits: the controllers enabled on the way. */
#define CGTREE_CONTROLLERS	"cpu memory pids"
/* The leaf a supervisor moves into when it sits in the base itself. */
#define CGTREE_SUPERVISOR	"supervisor"

/*
 * 1 when CGTREE_MOUNT is a cgroup2 mount (a pure v2 host), 0 when it is
 * not (v1 or hybrid: dyno uses the v1 controllers there).
 */
int	cgtree_v2(void);

/*
 * The folder under which dyno may make cgroups, following systemd's
 * delegation rules: the nearest ancestor of our own cgroup that systemd
 * delegated (it marks those with the trusted.delegate xattr); without
 * systemd, the root of the hierarchy as this process sees it.  Fills
 * `base` with an absolute path.  0, or -1 with errno and `err` filled:
 * EPERM when systemd runs and no delegated cgroup holds us.
 */
int	cgtree_base(char *base, size_t size, char *err, size_t errlen);

/*
 * 1 when systemd manages this machine's cgroups (/run/systemd/system),
 * else 0.
 */
int	cgtree_systemd(void);

/*
 * The "no internal processes" rule: a cgroup that holds processes cannot
 * give controllers to its children.  When the calling process sits in
 * `base` itself (not the hierarchy's root, which is exempt), move it into
 * base/supervisor.  0, or -1 with errno and `err` filled.
 */
int	cgtree_leave_base(const char *base, char *err, size_t errlen);

/*
 * Make base/rel (rel is "a/b/leaf"), enabling CGTREE_CONTROLLERS top-down:
 * in base, then in each folder on the way, as a cgroup can only enable
 * what its parent gave it.  Survives a concurrent removal of an emptied
 * folder on the way.  0, or -1 with errno and `err` filled: ENOTSUP when
 * a controller is not available in base (err names it and what to do),
 * EBUSY when base holds processes other than ours.
 */
int	cgtree_make(const char *base, const char *rel, char *err,
	    size_t errlen);

/*
 * Write val to the control file dir/file with one write(2), as cgroupfs
 * wants (no temporary file and rename: cgroupfs makes no files).  0, or
 * -1 with errno.
 */
int	cgtree_write(const char *dir, const char *file, const char *val);

/*
 * 1 when rel (relative to a hierarchy, a leading '/' allowed) is a dyno's
 * own cgroup, [BASE/]dyno/APP/LEAF, with no "..": what a process may be
 * told to kill or remove from an info file it did not write.  Else 0.
 */
int	cgtree_dyno_rel(const char *rel);

/*
 * The i-th folder (i from 0) where the cgroup rel is: on v2 (v2 != 0)
 * CGTREE_MOUNT/rel alone; on v1 rel in the pids, memory and cpu
 * hierarchies.  0, or -1 past the last one (or with ENAMETOOLONG).
 */
int	cgtree_dir(int v2, size_t i, const char *rel, char *dir, size_t size);

/*
 * Under systemd, on cgroup v2, outside any delegated cgroup: run the
 * program again, as argv, inside a new transient scope with Delegate=yes
 * in dyno.slice (systemd-run --scope), the way container managers ask
 * systemd for a subtree.  Once only: DYNO_SCOPE=1 in the environment
 * marks the second run.  Returns 0 when nothing needed doing, or -1 with
 * errno when the exec failed; does not return when it succeeded.
 */
int	cgtree_scope_exec(char *const argv[]);

#endif
