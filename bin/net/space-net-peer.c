/* SPDX-License-Identifier: ISC */
/* space-net: other hosts' parts of a space, reached by routes through libnl. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "diag.h"
#include "space-net.h"

/*
 * Routed parts, not VXLAN: each host owns a /24 of the space (its [cluster]
 * index), and a peer's part is one route via the peer's underlay address,
 * with the local gateway as source, so a router's packets are told from a
 * masqueraded dyno's by address (space-net-nft.c).  No encapsulation: the
 * MTU stays whole and no per-packet work is added; the price is that the
 * hosts share one underlay network where every host's address is on-link
 * (the kernel refuses a route through an address that is not).
 *
 * Routes are ours when their protocol says so: nothing else is ever
 * deleted, and a re-run replaces our own route instead of tripping on it.
 */
#define RTPROT_DYNO	100

static int
peer_nl_fail(int err, const char *what)
{
	diag_error("%s: %s", what, nl_geterror(err));
	return -err == NLE_PERM ? EXIT_NOPERM : EXIT_OSERR;
}

static struct nl_addr *
peer_nl_addr(uint32_t addr, unsigned len)
{
	uint32_t be = htonl(addr);
	struct nl_addr *a;

	if ((a = nl_addr_build(AF_INET, &be, 4)) != NULL)
		nl_addr_set_prefixlen(a, (int)len);
	return a;
}

/* The route to a peer's part: ours by protocol, in the main table. */
static struct rtnl_route *
peer_route_new(const struct space *sp, const struct peer *p, int full)
{
	struct rtnl_route *r;
	struct rtnl_nexthop *nh;
	struct nl_addr *dst, *via = NULL, *src = NULL;

	r = rtnl_route_alloc();
	dst = peer_nl_addr(p->subnet.net, p->subnet.len);
	if (full) {
		via = peer_nl_addr(p->addr, 32);
		src = peer_nl_addr(cidr_gateway(&sp->cidr), 32);
	}
	if (r == NULL || dst == NULL || (full && (via == NULL || src == NULL)))
		goto fail;
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, RTPROT_DYNO);
	/* Said, not guessed: libnl would take a route without a gateway (a
	 * delete's) for a link route, and the kernel would match none. */
	rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	rtnl_route_set_dst(r, dst);
	if (full) {
		if ((nh = rtnl_route_nh_alloc()) == NULL)
			goto fail;
		rtnl_route_nh_set_gateway(nh, via);
		rtnl_route_add_nexthop(r, nh);
		rtnl_route_set_pref_src(r, src);
	}
	nl_addr_put(dst);
	nl_addr_put(via);
	nl_addr_put(src);
	return r;
fail:
	rtnl_route_put(r);
	nl_addr_put(dst);
	nl_addr_put(via);
	nl_addr_put(src);
	return NULL;
}

static int
peer_route(struct nl_sock *sk, const struct space *sp, const struct peer *p)
{
	struct rtnl_route *r;
	char a[INET_ADDRSTRLEN], what[192];
	int err;

	addr_format(p->addr, a, sizeof(a));
	snprintf(what, sizeof(what), "%s: peer %s: route via %s", sp->name,
	    p->host, a);
	if ((r = peer_route_new(sp, p, 1)) == NULL)
		return peer_nl_fail(-NLE_NOMEM, what);
	err = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_route_put(r);
	if (err == -NLE_NOADDR || err == -NLE_INVAL ||
	    err == -NLE_FAILURE) {
		diag_error("%s: %s is not on a network this host reaches "
		    "directly", what, a);
		return EXIT_DATAERR;
	}
	return err < 0 ? peer_nl_fail(err, what) : 0;
}

static int
peer_unroute(struct nl_sock *sk, const struct space *sp, const struct peer *p)
{
	struct rtnl_route *r;
	char what[160];
	int err;

	snprintf(what, sizeof(what), "%s: peer %s: route", sp->name, p->host);
	if ((r = peer_route_new(sp, p, 0)) == NULL)
		return peer_nl_fail(-NLE_NOMEM, what);
	err = rtnl_route_delete(sk, r, 0);
	rtnl_route_put(r);
	/* Gone already (a reboot, the address removed with the bridge): fine. */
	if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV &&
	    err != -NLE_NOADDR)
		return peer_nl_fail(err, what);
	return 0;
}

