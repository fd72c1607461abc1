/* SPDX-License-Identifier: ISC */
/* dyno.conf: a table of typed keys read with inih over built-in defaults. */
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "num.h"

#define DEFAULT_CONF	"/etc/dyno/dyno.conf"
#define MB		(1024ULL * 1024)
#define GB		(1024ULL * MB)

enum kind { K_DURATION, K_SIZE, K_UINT, K_STRING, K_BACKOFF, K_BOOL };

/* One key of a fixed section: where it lives in struct conf and its type. */
struct key {
	const char	*section;
	const char	*name;
	enum kind	 kind;
	size_t		 off;
	size_t		 len;		/* K_STRING: field size */
	unsigned	 min, max;	/* K_UINT bounds */
};

#define DUR(s, n, f)	{ s, n, K_DURATION, offsetof(struct conf, f), 0, 0, 0 }
#define SIZE(s, n, f)	{ s, n, K_SIZE, offsetof(struct conf, f), 0, 0, 0 }
#define UINT(s, n, f, lo, hi) \
			{ s, n, K_UINT, offsetof(struct conf, f), 0, lo, hi }
#define BOOL(s, n, f)	{ s, n, K_BOOL, offsetof(struct conf, f), 0, 0, 0 }
#define STR(s, n, f)	{ s, n, K_STRING, offsetof(struct conf, f), \
			  sizeof(((struct conf *)0)->f), 0, 0 }

static const struct key keys[] = {
	STR("paths", "root", root),
	STR("paths", "rundir", rundir),
	DUR("dyno", "grace", grace_ms),
	DUR("dyno", "boot_timeout", boot_timeout_ms),
	STR("dyno", "user", user),
	STR("dyno", "size", size),
	SIZE("dyno", "tmp_size", tmp_size),
	STR("dyno", "stack", stack),
	BOOL("dyno", "userns", userns),
	UINT("dyno", "userns_base", userns_base, 65536, 4294967294U),
	UINT("dyno", "userns_size", userns_size, 1, 4294967294U),
	UINT("dyno", "userns_ranges", userns_ranges, 1, 1048576),
	{ "manager", "restart_backoff", K_BACKOFF, 0, 0, 0, 0 },
	STR("manager", "network", network),
	STR("manager", "common_range", common_range),
	UINT("manager", "base_port", base_port, 1, 65535),
	DUR("manager", "crash_reset", crash_reset_ms),
	DUR("manager", "metrics_interval", metrics_interval_ms),
	/* 100: Heroku's default; also FORMATION_MAX_DYNOS, the manager's tables */
	UINT("manager", "max_dynos", max_dynos, 1, 100),
	UINT("manager", "start_parallel", start_parallel, 0, 1000),
	DUR("cycle", "max_age", cycle_max_age_ms),
	DUR("cycle", "jitter", cycle_jitter_ms),
	DUR("router", "connect_timeout", connect_timeout_ms),
	DUR("router", "connect_wait", connect_wait_ms),
	DUR("router", "quarantine", quarantine_ms),
	UINT("router", "max_tries", max_tries, 1, 100),
	DUR("router", "response_timeout", response_timeout_ms),
	DUR("router", "idle_timeout", idle_timeout_ms),
	DUR("router", "keepalive_timeout", keepalive_timeout_ms),
	DUR("router", "client_keepalive", client_idle_ms),
	UINT("router", "backlog_per_dyno", backlog_per_dyno, 1, 100000),
	DUR("router", "shutdown_timeout", shutdown_timeout_ms),
	DUR("router", "request_head_timeout", head_timeout_ms),
	UINT("router", "max_connections", max_connections, 1, 1000000),
	UINT("router", "max_connections_per_ip", max_conns_per_ip, 0, 1000000),
	STR("router", "tls_ciphers", tls_ciphers),
	STR("router", "tls_ciphersuites", tls_ciphersuites),
	UINT("logs", "history", history_lines, 1, 1000000),
	UINT("logs", "line_max", line_max, 64, 10000),
	UINT("logs", "drain_buffer", drain_buffer, 1, 1000000),
	UINT("logs", "max_drains", max_drains, 0, 100),
	UINT("logs", "tail_buffer", tail_buffer, 1, 1000000),
	DUR("logs", "flush_timeout", flush_timeout_ms),
	DUR("logs", "http_drain_idle", http_idle_ms),
	DUR("logs", "syslog_drain_idle", syslog_idle_ms),
	DUR("logs", "drain_max_ttl", drain_ttl_ms),
	DUR("logs", "drain_degraded_after", drain_degraded_ms),
	STR("logs", "drain_ca_file", drain_ca_file),
	SIZE("release", "slug_max", slug_max),
	UINT("release", "keep_slugs", keep_slugs, 1, 100000),
	SIZE("release", "config_max", config_max),
	DUR("release", "release_timeout", release_timeout_ms),
	DUR("build", "timeout", build_timeout_ms),
	STR("build", "size", build_size),
	STR("build", "network", build_network),
	STR("build", "buildpacks", build_buildpacks),
	SIZE("build", "disk", build_disk),
	STR("build", "authorized_keys", build_authorized_keys),
	STR("cluster", "etcd", cluster_etcd),
	STR("cluster", "host", cluster_host),
	STR("cluster", "address", cluster_address),
	DUR("cluster", "lease_ttl", cluster_ttl_ms),
	UINT("cluster", "capacity", cluster_capacity, 1, 100000),
	STR("cluster", "slug_url", cluster_slug_url),
	STR("cluster", "log_addr", cluster_log_addr),
	/* Host N takes the Nth /24 of every space (space-net(8)). */
	UINT("cluster", "index", cluster_index, 1, 255),
	STR("acm", "directory", acm_directory),
	STR("acm", "uacme", acm_uacme),
	STR("acm", "hook", acm_hook),
	STR("acm", "contact", acm_contact),
	DUR("acm", "renew_before", acm_renew_before_ms),
	DUR("acm", "retry", acm_retry_ms),
	UINT("acm", "attempts", acm_attempts, 1, 100),
	DUR("acm", "timeout", acm_timeout_ms),
};

