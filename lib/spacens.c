/* SPDX-License-Identifier: ISC */
/* Spaces: plug a dyno's network namespace into its space's bridge. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "diag.h"
#include "space.h"

#define DYNO_IFNAME	"eth0"

static int
ns_fail(int err, const char *what)
{
	return space_fail(-err == NLE_PERM ? EXIT_NOPERM : EXIT_OSERR,
	    "dyno namespace: %s: %s", what, nl_geterror(err));
}

/*
 * A netlink socket belongs to the namespace it was opened in: enter the
 * dyno's namespace just long enough to open one, then come back.  Failing
 * to come back would leave us configuring the wrong network, so it is fatal.
 */
static int
ns_socket(int nsfd, struct nl_sock **sk)
{
	int self, rc;

	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		return space_fail_errno(EXIT_OSERR, "/proc/self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) == -1) {
		rc = space_fail_errno(errno == EPERM ? EXIT_NOPERM : EXIT_OSERR,
		    "setns into the dyno's network namespace");
		close(self);
		return rc;
	}
	rc = link_open(sk);
	if (setns(self, CLONE_NEWNET) == -1)
		space_fatal("setns back to the host namespace");
	close(self);
	return rc;
}

static int
ns_up(struct nl_sock *sk, const char *name, int *ifindex)
{
	struct rtnl_link *old, *chg;
	int err;

	if ((err = rtnl_link_get_kernel(sk, 0, name, &old)) < 0)
		return ns_fail(err, name);
	if ((chg = rtnl_link_alloc()) == NULL) {
		rtnl_link_put(old);
		return ns_fail(-NLE_NOMEM, name);
	}
	rtnl_link_set_flags(chg, IFF_UP);
	err = rtnl_link_change(sk, old, chg, 0);
	if (ifindex != NULL)
		*ifindex = rtnl_link_get_ifindex(old);
	rtnl_link_put(chg);
	rtnl_link_put(old);
	return err < 0 ? ns_fail(err, name) : 0;
}

static int
ns_route(struct nl_sock *sk, int ifindex, uint32_t gw)
{
	struct rtnl_route *r;
	struct rtnl_nexthop *nh;
	struct nl_addr *dst, *via;
	uint32_t any = 0, be = htonl(gw);
	int err;

	r = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = nl_addr_build(AF_INET, &any, 4);
	via = nl_addr_build(AF_INET, &be, 4);
	if (r == NULL || nh == NULL || dst == NULL || via == NULL) {
		err = -NLE_NOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_dst(r, dst);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL;		/* the route owns it now */
	err = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
out:
	if (nh != NULL)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(via);
	rtnl_route_put(r);
	return err < 0 ? ns_fail(err, "default route") : 0;
}

/* Inside the dyno: eth0 gets the address and the default route, lo comes up. */
int
ns_configure(int nsfd, const struct space *sp, uint32_t addr)
{
	struct nl_sock *sk;
	int rc, ifindex = 0;

	if ((rc = ns_socket(nsfd, &sk)) != 0)
		return rc;
	if ((rc = ns_up(sk, "lo", NULL)) == 0 &&
	    (rc = ns_up(sk, DYNO_IFNAME, &ifindex)) == 0 &&
	    (rc = link_addr_add(sk, ifindex, addr, sp->cidr.len,
	    "dyno namespace: address")) == 0)
		rc = ns_route(sk, ifindex, cidr_gateway(&sp->cidr));
	link_close(sk);
	return rc;
}

/*
 * One RTM_NEWLINK makes both ends: the host end, enslaved to the bridge,
 * and the dyno end created directly inside the dyno's namespace as eth0
 * (so no name clash with the host's own eth0 is possible), with the MAC
 * address its IPv4 address fixes (addr_mac).  Both are left down: the
 * caller brings the host end up (link_up) once the dyno's end is up and
 * addressed.  An end made up while its peer is down has no carrier, and
 * the kernel takes that carrier loss (dev_deactivate) with an RCU grace
 * period under the RTNL: about 3 ms a dyno here, with every other attach
 * and every new network namespace waiting.
 */
int
ns_attach(struct nl_sock *sk, const struct space *sp, uint32_t addr,
    int nsfd)
{
	struct rtnl_link *link, *peer;
	struct nl_addr *ll;
	unsigned char mac[6];
	char name[IFNAMSIZ];
	int err, br, rc;

	veth_name(addr, name);
	addr_mac(addr, mac);
	if ((err = rtnl_link_get_kernel(sk, 0, sp->bridge, &link)) < 0)
		return ns_fail(err, sp->bridge);
	br = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if ((link = rtnl_link_veth_alloc()) == NULL)
		return ns_fail(-NLE_NOMEM, name);
	rtnl_link_set_name(link, name);
	rtnl_link_set_master(link, br);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, DYNO_IFNAME);
	rtnl_link_set_ns_fd(peer, nsfd);
	/*
	 * One queue each way on both ends, as the kernel would leave them:
	 * asked for, rather than cut down from one per CPU once the device
	 * is registered, it spares each end an RCU grace period under the
	 * RTNL (synchronize_net).
	 */
	rtnl_link_set_num_tx_queues(link, 1);
	rtnl_link_set_num_rx_queues(link, 1);
	rtnl_link_set_num_tx_queues(peer, 1);
	rtnl_link_set_num_rx_queues(peer, 1);
	if ((ll = nl_addr_build(AF_LLC, mac, sizeof(mac))) != NULL) {
		rtnl_link_set_addr(peer, ll);
		nl_addr_put(ll);
	}
	rtnl_link_put(peer);
	err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(link);
	if (err < 0)
		return space_fail(-err == NLE_PERM ? EXIT_NOPERM :
		    EXIT_CANTCREAT, "%s: veth %s: %s%s", sp->name, name,
		    nl_geterror(err), err == -NLE_EXIST ?
		    " (the dyno already has an eth0?)" : "");
	/*
	 * A common space's dyno reaches no other dyno, not even on layer 2:
	 * its port is isolated before the dyno's end comes up (ns_configure),
	 * so no frame of it ever crosses the bridge to another dyno.
	 */
	if (sp->common && (rc = link_isolate(sk, name)) != 0) {
		link_delete(sk, name);
		return rc;
	}
	return 0;
}

/* Spaces route between their bridge and the world: IPv4 forwarding on. */
int
ns_forwarding(void)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char c = '0';
	int fd, rc;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return space_fail_errno(errno == EACCES ? EXIT_NOPERM :
		    EXIT_OSERR, "%s", path);
	if (read(fd, &c, 1) == 1 && c == '1') {
		close(fd);
		return 0;
	}
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		rc = space_fail_errno(EXIT_OSERR, "%s", path);
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}
