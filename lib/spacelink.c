/* SPDX-License-Identifier: ISC */
/* Spaces: bridges, veth pairs, addresses and routes through libnl-route-3. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "diag.h"
#include "space.h"

static int
nl_fail(int err, const char *what)
{
	int code;

	switch (err < 0 ? -err : err) {
	case NLE_PERM:
		code = EXIT_NOPERM;
		break;
	case NLE_EXIST:
		code = EXIT_CANTCREAT;
		break;
	default:
		code = EXIT_OSERR;
	}
	return space_fail(code, "%s: %s", what, nl_geterror(err));
}

int
link_open(struct nl_sock **sk)
{
	int err;

	if ((*sk = nl_socket_alloc()) == NULL)
		return space_fail(EXIT_OSERR, "netlink: out of memory");
	if ((err = nl_connect(*sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(*sk);
		*sk = NULL;
		return nl_fail(err, "netlink");
	}
	return 0;
}

void
link_close(struct nl_sock *sk)
{
	if (sk != NULL)
		nl_socket_free(sk);
}

/* The interface index of `name`, 0 when there is none. */
static int
link_index(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l;
	int idx;

	if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		return 0;
	idx = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return idx;
}

int
link_exists(struct nl_sock *sk, const char *name)
{
	return link_index(sk, name) != 0;
}

int
link_delete(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l;
	int err;

	if ((l = rtnl_link_alloc()) == NULL)
		return nl_fail(-NLE_NOMEM, name);
	rtnl_link_set_name(l, name);
	err = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND)
		return nl_fail(err, name);
	return 0;
}

int
link_route_dst(struct rtnl_route *r, struct cidr *c)
{
	struct nl_addr *dst = rtnl_route_get_dst(r);

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || dst == NULL ||
	    nl_addr_get_prefixlen(dst) == 0 || nl_addr_get_len(dst) != 4)
		return 0;
	memcpy(&c->net, nl_addr_get_binary_addr(dst), 4);
	c->net = ntohl(c->net);
	c->len = (unsigned)nl_addr_get_prefixlen(dst);
	return 1;
}

/*
 * A space's range must not shadow a network the host already reaches
 * (its LAN, another space, a VPN): the space would steal its traffic.
 */
int
link_check_routes(struct nl_sock *sk, const struct space *sp)
{
	struct nl_cache *cache;
	struct nl_object *o;
	struct rtnl_nexthop *nh;
	struct cidr c;
	char text[64];
	int err, br = link_index(sk, sp->bridge), rc = 0;

	if ((err = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache)) < 0)
		return nl_fail(err, "routes");
	for (o = nl_cache_get_first(cache); o != NULL && rc == 0;
	    o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;

		if (!link_route_dst(r, &c))
			continue;
		nh = rtnl_route_nexthop_n(r, 0);
		if (!cidr_overlaps(&c, &sp->cidr) ||
		    (nh != NULL && br != 0 && rtnl_route_nh_get_ifindex(nh) == br))
			continue;
		cidr_format(&c, text, sizeof(text));
		rc = space_fail(EXIT_CANTCREAT, "%s: range overlaps the host's "
		    "route to %s", sp->name, text);
	}
	nl_cache_free(cache);
	return rc;
}

static int
link_set_up(struct nl_sock *sk, const char *name, const char *alias)
{
	struct rtnl_link *old, *chg;
	int err;

	if ((err = rtnl_link_get_kernel(sk, 0, name, &old)) < 0)
		return nl_fail(err, name);
	if ((chg = rtnl_link_alloc()) == NULL) {
		rtnl_link_put(old);
		return nl_fail(-NLE_NOMEM, name);
	}
	rtnl_link_set_flags(chg, IFF_UP);
	if (alias != NULL)
		rtnl_link_set_ifalias(chg, alias);
	err = rtnl_link_change(sk, old, chg, 0);
	rtnl_link_put(chg);
	rtnl_link_put(old);
	return err < 0 ? nl_fail(err, name) : 0;
}

int
link_up(struct nl_sock *sk, const char *name)
{
	return link_set_up(sk, name, NULL);
}