/* heroku.md section 8.2; hard limit 2x for standard sizes, 1.2x above. */
static const struct dyno_size default_sizes[] = {
	{ "eco",		512 * MB,	1 * GB,		256,	100 },
	{ "basic",		512 * MB,	1 * GB,		256,	100 },
	{ "standard-1x",	512 * MB,	1 * GB,		256,	100 },
	{ "standard-2x",	1 * GB,		2 * GB,		512,	200 },
	{ "performance-m",	2560 * MB,	5 * GB,		16384,	1000 },
	{ "performance-l",	14 * GB,	28 * GB,	32768,	1000 },
	{ "performance-l-ram",	30 * GB,	36 * GB,	24576,	1000 },
	{ "performance-xl",	62 * GB,	74 * GB,	32768,	1000 },
	{ "performance-2xl",	126 * GB,	151 * GB,	65536,	1000 },
	{ "private-s",		1 * GB,		1 * GB,		512,	1000 },
	{ "private-m",		2560 * MB,	2560 * MB,	16384,	1000 },
	{ "private-l",		14 * GB,	14 * GB,	32768,	1000 },
};

static const uint64_t default_backoff[] = {
	0, 20 * 60000, 40 * 60000, 60 * 60000, 180 * 60000, 320 * 60000,
};

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->root, "/var/lib/dyno");
	strcpy(c->rundir, "/run/dyno");
	c->grace_ms = 30000;
	c->boot_timeout_ms = 60000;
	strcpy(c->user, "nobody");
	strcpy(c->size, "standard-1x");
	c->tmp_size = 256 * MB;
	/* Above systemd's container range, 4096 apps of 65536 ids each. */
	c->userns = -1;
	c->userns_base = 1879048192U;
	c->userns_size = 65536;
	c->userns_ranges = 4096;
	memcpy(c->backoff_ms, default_backoff, sizeof(default_backoff));
	c->nbackoff = sizeof(default_backoff) / sizeof(default_backoff[0]);
	strcpy(c->network, "space:common");
	strcpy(c->common_range, "172.16.0.0/16");
	c->base_port = 5000;
	c->crash_reset_ms = 10 * 60000;
	c->metrics_interval_ms = 20000;
	c->max_dynos = 100;
	c->start_parallel = 0;	/* auto: the manager picks by CPUs */
	c->cluster_ttl_ms = 10000;
	c->cluster_capacity = 100;
	c->cycle_max_age_ms = 24 * 3600000ULL;
	c->cycle_jitter_ms = 216 * 60000ULL;
	c->connect_timeout_ms = 5000;
	c->quarantine_ms = 5000;
	c->max_tries = 10;
	c->response_timeout_ms = 30000;
	c->idle_timeout_ms = 55000;
	c->keepalive_timeout_ms = 90000;
	c->client_idle_ms = 75000;
	c->backlog_per_dyno = 200;
	c->shutdown_timeout_ms = 30000;
	c->head_timeout_ms = 10000;
	c->max_connections = 8192;
	c->max_conns_per_ip = 256;
	snprintf(c->tls_ciphers, sizeof(c->tls_ciphers), "%s",
	    CONF_TLS_CIPHERS);
	snprintf(c->tls_ciphersuites, sizeof(c->tls_ciphersuites), "%s",
	    CONF_TLS_CIPHERSUITES);
	c->history_lines = 1500;
	c->line_max = 10000;
	c->drain_buffer = 1024;
	c->max_drains = 5;
	c->tail_buffer = 1024;
	c->flush_timeout_ms = 5000;
	c->http_idle_ms = 144000;
	c->syslog_idle_ms = 240000;
	c->drain_ttl_ms = 5 * 3600000ULL;
	c->drain_degraded_ms = 5 * 60000;
	c->slug_max = 500 * MB;
	c->keep_slugs = 10;
	c->build_timeout_ms = 15 * 60000;
	strcpy(c->build_size, "performance-m");
	c->build_disk = 2 * GB;
	strcpy(c->build_authorized_keys, "/root/.ssh/authorized_keys");
	strcpy(c->acm_directory, CONF_ACM_DIRECTORY);
	strcpy(c->acm_uacme, "uacme");
	c->acm_renew_before_ms = 30 * 24 * 3600000ULL;
	c->acm_retry_ms = 5 * 60000;
	c->acm_attempts = 8;
	c->acm_timeout_ms = 10 * 60000;
	c->config_max = 64 * 1024;
	c->release_timeout_ms = 3600000;
	memcpy(c->sizes, default_sizes, sizeof(default_sizes));
	c->nsizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
}

