/* SPDX-License-Identifier: ISC */
/* dyno-agent's private interfaces between its main and its parts. */
#ifndef DYNO_AGENT_H
#define DYNO_AGENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "etcd.h"

#define AGENT_PREFIX	"/dyno/"
#define AGENT_MARGIN_MS	3000	/* fence this long before the lease ends */
#define AGENT_TICK_MS	500	/* one round of the agent's loop */
#define AGENT_BURST_MS	20	/* changes this close: one round */

/* A status key this host wrote, and what (so only changes are written). */
struct pubkey {
	char		*key;
	char		*value;
};

struct watcher;

struct agent {
	const struct conf *conf;
	struct watcher	*watch;		/* dyno-agent-watch.c */
	struct etcd	*etcd;
	char		 host[64];
	char		 manager[PATH_MAX];	/* dyno-manager to run */
	uint64_t	 ttl_ms;

	/* dyno-agent-host.c: the lease and the fence */
	int64_t		 lease;
	uint64_t	 ka_sent;	/* last keepalive sent (monotonic ms) */
	uint64_t	 ok_sent;	/* send time of the last one that held */
	int		 refused_only;	/* every failure since: all refused */
	int		 down_said;	/* "etcd is down" logged */
	int		 fenced;

	/* dyno-agent-place.c: the placer */
	int64_t		 placer_rev;	/* create_revision of our placer key */
	unsigned long	 writes;	/* txns the placer made */
	int64_t		 wait_rev;	/* our last write: not placed again */
	uint64_t	 wait_since;	/* before the watch shows it */

	/* dyno-agent-local.c: this host's dynos */
	struct pubkey	*pub;
	size_t		 npub, pubcap;
	char		**routes;	/* "app\ncontent" last written */
	size_t		 nroutes;
	char		 release[PATH_MAX];	/* the release tool */
	struct follow {
		char	 app[32];
		pid_t	 pid;
		uint64_t last;		/* started (monotonic ms) */
	}		 follows[8];	/* release follow APP, recent */

	/* dyno-agent-logs.c: drains agreed with etcd, per app */
	struct logsync	*logs;
	size_t		 nlogs;

	/* dyno-agent-net.c: space-net peers made */
	char		 spacenet[PATH_MAX];
	char		**peers;	/* "SPACE HOST ADDR SUBNET" */
	size_t		 npeers;
	char		**names_pub;	/* "SPACE LEASE\nnames" we put */
	size_t		 nnames_pub;
	char		**names_fed;	/* "SPACE HOST\nnames" space-net has */
	size_t		 nnames_fed;
};

/* ---- dyno-agent-host.c ---- */
/* Register (or renew) this host; fence when the lease cannot be held. */
void	host_tick(struct agent *a);
/* Whether the lease holds now (we may act on etcd's word). */
int	host_live(const struct agent *a);
/* Whether renewals fail only because every member refuses (etcd down). */
int	host_refused(const struct agent *a);
/* Give the managers the next fence deadline (after the assignments). */
void	host_extend_fence(struct agent *a);
/* The lease id from an earlier run of the agent, if it still holds. */
void	host_adopt_lease(struct agent *a);

/* ---- dyno-agent-place.c ---- */
/* Win or keep the placer role, then place once. */
void	place_tick(struct agent *a);

/* ---- dyno-agent-local.c ---- */
/* Assignments to managers; local states to status/; status/ to routes. */
void	local_tick(struct agent *a);
/* Forget what was published (a new lease publishes all again). */
void	local_forget(struct agent *a);
/* Reap managers that exited. */
void	local_reap(struct agent *a);

/* ---- dyno-agent-net.c ---- */
/*
 * Every local space reaches the other live hosts' parts (space-net peer),
 * and knows their dynos' names (spaces/<space>/names/<host>, peer names).
 */
void	net_tick(struct agent *a);

/* ---- dyno-agent-logs.c ---- */
/* Each cluster app's log-owner, log-tokens and drains, as etcd says. */
void	logs_tick(struct agent *a);

/* ---- dyno-agent-watch.c ---- */
/* Start the watch of /dyno/ in its thread.  0, or -1 (the agent polls). */
int	watch_start(struct agent *a);
void	watch_stop(struct agent *a);
/* Readable when the watch brought changes; watch_drain_fd reads it. */
int	watch_fd(const struct agent *a);
void	watch_drain_fd(const struct agent *a);
/* The revision the copy is at; 0 while it is out of sync. */
int64_t	watch_revision(const struct agent *a);
/* The keys and bytes (keys and values) the copy holds. */
void	watch_size(const struct agent *a, size_t *keys, size_t *bytes);
/*
 * The key (or every key under it) from the watched copy, as etcd_range
 * gives it (etcd_range_free it); without a watch, from etcd.  0, or -1
 * with errno (EAGAIN: the copy is out of sync: act on nothing).
 */
int	agent_range(struct agent *a, const char *key, int prefix,
	    struct etcd_range *out);
/*
 * Whether the rounds read key: all of /dyno/ but, under apps/<app>/, what
 * is not its formation, current, loghost, log-tokens or drains (release
 * records, with their config vars, and the release lock).
 */
int	agent_keeps(const char *key);
/* agent_range, only the keys keep(key) is non-zero for. */
int	agent_range_if(struct agent *a, const char *key, int prefix,
	    int (*keep)(const char *), struct etcd_range *out);

/* ---- dyno-agent-json.c ---- */
/* A JSON string value ("\"v3\"" -> "v3") or the raw text; malloc'd. */
char	*json_text(const char *value);
/* An integer field of a JSON object value, or dflt. */
long long json_int_field(const char *value, const char *name, long long dflt);
/* A string field of a JSON object value into buf ("" when absent). */
void	json_str_field(const char *value, const char *name, char *buf,
	    size_t size);

/* ---- dyno-agent-cmd.c ---- */
int	cmd_hosts(const struct conf *conf, struct etcd *e);
int	cmd_drain(const struct conf *conf, struct etcd *e, const char *host,
	    int on);

#endif
