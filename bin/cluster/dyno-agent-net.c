/* SPDX-License-Identifier: ISC */
/* dyno-agent: the spaces across hosts: `space-net peer add|del` for each
 * other live host's part of every space of this host (space-net(8)). */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "names.h"
#include "state.h"
#include "dyno-agent.h"

/* Run space-net ARGS... and wait for it; its exit status, or -1. */
static int
space_net(struct agent *a, char *const argv[])
{
	int status;
	pid_t pid;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		closefrom(3);
		execv(a->spacenet, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
		if (applied(a, line, 0))
			continue;
		argv[0] = "space-net", argv[1] = "peer", argv[2] = "add";
		argv[3] = space, argv[4] = host, argv[5] = addr, argv[6] = sub;
		argv[7] = NULL;
		if (space_net(a, (char *const *)argv) == 0)
			applied(a, line, 1);
		else
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
			if (names_check_space(de->d_name) == NULL)
				peer_space(a, de->d_name, &h);
		closedir(dp);
	}
	unpeer_gone(a, &h);
	etcd_range_free(&h);
}