int
peer_unroute_all(struct nl_sock *sk, const struct space *sp)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < sp->npeers && rc == 0; i++)
		rc = peer_unroute(sk, sp, &sp->peers[i]);
	return rc;
}

/*
 * A peer's part must not shadow a network the host reaches otherwise: any
 * route overlapping it that is not our own route to exactly that part.
 */
static int
peer_check_routes(struct nl_sock *sk, const struct space *sp,
    const struct cidr *subnet)
{
	struct nl_cache *cache;
	struct nl_object *o;
	struct rtnl_route *r;
	struct cidr c;
	char text[32];
	int err, rc = 0;

	if ((err = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache)) < 0)
		return peer_nl_fail(err, "routes");
	for (o = nl_cache_get_first(cache); o != NULL && rc == 0;
	    o = nl_cache_get_next(o)) {
		r = (struct rtnl_route *)o;
		if (!link_route_dst(r, &c))
			continue;
		if (!cidr_overlaps(&c, subnet) ||
		    (rtnl_route_get_protocol(r) == RTPROT_DYNO &&
		    c.net == subnet->net && c.len == subnet->len))
			continue;
		cidr_format(&c, text, sizeof(text));
		diag_error("%s: part overlaps the host's route to %s", sp->name,
		    text);
		rc = EXIT_CANTCREAT;
	}
	nl_cache_free(cache);
	return rc;
}

/* An underlay address: unicast, and not inside the space it carries. */
static int
peer_check_addr(const struct space *sp, const char *s, uint32_t *addr)
{
	static const struct cidr bad[] = {
		{ 0x00000000, 8 }, { 0x7f000000, 8 }, { 0xa9fe0000, 16 },
		{ 0xe0000000, 3 },
	};
	size_t i;

	if (addr_parse(s, addr) == -1) {
		diag_error("%s: not an IPv4 address", s);
		return EXIT_DATAERR;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_contains(&bad[i], *addr)) {
			diag_error("%s: not a unicast host address", s);
			return EXIT_DATAERR;
		}
	if (cidr_contains(&sp->range, *addr)) {
		diag_error("%s: inside space %s's own range", s, sp->name);
		return EXIT_DATAERR;
	}
	return 0;
}

/* A peer's part: a /24 of the space's range, neither ours nor another's. */
static int
peer_check_subnet(const struct space *sp, const char *host, const char *s,
    struct cidr *c)
{
	unsigned i;

	if (cidr_parse(s, c) == -1 || c->len != 24) {
		diag_error("%s: not a /24 network address (a host's part of a "
		    "space)", s);
		return EXIT_DATAERR;
	}
	if (!cidr_contains(&sp->range, c->net) || c->len < sp->range.len) {
		diag_error("%s: outside space %s's range", s, sp->name);
		return EXIT_DATAERR;
	}
	if (cidr_overlaps(c, &sp->cidr)) {
		diag_error("%s: this host's own part of space %s", s, sp->name);
		return EXIT_DATAERR;
	}
	for (i = 0; i < sp->npeers; i++)
		if (strcmp(sp->peers[i].host, host) != 0 &&
		    cidr_overlaps(c, &sp->peers[i].subnet)) {
			diag_error("%s: overlaps peer %s's part", s,
			    sp->peers[i].host);
			return EXIT_DATAERR;
		}
	return 0;
}

static int
peer_check(const struct space *sp, char **argv, struct peer *p)
{
	unsigned i;
	int rc;

	if (!sp->split) {
		diag_error("%s: this host has no part of the space: no "
		    "[cluster] index in dyno.conf", sp->name);
		return EXIT_CONFIG;
	}
	if (!space_peer_name_ok(argv[0])) {
		diag_error("%.80s: a host name is letters, digits and inner "
		    "dashes, 1 to %d", argv[0], PEER_NAME_MAX);
		return EXIT_USAGE;
	}
	memset(p, 0, sizeof(*p));
	strcpy(p->host, argv[0]);
	if ((rc = peer_check_addr(sp, argv[1], &p->addr)) != 0 ||
	    (rc = peer_check_subnet(sp, p->host, argv[2], &p->subnet)) != 0)
		return rc;
	for (i = 0; i < sp->npeers; i++)
		if (sp->peers[i].addr == p->addr &&
		    strcmp(sp->peers[i].host, p->host) != 0) {
			diag_error("%s: already the address of peer %s", argv[1],
			    sp->peers[i].host);
			return EXIT_DATAERR;
		}
	return 0;
}