int
link_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, unsigned len,
    const char *what)
{
	struct rtnl_addr *a;
	struct nl_addr *local;
	uint32_t be = htonl(addr);
	int err;

	if ((a = rtnl_addr_alloc()) == NULL ||
	    (local = nl_addr_build(AF_INET, &be, 4)) == NULL) {
		rtnl_addr_put(a);
		return nl_fail(-NLE_NOMEM, what);
	}
	nl_addr_set_prefixlen(local, (int)len);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_local(a, local);
	err = rtnl_addr_add(sk, a, 0);
	nl_addr_put(local);
	rtnl_addr_put(a);
	/* Already there is what a re-run wants: create and attach converge. */
	if (err < 0 && err != -NLE_EXIST)
		return nl_fail(err, what);
	return 0;
}

/*
 * Is the space's bridge one this tool made for it?  1 yes, 0 another
 * interface has its name, -1 there is none.  *up says whether it is up.
 */
static int
bridge_is_ours(struct nl_sock *sk, const struct space *sp, int *up)
{
	struct rtnl_link *l;
	const char *have;
	int ours;

	*up = 0;
	if (rtnl_link_get_kernel(sk, 0, sp->bridge, &l) < 0)
		return -1;
	/* Written on our bridges: we never delete a bridge that lacks it. */
	have = rtnl_link_get_ifalias(l);
	ours = rtnl_link_is_bridge(l) && have != NULL &&
	    strcmp(have, sp->alias) == 0;
	*up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
	rtnl_link_put(l);
	return ours;
}

/*
 * A bridge takes the lowest MAC address of its ports unless one is set: as
 * veths come and go, the gateway's address would move under the dynos'
 * ARP caches.  It gets the one its gateway address fixes, once.
 */
static int
bridge_fix_mac(struct nl_sock *sk, const struct space *sp)
{
	struct rtnl_link *have, *want;
	struct nl_addr *ll;
	unsigned char mac[6];
	int err;

	addr_mac(cidr_gateway(&sp->cidr), mac);
	if ((ll = nl_addr_build(AF_LLC, mac, sizeof(mac))) == NULL)
		return nl_fail(-NLE_NOMEM, sp->bridge);
	if ((err = rtnl_link_get_kernel(sk, 0, sp->bridge, &have)) < 0) {
		nl_addr_put(ll);
		return nl_fail(err, sp->bridge);
	}
	err = 0;
	if (nl_addr_cmp(rtnl_link_get_addr(have), ll) != 0) {
		if ((want = rtnl_link_alloc()) == NULL)
			err = -NLE_NOMEM;
		else {
			rtnl_link_set_addr(want, ll);
			err = rtnl_link_change(sk, have, want, 0);
			rtnl_link_put(want);
		}
	}
	rtnl_link_put(have);
	nl_addr_put(ll);
	return err < 0 ? nl_fail(err, sp->bridge) : 0;
}

/*
 * The bridge and its gateway address.  Its MAC address is fixed once, when
 * it is made (the alias that marks it ours comes after, so a bridge of
 * ours always has it); a bridge found up and ours needs nothing but the
 * address check, which every attach and detach pays.
 */
int
link_bridge_ensure(struct nl_sock *sk, const struct space *sp, int *made)
{
	int err, ours, up, rc;

	if ((ours = bridge_is_ours(sk, sp, &up)) == 0)
		return space_fail(EXIT_CANTCREAT, "%s: interface %s exists and "
		    "is not this space's bridge", sp->name, sp->bridge);
	if (ours == -1 && (err = rtnl_link_bridge_add(sk, sp->bridge)) < 0 &&
	    err != -NLE_EXIST)
		return nl_fail(err, sp->bridge);
	*made = ours == -1;
	if (ours == -1 && (rc = bridge_fix_mac(sk, sp)) != 0)
		return rc;
	if (!up && (rc = link_set_up(sk, sp->bridge, sp->alias)) != 0)
		return rc;
	return link_addr_add(sk, link_index(sk, sp->bridge),
	    cidr_gateway(&sp->cidr), sp->cidr.len, "address");
}

