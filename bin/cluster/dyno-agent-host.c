/* SPDX-License-Identifier: ISC */
/* dyno-agent: this host's lease, its registration, and fencing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster.h"
#include "diag.h"
#include "state.h"
#include "dyno-agent.h"

/* DYNO_RUNDIR/cluster/lease: the lease id, for adoption after a restart. */
static void
lease_path(const struct agent *a, char *buf, size_t size)
{
	state_pathf(buf, size, "%s/cluster/lease", a->conf->rundir);
}

static void
save_lease(const struct agent *a)
{
	char path[PATH_MAX], buf[32], dir[PATH_MAX];
	int len = snprintf(buf, sizeof(buf), "%" PRId64 "\n", a->lease);

	state_pathf(dir, sizeof(dir), "%s/cluster", a->conf->rundir);
	state_mkdirs(dir, 0755);
	lease_path(a, path, sizeof(path));
	if (state_replace(path, buf, (size_t)len, 0600, 0) == -1)
		diag_warn_errno("%s", path);
}

/* hosts/<me> = {addr, capacity, slug_url, log_addr} on the lease. */
static int
put_host(struct agent *a)
{
	char key[256], err[256], *v;
	json_t *j;
	int rc;

	j = json_pack("{s:s, s:i, s:i, s:s, s:s}", "addr",
	    a->conf->cluster_address, "capacity", (int)a->conf->cluster_capacity,
	    "index", (int)a->conf->cluster_index, "slug_url",
	    a->conf->cluster_slug_url, "log_addr", a->conf->cluster_log_addr);
	if (j == NULL || (v = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	snprintf(key, sizeof(key), AGENT_PREFIX "hosts/%s", a->host);
	if ((rc = etcd_put(a->etcd, key, v, strlen(v), a->lease, err,
	    sizeof(err))) == -1)
		diag_warn("%s: %s", key, err);
	free(v);
	return rc;
}

void
host_adopt_lease(struct agent *a)
{
	char path[PATH_MAX], *data, err[256];
	long ttl = 0;
	int64_t id;

	lease_path(a, path, sizeof(path));
	if (state_read(path, 64, &data, NULL) == -1)
		return;
	id = strtoll(data, NULL, 10);
	free(data);
	/* a lease that still holds is ours to keep; a lost one never again */
	if (id != 0 && etcd_lease_keepalive(a->etcd, id, &ttl, err,
	    sizeof(err)) == 0 && ttl > 0) {
		a->lease = id;
		a->ok_sent = a->ka_sent = cluster_now_ms();
		diag_warn("%s: took over lease %" PRId64 " of the agent before",
		    a->host, id);
		if (put_host(a) == -1)
			a->lease = 0;
	}
}

static void
take_lease(struct agent *a)
{
	char err[256];
	uint64_t sent = cluster_now_ms();
	long granted;

	if (etcd_lease_grant(a->etcd, (long)(a->ttl_ms / 1000), &a->lease,
	    &granted, err, sizeof(err)) == -1) {
		diag_warn_ratelimited(1, 10000, "%s: no lease: %s", a->host, err);
		a->lease = 0;
		return;
	}
	if (put_host(a) == -1) {
		etcd_lease_revoke(a->etcd, a->lease, NULL, 0);
		a->lease = 0;
		return;
	}
	a->ka_sent = a->ok_sent = sent;
	a->refused_only = 1;
	a->fenced = 0;
	a->down_said = 0;
	save_lease(a);
	diag_warn("%s: registered with lease %" PRId64 " (TTL %lds)", a->host,
	    a->lease, granted);
}

/*
 * Stop everything here: the managers see the fence deadline pass on their
 * own (they read DYNO_RUNDIR/cluster/fence); the agent forgets the lease so
 * that it comes back with a new one, and is no longer the placer.
 */
static void
fence(struct agent *a, const char *why)
{
	diag_warn("%s: fenced: %s: every dyno of this host stops", a->host, why);
	cluster_fence_write(a->conf->rundir, 0);
	if (a->lease != 0)
		etcd_lease_revoke(a->etcd, a->lease, NULL, 0);
	a->lease = 0;
	a->placer_rev = 0;
	a->fenced = 1;
	local_forget(a);
}

/* One renewal, every TTL/3. */
static void
renew(struct agent *a, uint64_t now)
{
	char err[256];
	long ttl;

	a->ka_sent = now;
	if (etcd_lease_keepalive(a->etcd, a->lease, &ttl, err,
	    sizeof(err)) == 0) {
		if (ttl > 0) {
			a->ok_sent = now;
			a->refused_only = 1;
			if (a->down_said)
				diag_warn("%s: etcd answers again", a->host);
			a->down_said = 0;
		} else
			fence(a, "the lease is gone (expired or revoked)");
		return;
	}
	if (errno != ECONNREFUSED)
		a->refused_only = 0;
	diag_warn_ratelimited(2, 5000, "%s: lease renewal failed: %s", a->host,
	    err);
}

void
host_tick(struct agent *a)
{
	uint64_t now = cluster_now_ms();

	if (a->lease == 0) {
		take_lease(a);
		return;
	}
	/*
	 * The deadline first: an agent that was stopped or frozen past it
	 * must not renew and go on as if nothing happened (its managers have
	 * fenced already); it comes back with a new lease.
	 */
	if (now - a->ok_sent < a->ttl_ms - AGENT_MARGIN_MS) {
		if (now - a->ka_sent >= a->ttl_ms / 3)
			renew(a, now);
		return;
	}
	if (host_refused(a) && now - a->ka_sent >= a->ttl_ms / 3)
		renew(a, now);	/* etcd down: is it back? */
	if (a->lease == 0 || now - a->ok_sent < a->ttl_ms - AGENT_MARGIN_MS)
		return;
	/*
	 * No renewal for TTL - margin.  Every member refusing means etcd is
	 * down everywhere: no placer can move a dyno, so nothing stops.  Any
	 * other failure (silence, timeouts, errors) may be a partition of this
	 * host alone, whose lease runs out while the others carry on: fence.
	 */
	if (host_refused(a)) {
		if (!a->down_said)
			diag_warn("%s: etcd is down on every member: keeping every "
			    "dyno running until it is back", a->host);
		a->down_said = 1;
		return;
	}
	fence(a, "no lease renewal within the lease's TTL less 3s");
}

int
host_refused(const struct agent *a)
{
	return a->lease != 0 && a->refused_only && a->ka_sent != a->ok_sent;
}

int
host_live(const struct agent *a)
{
	return a->lease != 0 && cluster_now_ms() - a->ok_sent < a->ttl_ms -
	    AGENT_MARGIN_MS;
}

void
host_extend_fence(struct agent *a)
{
	uint64_t deadline;

	if (a->lease == 0)
		return;
	/*
	 * While every failed renewal since the last good one was refused (etcd
	 * down, not out of reach), the managers' deadline moves on with time:
	 * they must not fence a moment before the agent decides not to.
	 */
	deadline = a->ok_sent + a->ttl_ms - AGENT_MARGIN_MS;
	if (host_refused(a) && cluster_now_ms() + a->ttl_ms - AGENT_MARGIN_MS >
	    deadline)
		deadline = cluster_now_ms() + a->ttl_ms - AGENT_MARGIN_MS;
	if (cluster_fence_write(a->conf->rundir, deadline) == -1)
		diag_warn_errno("%s/cluster/fence", a->conf->rundir);
}
