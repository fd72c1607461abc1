/* SPDX-License-Identifier: ISC */
/* dyno-agent hosts, drain, undrain: one-shot commands on the cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dyno-agent.h"

/* How many assignments each host has: assign/<host>/... */
static unsigned
count_dynos(const struct etcd_range *asg, const char *host)
{
	char prefix[128];
	size_t i, pl;
	unsigned n = 0;

	pl = (size_t)snprintf(prefix, sizeof(prefix), AGENT_PREFIX "assign/%s/",
	    host);
	for (i = 0; i < asg->n; i++)
		n += strncmp(asg->kvs[i].key, prefix, pl) == 0;
	return n;
}

static int
has_key(const struct etcd_range *r, const char *prefix, const char *name)
{
	size_t i, pl = strlen(prefix);

	for (i = 0; i < r->n; i++)
		if (strncmp(r->kvs[i].key, prefix, pl) == 0 &&
		    strcmp(r->kvs[i].key + pl, name) == 0)
			return 1;
	return 0;
}

/* "HOST ADDRESS CAPACITY DYNOS STATE" per live host, placer marked. */
int
cmd_hosts(const struct conf *conf, struct etcd *e)
{
	struct etcd_range h, d, asg, pl;
	char addr[64], err[256], *placer = NULL;
	const char *name;
	size_t i;

	(void)conf;
	if (etcd_range(e, AGENT_PREFIX "hosts/", 1, &h, err, sizeof(err)) == -1)
		diag_die(EXIT_UNAVAILABLE, "%s", err);
	if (etcd_range(e, AGENT_PREFIX "drain/", 1, &d, err, sizeof(err)) == -1 ||
	    etcd_range(e, AGENT_PREFIX "assign/", 1, &asg, err, sizeof(err)) ==
	    -1 || etcd_range(e, AGENT_PREFIX "placer", 0, &pl, err,
	    sizeof(err)) == -1)
		diag_die(EXIT_UNAVAILABLE, "%s", err);
	if (pl.n == 1)
		placer = json_text(pl.kvs[0].value);
	for (i = 0; i < h.n; i++) {
		name = h.kvs[i].key + strlen(AGENT_PREFIX "hosts/");
		json_str_field(h.kvs[i].value, "addr", addr, sizeof(addr));
		printf("%s %s %lld %u %s%s\n", name, addr[0] ? addr : "-",
		    json_int_field(h.kvs[i].value, "capacity", 0),
		    count_dynos(&asg, name), has_key(&d, AGENT_PREFIX "drain/",
		    name) ? "draining" : "up", placer && !strcmp(placer, name) ?
		    " placer" : "");
	}
	free(placer);
	etcd_range_free(&h);
	etcd_range_free(&d);
	etcd_range_free(&asg);
	etcd_range_free(&pl);
	return 0;
}

/* drain/<host> (persistent, not on a lease): the placer moves its dynos. */
int
cmd_drain(const struct conf *conf, struct etcd *e, const char *host, int on)
{
	char key[256], err[256];

	(void)conf;
	if (host[0] == '\0' || strlen(host) > 63 || strchr(host, '/') != NULL)
		diag_die(EXIT_USAGE, "\"%s\": not a host name", host);
	snprintf(key, sizeof(key), AGENT_PREFIX "drain/%s", host);
	if ((on ? etcd_put(e, key, "{}", 2, 0, err, sizeof(err)) :
	    etcd_delete(e, key, 0, NULL, err, sizeof(err))) == -1)
		diag_die(EXIT_UNAVAILABLE, "%s", err);
	printf(on ? "Draining %s: its dynos move to the other hosts\n" :
	    "%s takes dynos again\n", host);
	return 0;
}
