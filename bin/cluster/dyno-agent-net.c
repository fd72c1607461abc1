/* SPDX-License-Identifier: ISC */
/* dyno-agent: the spaces across hosts: `space-net peer add|del` for each
 * other live host's part of every space of this host (space-net(8)). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "names.h"
#include "state.h"
#include "dyno-agent.h"

/* Run space-net ARGS... (stdin: `in`, or none) and wait; its status or -1. */
static int
space_net_in(struct agent *a, char *const argv[], const char *in)
{
	int status, fds[2] = { -1, -1 };
	size_t off, len = in != NULL ? strlen(in) : 0;
	ssize_t n;
	pid_t pid;

	if (in != NULL && pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (fds[0] != -1 && dup2(fds[0], STDIN_FILENO) == -1)
			_exit(127);
		closefrom(3);
		execv(a->spacenet, argv);
		_exit(127);
	}
	if (fds[0] != -1)
		close(fds[0]);
	/* space-net reads all of it first; a child that died: EPIPE, ignored */
	for (off = 0; fds[1] != -1 && off < len; off += (size_t)n)
		if ((n = write(fds[1], in + off, len - off)) <= 0)
			break;
	if (fds[1] != -1)
		close(fds[1]);
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
space_net(struct agent *a, char *const argv[])
{
	return space_net_in(a, argv, NULL);
}

/* The range of a space ("cidr = 172.16.0.0/16" of its space.conf). */
static int
space_range(struct agent *a, const char *space, uint32_t *net, unsigned *len)
{
	char path[PATH_MAX], *data, *p, ip[32];
	struct in_addr in;
	int rc = -1;

	if (state_pathf(path, sizeof(path), "%s/spaces/%s/space.conf",
	    a->conf->root, space) == -1 || state_read(path, 65536, &data,
	    NULL) == -1)
		return -1;
	for (p = data; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') +
	    1 : NULL)
		if (sscanf(p, "cidr = %31[0-9.]/%u", ip, len) == 2 &&
		    inet_pton(AF_INET, ip, &in) == 1 && *len <= 23) {
			*net = ntohl(in.s_addr);
			rc = 0;
			break;
		}
	free(data);
	return rc;
}

/* This host's peer lines "SPACE HOST ADDR SUBNET" already applied. */
static int
applied(struct agent *a, const char *line, int add)
{
	size_t i;
	char **n;

	for (i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i], line) == 0)
			return 1;
	if (add && (n = realloc(a->peers, (a->npeers + 1) * sizeof(*n))) !=
	    NULL) {
		a->peers = n;
		a->peers[a->npeers++] = strdup(line);
	}
	return 0;
}

/* Whether list holds "KEY\nVALUE" (value NULL: KEY with any value). */
static char **
cache_find(char **list, size_t n, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < n; i++)
		if (strncmp(list[i], key, kl) == 0 && list[i][kl] == '\n')
			return &list[i];
	return NULL;
}

static int
cache_same(char **list, size_t n, const char *key, const char *value)
{
	char **c = cache_find(list, n, key);

	return c != NULL && strcmp(*c + strlen(key) + 1, value) == 0;
}

static void
cache_set(char ***list, size_t *n, const char *key, const char *value)
{
	char **c = cache_find(*list, *n, key), *e, **nl;

	if (asprintf(&e, "%s\n%s", key, value) == -1)
		return;
	if (c != NULL) {
		free(*c);
		*c = e;
	} else if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) != NULL) {
		*list = nl;
		(*list)[(*n)++] = e;
	} else
		free(e);
}

static void
cache_del(char **list, size_t *n, const char *key)
{
	char **c = cache_find(list, *n, key);

	if (c == NULL)
		return;
	free(*c);
	*c = list[--*n];
}

/*
 * This host's dynos of a private space, "ADDR TYPE.N APP" a line, from
 * the hosts file space-net writes (its own lines, before the other hosts'
 * part): "ADDR<TAB>N.TYPE.APP.app.localspace ...".  malloc'd, or NULL.
 */
static char *
local_names(struct agent *a, const char *space)
{
	char path[PATH_MAX], addr[64], name[256], *text, *p, *nl, *d1, *d2,
	    *out = NULL;
	size_t len = 0, sl = strlen(".app.localspace");
	FILE *f;

	if (state_pathf(path, sizeof(path), "%s/spaces/%s/dns/hosts",
	    a->conf->root, space) == -1 || state_read(path, 1 << 20, &text,
	    NULL) == -1)
		return NULL;
	if ((f = open_memstream(&out, &len)) == NULL) {
		free(text);
		return NULL;
	}
	for (p = text; *p != '\0' && strncmp(p, "# other hosts", 13) != 0;
	    p = nl) {
		nl = p + strcspn(p, "\n");
		if (*nl != '\0')
			*nl++ = '\0';
		if (*p == '#' || sscanf(p, "%63s %255s", addr, name) != 2 ||
		    strchr(addr, ':') != NULL || strlen(name) <= sl ||
		    strcmp(name + strlen(name) - sl, ".app.localspace") != 0)
			continue;
		name[strlen(name) - sl] = '\0';
		/* N.TYPE.APP */
		if ((d1 = strchr(name, '.')) == NULL || (d2 = strchr(d1 + 1,
		    '.')) == NULL)
			continue;
		*d1++ = '\0';
		*d2++ = '\0';
		fprintf(f, "%s %s.%s %s\n", addr, d1, name, d2);
	}
	fclose(f);
	free(text);
	return out;
}

