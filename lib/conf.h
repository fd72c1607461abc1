/* SPDX-License-Identifier: ISC */
/* dyno.conf: typed settings with a built-in default for every key (inih). */
#ifndef DYNO_CONF_H
#define DYNO_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_SIZES		24
#define CONF_MAX_BACKOFF	12
#define CONF_NAME_MAX		32
/* RFC 8555 directory of Let's Encrypt's production service. */
#define CONF_ACM_DIRECTORY	"https://acme-v02.api.letsencrypt.org/directory"

/*
 * The router's TLS 1.2 ciphers by default: forward secret AEAD only
 * (Mozilla's "intermediate" without DHE); TLS 1.3's suites: all three.
 */
#define CONF_TLS_CIPHERS	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" \
	"ECDHE-RSA-CHACHA20-POLY1305"
#define CONF_TLS_CIPHERSUITES	"TLS_AES_128_GCM_SHA256:" \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* A dyno size (heroku.md section 8.2): "[size NAME]" sections. */
struct dyno_size {
	char		name[CONF_NAME_MAX];
	uint64_t	memory;		/* quota in bytes: R14 above it */
	uint64_t	memory_max;	/* hard limit in bytes: R15 and SIGKILL */
	unsigned	pids;		/* processes + threads */
	unsigned	cpu_weight;	/* cgroup v2 cpu.weight, 1..10000 */
};

struct conf {
	char		path[PATH_MAX];		/* file read, "" if none */
	char		root[PATH_MAX];		/* DYNO_ROOT */
	char		rundir[PATH_MAX];	/* DYNO_RUNDIR */

	/* [dyno] */
	uint64_t	grace_ms;		/* grace = 30s */
	uint64_t	boot_timeout_ms;	/* boot_timeout = 60s */
	char		user[64];		/* user = nobody */
	char		size[CONF_NAME_MAX];	/* size = standard-1x */
	uint64_t	tmp_size;		/* tmp_size = 256M */
	char		stack[PATH_MAX];	/* stack = (host) */
	int		userns;			/* userns = auto (-1) */
	unsigned	userns_base;		/* userns_base = 1879048192 */
	unsigned	userns_size;		/* userns_size = 65536 ids */
	unsigned	userns_ranges;		/* userns_ranges = 4096 */

	/* [manager] */
	uint64_t	backoff_ms[CONF_MAX_BACKOFF];	/* restart_backoff */
	unsigned	nbackoff;
	char		network[64];		/* network = space:common */
	char		common_range[32];	/* common_range = 172.16.0.0/16 */
	unsigned	base_port;		/* base_port = 5000 */
	uint64_t	crash_reset_ms;		/* crash_reset = 10m */
	uint64_t	metrics_interval_ms;	/* metrics_interval = 20s */
	unsigned	max_dynos;		/* max_dynos = 100 (per app) */
	unsigned	start_parallel;		/* start_parallel = 0 (auto) */

	/* [cycle] */
	uint64_t	cycle_max_age_ms;	/* max_age = 24h */
	uint64_t	cycle_jitter_ms;	/* jitter = 216m */

	/* [router] */
	uint64_t	connect_timeout_ms;	/* connect_timeout = 5s */
	uint64_t	connect_wait_ms;	/* connect_wait = 15 x connect_timeout */
	uint64_t	quarantine_ms;		/* quarantine = 5s */
	unsigned	max_tries;		/* max_tries = 10 */
	uint64_t	response_timeout_ms;	/* response_timeout = 30s (H12) */
	uint64_t	idle_timeout_ms;	/* idle_timeout = 55s (H15/H28) */
	uint64_t	keepalive_timeout_ms;	/* keepalive_timeout = 90s */
	uint64_t	client_idle_ms;		/* client_keepalive = 75s */
	unsigned	backlog_per_dyno;	/* backlog_per_dyno = 200 (H11) */
	uint64_t	shutdown_timeout_ms;	/* shutdown_timeout = 30s */
	uint64_t	head_timeout_ms;	/* request_head_timeout = 10s */
	unsigned	max_connections;	/* max_connections = 8192 (worker) */
	unsigned	max_conns_per_ip;	/* max_connections_per_ip = 256 */
	char		tls_ciphers[512];	/* tls_ciphers = (CONF_TLS_CIPHERS) */
	char		tls_ciphersuites[256];	/* tls_ciphersuites = (TLS 1.3's) */