static struct peer *
peer_find(struct space *sp, const char *host)
{
	unsigned i;

	for (i = 0; i < sp->npeers; i++)
		if (strcmp(sp->peers[i].host, host) == 0)
			return &sp->peers[i];
	return NULL;
}

/*
 * The rules first, the file last: a failure puts the old rules and routes
 * back, so the space is as before or as asked, and the file (what the next
 * run converges on) only ever names peers the kernel was given.
 */
static int
peer_commit(struct space *sp, const struct leases *ls, const struct space *old)
{
	int rc;

	if ((rc = nft_apply(sp, ls)) == 0 && (rc = space_save(sp)) == 0)
		return 0;
	(void)nft_apply(old, ls);
	return rc;
}

int
peer_add(struct nl_sock *sk, struct space *sp, const struct leases *ls,
    char **argv)
{
	struct space *old;
	struct peer want, *have;
	int rc;

	if ((rc = peer_check(sp, argv, &want)) != 0 ||
	    (rc = peer_check_routes(sk, sp, &want.subnet)) != 0)
		return rc;
	if ((have = peer_find(sp, want.host)) == NULL &&
	    sp->npeers == SPACE_PEER_MAX) {
		diag_error("%s: at most %d peers", sp->name, SPACE_PEER_MAX);
		return EXIT_DATAERR;
	}
	if ((old = malloc(sizeof(*old))) == NULL) {
		diag_error_errno("peer");
		return EXIT_OSERR;
	}
	*old = *sp;
	if (have != NULL && have->subnet.net != want.subnet.net &&
	    (rc = peer_unroute(sk, sp, have)) != 0)
		goto out;
	if (have == NULL)
		have = &sp->peers[sp->npeers++];
	*have = want;
	if ((rc = peer_route(sk, sp, have)) != 0 ||
	    (rc = peer_commit(sp, ls, old)) != 0) {
		(void)peer_unroute(sk, sp, have);
		if ((have = peer_find(old, want.host)) != NULL)
			(void)peer_route(sk, old, have);
		*sp = *old;
	}
out:
	free(old);
	return rc;
}

/* Idempotent: a host that is no peer is already what was asked. */
int
peer_del(struct nl_sock *sk, struct space *sp, const struct leases *ls,
    const char *host)
{
	struct space *old;
	struct peer *p;
	int rc;

	if (!space_peer_name_ok(host)) {
		diag_error("%.80s: a host name is letters, digits and inner "
		    "dashes, 1 to %d", host, PEER_NAME_MAX);
		return EXIT_USAGE;
	}
	if ((p = peer_find(sp, host)) == NULL)
		return 0;
	if ((old = malloc(sizeof(*old))) == NULL) {
		diag_error_errno("peer");
		return EXIT_OSERR;
	}
	*old = *sp;
	/* The rules go first: no instant where the part is open unrouted. */
	*p = sp->peers[--sp->npeers];
	if ((rc = peer_commit(sp, ls, old)) == 0)
		rc = peer_unroute(sk, old, peer_find(old, host));
	free(old);
	return rc;
}

static int
peer_print(const char *root, const char *name, int quiet)
{
	char a[INET_ADDRSTRLEN], c[32];
	struct space sp;
	unsigned i;
	int rc;

	if ((rc = space_dir(root, name, &sp)) != 0)
		return rc;
	if (quiet && !space_exists(&sp))
		return 0;
	if ((rc = space_load(&sp)) != 0)
		return rc;
	for (i = 0; i < sp.npeers; i++) {
		addr_format(sp.peers[i].addr, a, sizeof(a));
		cidr_format(&sp.peers[i].subnet, c, sizeof(c));
		printf("%s\t%s\t%s\t%s\n", sp.name, sp.peers[i].host, a, c);
	}
	return 0;
}

/* "SPACE HOST ADDR SUBNET" lines, of one space or of every space. */
int
peer_list(const char *root, const char *only)
{
	char **names;
	size_t i, n;
	int rc = 0;

	if (only != NULL)
		return peer_print(root, only, 0);
	if (space_names(root, &names, &n) == -1) {
		diag_error_errno("%s/spaces", root);
		return EXIT_OSERR;
	}
	for (i = 0; i < n; i++)
		if (peer_print(root, names[i], 1) != 0)
			rc = EXIT_CONFIG;
	space_names_free(names, n);
	return rc;
}