/* spaces/<space>/names/<me> on our lease: this host's dynos' names. */
static void
publish_names(struct agent *a, const char *space)
{
	char key[512], ck[384], err[256], *v;

	if ((v = local_names(a, space)) == NULL)
		return;
	snprintf(ck, sizeof(ck), "%s %lld", space, (long long)a->lease);
	snprintf(key, sizeof(key), AGENT_PREFIX "spaces/%s/names/%s", space,
	    a->host);
	if (!cache_same(a->names_pub, a->nnames_pub, ck, v) &&
	    etcd_put(a->etcd, key, v, strlen(v), a->lease, err,
	    sizeof(err)) == 0)
		cache_set(&a->names_pub, &a->nnames_pub, ck, v);
	free(v);
}

/* Another host's names of the space into ours (space-net peer names). */
static void
feed_names(struct agent *a, const char *space, const char *host)
{
	char key[512], ck[384];
	const char *argv[6];
	struct etcd_range r;
	const char *v;

	snprintf(key, sizeof(key), AGENT_PREFIX "spaces/%s/names/%s", space,
	    host);
	if (agent_range(a, key, 0, &r) == -1)
		return;
	v = r.n == 1 ? r.kvs[0].value : "";
	snprintf(ck, sizeof(ck), "%s %s", space, host);
	if (!cache_same(a->names_fed, a->nnames_fed, ck, v)) {
		argv[0] = "space-net", argv[1] = "peer", argv[2] = "names";
		argv[3] = space, argv[4] = host, argv[5] = NULL;
		if (space_net_in(a, (char *const *)argv, v) == 0)
			cache_set(&a->names_fed, &a->nnames_fed, ck, v);
		else
			diag_warn_ratelimited(9, 30000, "space-net peer names "
			    "%s %s failed", space, host);
	}
	etcd_range_free(&r);
}

/* Each other live host with an index: its /24 of `space` through it. */
static void
peer_space(struct agent *a, const char *space, const struct etcd_range *h)
{
	char sub[32], addr[64], line[512], *host;
	const char *argv[8];
	struct in_addr in;
	uint32_t net;
	unsigned len;
	long long idx;
	size_t i;

	if (space_range(a, space, &net, &len) == -1)
		return;
	for (i = 0; i < h->n; i++) {
		host = h->kvs[i].key + strlen(AGENT_PREFIX "hosts/");
		idx = json_int_field(h->kvs[i].value, "index", 0);
		json_str_field(h->kvs[i].value, "addr", addr, sizeof(addr));
		if (strcmp(host, a->host) == 0 || idx <= 0 || idx > 255 ||
		    addr[0] == '\0' || ((uint32_t)idx << 8) >> (32 - len) != 0)
			continue;
		in.s_addr = htonl(net + ((uint32_t)idx << 8));
		snprintf(sub, sizeof(sub), "%s/24", inet_ntoa(in));
		snprintf(line, sizeof(line), "%s %s %s %s", space, host, addr, sub);
		if (applied(a, line, 0)) {
			feed_names(a, space, host);
			continue;
		}
		argv[0] = "space-net", argv[1] = "peer", argv[2] = "add";
		argv[3] = space, argv[4] = host, argv[5] = addr, argv[6] = sub;
		argv[7] = NULL;
		if (space_net(a, (char *const *)argv) == 0) {
			applied(a, line, 1);
			feed_names(a, space, host);
		} else
			diag_warn_ratelimited(5, 30000, "space-net peer add %s "
			    "failed", line);
	}
}

/* Peers of hosts gone from etcd: `space-net peer del`. */
static void
unpeer_gone(struct agent *a, const struct etcd_range *h)
{
	char space[64], host[64], key[160];
	const char *argv[6];
	size_t i, k;
	int live;

	for (i = a->npeers; i-- > 0; ) {
		if (sscanf(a->peers[i], "%63s %63s", space, host) != 2)
			continue;
		snprintf(key, sizeof(key), AGENT_PREFIX "hosts/%s", host);
		for (k = 0, live = 0; k < h->n && !live; k++)
			live = strcmp(h->kvs[k].key, key) == 0;
		if (live)
			continue;
		argv[0] = "space-net", argv[1] = "peer", argv[2] = "del";
		argv[3] = space, argv[4] = host, argv[5] = NULL;
		if (space_net(a, (char *const *)argv) != 0)
			continue;
		/* space-net dropped its names with it */
		snprintf(key, sizeof(key), "%s %s", space, host);
		cache_del(a->names_fed, &a->nnames_fed, key);
		free(a->peers[i]);
		a->peers[i] = a->peers[--a->npeers];
	}
}

void
net_tick(struct agent *a)
{
	char dir[PATH_MAX];
	struct etcd_range h;
	struct dirent *de;
	DIR *dp;

	/* one host per space unless hosts split the spaces by index */
	if (a->conf->cluster_index == 0 || !host_live(a) ||
	    agent_range(a, AGENT_PREFIX "hosts/", 1, &h) == -1)
		return;
	state_pathf(dir, sizeof(dir), "%s/spaces", a->conf->root);
	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL)
			if (names_check_space(de->d_name) == NULL) {
				publish_names(a, de->d_name);
				peer_space(a, de->d_name, &h);
			}
		closedir(dp);
	}
	unpeer_gone(a, &h);
	etcd_range_free(&h);
}
