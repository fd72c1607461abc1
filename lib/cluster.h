/* SPDX-License-Identifier: ISC */
/* The files dyno-agent gives a host's dyno-managers: assignments, fence. */
#ifndef DYNO_CLUSTER_H
#define DYNO_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_NAME_MAX	80	/* "web.12" and the like */

/*
 * APPDIR/assigned: the dyno names (TYPE.N, one per line) this host runs of
 * an app, written by dyno-agent only.  When the file exists dyno-manager
 * runs exactly these dynos instead of counting the formation (cluster
 * mode); when it does not, the app is a one-host app as ever.
 */

/*
 * Read APPDIR/assigned into names (at most max).  Returns how many, or -1
 * with errno: ENOENT no file (not a cluster app), EINVAL a line that is not
 * a dyno name, or a read error.
 */
int	cluster_assigned_read(const char *appdir,
	    char (*names)[CLUSTER_NAME_MAX], size_t max);

/* Replace APPDIR/assigned atomically with n names.  0 or -1 with errno. */
int	cluster_assigned_write(const char *appdir,
	    char (*names)[CLUSTER_NAME_MAX], size_t n);

/*
 * DYNO_RUNDIR/cluster/fence: the CLOCK_MONOTONIC time (ms) until which the
 * agent's etcd lease is known to hold (the send time of its last renewal +
 * TTL - margin).  Past it every manager in cluster mode stops its dynos by
 * itself: that covers an agent killed, stopped or frozen, which cannot
 * fence anything.  The monotonic clock is one per machine, so the agent
 * and the managers compare the same time.
 */
int	cluster_fence_write(const char *rundir, uint64_t deadline_ms);

/*
 * The deadline into *deadline_ms.  0, or -1 with errno (ENOENT: no agent
 * ever ran here; EINVAL: garbage).
 */
int	cluster_fence_read(const char *rundir, uint64_t *deadline_ms);

/* CLOCK_MONOTONIC in ms, as the fence file counts. */
uint64_t cluster_now_ms(void);

#endif