int
link_bridge_delete(struct nl_sock *sk, const struct space *sp)
{
	int up, ours = bridge_is_ours(sk, sp, &up);

	if (ours == -1)
		return 0;
	if (ours == 0) {
		space_warn("%s: %s is not this space's bridge, left alone",
		    sp->name, sp->bridge);
		return 0;
	}
	return link_delete(sk, sp->bridge);
}

/* A lease holds while its dyno lives and its veth is still on our bridge. */
static int
lease_holds(struct nl_cache *cache, const struct lease *l, int br)
{
	struct rtnl_link *link;
	char name[IFNAMSIZ];
	int ok;

	veth_name(l->addr, name);
	if ((link = rtnl_link_get_by_name(cache, name)) == NULL)
		return 0;
	ok = rtnl_link_get_master(link) == br && pid_alive(l->pid);
	rtnl_link_put(link);
	return ok;
}

static int
orphan_veth(struct rtnl_link *link, const struct leases *ls, int br)
{
	const char *name = rtnl_link_get_name(link);
	char want[IFNAMSIZ];
	size_t i;

	if (rtnl_link_get_master(link) != br ||
	    strncmp(name, SPACE_VETH_PREFIX, strlen(SPACE_VETH_PREFIX)) != 0)
		return 0;
	for (i = 0; i < ls->n; i++) {
		veth_name(ls->v[i].addr, want);
		if (ls->v[i].live && strcmp(name, want) == 0)
			return 0;
	}
	return 1;
}

/*
 * Crash safety: decide which leases still hold, reclaim the others (their
 * files and any veth left), and remove veths on the bridge that no lease
 * names (an attach that died before writing its lease).  A lease whose
 * attach is still making its veth holds (lease_busy).
 */
int
link_sweep(struct nl_sock *sk, const struct space *sp, struct leases *ls)
{
	struct nl_cache *cache;
	struct nl_object *o;
	char name[IFNAMSIZ];
	int err, rc = 0, br = link_index(sk, sp->bridge);
	size_t i;

	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0)
		return nl_fail(err, "links");
	for (i = 0; i < ls->n && rc == 0; i++) {
		if ((ls->v[i].live = br != 0 && (lease_holds(cache, &ls->v[i], br) ||
		    lease_busy(sp, ls->v[i].addr))))
			continue;
		veth_name(ls->v[i].addr, name);
		if (br != 0 && (rc = link_delete(sk, name)) == 0)
			rc = lease_remove(sp, ls->v[i].addr);
		else if (br == 0)
			rc = lease_remove(sp, ls->v[i].addr);
	}
	for (o = nl_cache_get_first(cache); o != NULL && rc == 0 && br != 0;
	    o = nl_cache_get_next(o))
		if (orphan_veth((struct rtnl_link *)o, ls, br))
			rc = link_delete(sk, rtnl_link_get_name((struct rtnl_link *)o));
	nl_cache_free(cache);
	return rc;
}

/*
 * IFLA_BRPORT_ISOLATED, which libnl-route-3 does not know: RTM_SETLINK of
 * family AF_BRIDGE with the port's flags nested in IFLA_PROTINFO (the
 * kernel takes a PROTINFO without NLA_F_NESTED for the old STP state).
 * The bridge then passes no frame, unicast, flooded or multicast, between
 * two isolated ports, and still between each of them and the bridge itself
 * (the gateway, the host), whatever nftables holds.
 */
int
link_isolate(struct nl_sock *sk, const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE };
	struct nl_msg *msg;
	struct nlattr *info;
	int err = -NLE_NOMEM;

	if ((ifi.ifi_index = link_index(sk, name)) == 0)
		return nl_fail(-NLE_NODEV, name);
	if ((msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST |
	    NLM_F_ACK)) == NULL)
		return nl_fail(err, name);
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) == 0 &&
	    (info = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) != NULL &&
	    nla_put_u8(msg, IFLA_BRPORT_ISOLATED, 1) == 0) {
		nla_nest_end(msg, info);
		if ((err = nl_send_auto_complete(sk, msg)) >= 0)
			err = nl_wait_for_ack(sk);
	}
	nlmsg_free(msg);
	return err < 0 ? nl_fail(err, name) : 0;
}