/* What inih's handler needs to report the first error with its reason. */
struct parse {
	struct conf	*c;
	char		 why[256];
};

static int
set_backoff(struct conf *c, const char *value)
{
	char buf[512], *tok, *save = NULL;
	uint64_t ms[CONF_MAX_BACKOFF];
	unsigned n = 0;

	if (strlen(value) >= sizeof(buf))
		return -1;
	strcpy(buf, value);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (n == CONF_MAX_BACKOFF || num_parse_duration_ms(tok, &ms[n]) == -1)
			return -1;
		n++;
	}
	if (n == 0)
		return -1;
	memcpy(c->backoff_ms, ms, sizeof(ms[0]) * n);
	c->nbackoff = n;
	return 0;
}

static int
set_key(struct conf *c, const struct key *k, const char *value)
{
	char *base = (char *)c;
	uint64_t u;

	switch (k->kind) {
	case K_DURATION:
		return num_parse_duration_ms(value, (uint64_t *)(base + k->off));
	case K_SIZE:
		return num_parse_size(value, (uint64_t *)(base + k->off));
	case K_UINT:
		if (num_parse_u64(value, k->min, k->max, &u) == -1)
			return -1;
		*(unsigned *)(base + k->off) = (unsigned)u;
		return 0;
	case K_STRING:
		if (strlen(value) >= k->len)
			return -1;
		strcpy(base + k->off, value);
		return 0;
	case K_BACKOFF:
		return set_backoff(c, value);
	case K_BOOL:
		/* "auto" (-1): the tool decides, as userns does by the kernel. */
		if (strcasecmp(value, "auto") == 0) {
			*(int *)(base + k->off) = -1;
			return 0;
		}
		return num_parse_bool(value, (int *)(base + k->off));
	}
	return -1;
}