	/* [logs] */
	unsigned	history_lines;		/* history = 1500 */
	unsigned	line_max;		/* line_max = 10000 */
	unsigned	drain_buffer;		/* drain_buffer = 1024 */
	unsigned	max_drains;		/* max_drains = 5 */
	unsigned	tail_buffer;		/* tail_buffer = 1024 lines */
	uint64_t	flush_timeout_ms;	/* flush_timeout = 5s */
	uint64_t	http_idle_ms;		/* http_drain_idle = 144s */
	uint64_t	syslog_idle_ms;		/* syslog_drain_idle = 240s */
	uint64_t	drain_ttl_ms;		/* drain_max_ttl = 5h */
	uint64_t	drain_degraded_ms;	/* drain_degraded_after = 5m */
	char		drain_ca_file[PATH_MAX];	/* drain_ca_file = (system CAs only) */

	/* [release] */
	uint64_t	slug_max;		/* slug_max = 500M */
	unsigned	keep_slugs;		/* keep_slugs = 10 */
	uint64_t	config_max;		/* config_max = 64K */
	uint64_t	release_timeout_ms;	/* release_timeout = 1h */

	/* [build] (dyno-build) */
	uint64_t	build_timeout_ms;	/* timeout = 15m */
	char		build_size[CONF_NAME_MAX];	/* size = performance-m */
	char		build_network[64];	/* network = (dyno-run's default) */
	char		build_buildpacks[PATH_MAX];	/* buildpacks = (beside the tool) */
	uint64_t	build_disk;		/* disk = 2G (the build folder's tmpfs) */
	char		build_authorized_keys[PATH_MAX];	/* authorized_keys = /root/.ssh/authorized_keys */

	/* [cluster] (dyno-agent): none of it set = one host, as ever */
	char		cluster_etcd[1024];	/* etcd = URL,URL,... ("" = none) */
	char		cluster_host[64];	/* host = NAME (default: hostname) */
	char		cluster_address[64];	/* address = IP (the underlay) */
	uint64_t	cluster_ttl_ms;		/* lease_ttl = 10s */
	unsigned	cluster_capacity;	/* capacity = 100 dynos */
	char		cluster_slug_url[256];	/* slug_url = (none: serves none) */
	char		cluster_log_addr[128];	/* log_addr = (none) */
	/* [cluster] (space-net: this host's share of each space) */
	unsigned	cluster_index;		/* index = 0 (none: one host) */

	/* [acm] (dyno-certs --acm-run) */
	char		acm_directory[1024];	/* directory = Let's Encrypt's */
	char		acm_uacme[PATH_MAX];	/* uacme = uacme (PATH) */
	char		acm_hook[PATH_MAX];	/* hook = (dyno-acm-hook beside the tool) */
	char		acm_contact[256];	/* contact = (none) */
	uint64_t	acm_renew_before_ms;	/* renew_before = 30d */
	uint64_t	acm_retry_ms;		/* retry = 5m, doubled each failure */
	unsigned	acm_attempts;		/* attempts = 8, then Failed */
	uint64_t	acm_timeout_ms;		/* timeout = 10m (one uacme run) */

	struct dyno_size sizes[CONF_MAX_SIZES];
	unsigned	nsizes;
};

/* Fill every field with its built-in default (DYNO_ROOT etc. not read). */
void	conf_defaults(struct conf *c);

/*
 * The whole sequence every tool runs: defaults, then the file named by
 * DYNO_CONF (default /etc/dyno/dyno.conf; a missing default file is fine,
 * a missing DYNO_CONF is not), then DYNO_ROOT and DYNO_RUNDIR from the
 * environment.  Returns 0, or -1 with err = "FILE:LINE: what: why".
 */
int	conf_load(struct conf *c, char *err, size_t errlen);

/* Read one INI file over the current values.  0, or -1 and err. */
int	conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);

/* The size called `name` (case-insensitive), or NULL. */
const struct dyno_size *conf_size(const struct conf *c, const char *name);

#endif