static struct dyno_size *
size_slot(struct conf *c, const char *name)
{
	struct dyno_size *s = (struct dyno_size *)conf_size(c, name);

	if (s != NULL || c->nsizes == CONF_MAX_SIZES ||
	    strlen(name) >= CONF_NAME_MAX)
		return s;
	s = &c->sizes[c->nsizes++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->memory = 512 * MB;
	s->memory_max = 1 * GB;
	s->pids = 256;
	s->cpu_weight = 100;
	return s;
}

/* A "[size NAME]" section: memory, memory_max, pids, cpu_weight. */
static int
set_size_key(struct parse *p, const char *sizename, const char *name,
    const char *value)
{
	struct dyno_size *s = size_slot(p->c, sizename);
	uint64_t v;
	int rc = -1;

	if (s == NULL) {
		snprintf(p->why, sizeof(p->why), "too many sizes, or name too long");
		return 0;
	}
	if (strcmp(name, "memory") == 0)
		rc = num_parse_size(value, &s->memory);
	else if (strcmp(name, "memory_max") == 0)
		rc = num_parse_size(value, &s->memory_max);
	else if (strcmp(name, "pids") == 0 &&
	    (rc = num_parse_u64(value, 1, 4194304, &v)) == 0)
		s->pids = (unsigned)v;
	else if (strcmp(name, "cpu_weight") == 0 &&
	    (rc = num_parse_u64(value, 1, 10000, &v)) == 0)
		s->cpu_weight = (unsigned)v;
	else if (strcmp(name, "memory") != 0 && strcmp(name, "memory_max") != 0 &&
	    strcmp(name, "pids") != 0 && strcmp(name, "cpu_weight") != 0) {
		snprintf(p->why, sizeof(p->why), "unknown key \"%s\" in [size %s]",
		    name, sizename);
		return 0;
	}
	if (rc == -1) {
		snprintf(p->why, sizeof(p->why), "bad value \"%s\" for %s", value,
		    name);
		return 0;
	}
	return 1;
}

/* inih handler: 1 to go on, 0 to record the error (inih keeps its line). */
static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse *p = arg;
	size_t i;

	if (p->why[0] != '\0')
		return 1;	/* report the first error only */
	if (strncmp(section, "size ", 5) == 0)
		return set_size_key(p, section + 5, name, value);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		if (set_key(p->c, &keys[i], value) == 0)
			return 1;
		snprintf(p->why, sizeof(p->why), "bad value \"%s\" for %s in [%s]",
		    value, name, section);
		return 0;
	}
	snprintf(p->why, sizeof(p->why), "unknown key \"%s\" in [%s]", name,
	    section);
	return 0;
}

int
conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct parse p;
	FILE *f;
	int line;

	memset(&p, 0, sizeof(p));
	p.c = c;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line,
		    p.why[0] ? p.why : "syntax error");
		errno = EINVAL;
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

static int
env_path(const char *var, char *dst, size_t size, char *err, size_t errlen)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0')
		return 0;
	if (strlen(v) >= size || v[0] != '/') {
		snprintf(err, errlen, "%s: must be an absolute path under %zu bytes",
		    var, size);
		errno = EINVAL;
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

int
conf_load(struct conf *c, char *err, size_t errlen)
{
	const char *path = getenv("DYNO_CONF");

	conf_defaults(c);
	if (path != NULL && *path != '\0') {
		if (conf_load_file(c, path, err, errlen) == -1)
			return -1;
	} else if (access(DEFAULT_CONF, F_OK) == 0 &&
	    conf_load_file(c, DEFAULT_CONF, err, errlen) == -1)
		return -1;
	if (env_path("DYNO_ROOT", c->root, sizeof(c->root), err, errlen) == -1 ||
	    env_path("DYNO_RUNDIR", c->rundir, sizeof(c->rundir), err, errlen) == -1)
		return -1;
	if (conf_size(c, c->size) == NULL) {
		snprintf(err, errlen, "%s: [dyno] size: unknown size \"%s\"",
		    c->path[0] ? c->path : "dyno.conf", c->size);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

const struct dyno_size *
conf_size(const struct conf *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->nsizes; i++)
		if (strcasecmp(c->sizes[i].name, name) == 0)
			return &c->sizes[i];
	return NULL;
}
