/* SPDX-License-Identifier: ISC */
/*
 * Spaces: their config, leases, links and firewall, and a dyno's attach and
 * detach (space-net and dyno-run both do them).
 */
#ifndef DYNO_SPACE_H
#define DYNO_SPACE_H

#include <limits.h>
#include <stdnoreturn.h>
#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

#define SPACE_NAME_MAX		31
#define SPACE_TRUST_MAX		20
#define SPACE_COMMON		"common"
/* Every bridge we create starts with this; the firewall keys on it. */
#define SPACE_BRIDGE_PREFIX	"dyno-"
/* Host ends of the dynos' veth pairs: "dv", the address in hex, the tag. */
#define SPACE_VETH_PREFIX	"dv"
/*
 * Kernel names are the host's, DYNO_ROOT's are not: every root but this
 * one (conf.c's default) marks its bridges, veths, tables and bridge
 * aliases with a tag of SPACE_TAG_LEN characters (space_root).
 */
#define SPACE_DEFAULT_ROOT	"/var/lib/dyno"
#define SPACE_TAG_LEN		4
/* Other hosts holding a part of a space ([cluster] index, space-net-peer.c). */
#define SPACE_PEER_MAX		128
#define PEER_NAME_MAX		63
/*
 * How a space's isolation is laid out in the kernel: 2 is common spaces'
 * dyno ports isolated on the bridge (IFLA_BRPORT_ISOLATED) instead of an
 * nftables set of them.  A space.conf with an older (or no) `rules` is
 * brought up to date once, by the next run that changes the space.
 */
#define SPACE_RULES		2

/*
 * Functions returning int return 0 on success or an exit code from
 * lib/diag.h; the message ("what: why") is then space_error()'s, for the
 * tool to print.  Warnings (the run goes on) go to space_on_warning's fn.
 */
const char *space_error(void);
int	space_fail(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	space_fail_errno(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	space_on_warning(void (*fn)(const char *msg));
void	space_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What cannot be undone (a thread left in a dyno's namespace): warn, exit. */
noreturn void space_fatal(const char *what);

struct cidr {
	uint32_t	net;		/* host byte order, host bits zero */
	unsigned	len;		/* prefix length */
};

/* Another host's part of a space: reached through its underlay address. */
struct peer {
	char		host[PEER_NAME_MAX + 1];
	uint32_t	addr;			/* underlay address */
	struct cidr	subnet;			/* its part of the space's range */
};

struct space {
	char		name[SPACE_NAME_MAX + 1];
	char		dir[PATH_MAX];		/* DYNO_ROOT/spaces/NAME */
	char		bridge[IFNAMSIZ];
	char		table[64];		/* nftables: dyno-NAME[_TAG] */
	char		alias[256];		/* the bridge's: ours */
	int		common;			/* mode = common */
	/*
	 * range is the space's whole range (space.conf's cidr); cidr is this
	 * host's part of it: the whole range on a host without a [cluster]
	 * index, else the index-th /24 (space_split).
	 */
	struct cidr	range;
	struct cidr	cidr;
	int		split;			/* cidr is a part of range */
	struct peer	peers[SPACE_PEER_MAX];
	unsigned	npeers;
	uint32_t	outbound;		/* SNAT address, 0: masquerade */
	struct cidr	trusted[SPACE_TRUST_MAX];
	unsigned	ntrusted;
	unsigned	rules;			/* SPACE_RULES once laid out so */
};

struct lease {
	uint32_t	addr;
	char		app[64];		/* "-" when no app was named */
	char		dyno[80];
	pid_t		pid;
	unsigned	port;			/* 0: not a web dyno */
	int		live;			/* pid alive and its veth present */
};

struct leases {
	struct lease	*v;			/* malloc'd, freed by leases_free */
	size_t		 n;
};

/* spaceconf.c */
int	cidr_parse(const char *s, struct cidr *c);
int	addr_parse(const char *s, uint32_t *addr);
void	addr_format(uint32_t addr, char *buf, size_t size);
void	cidr_format(const struct cidr *c, char *buf, size_t size);
int	cidr_contains(const struct cidr *c, uint32_t addr);
int	cidr_overlaps(const struct cidr *a, const struct cidr *b);
uint32_t cidr_gateway(const struct cidr *c);
/* This DYNO_ROOT's tag in kernel names, set once by main() before any
 * other call: "" for SPACE_DEFAULT_ROOT. */
void	space_root(const char *root);
const char *space_tag(void);
void	space_bridge_name(const char *name, char *out);
/* This host's [cluster] index (0: none), read once by main(). */
void	space_host_index(unsigned index);
/* Set sp->cidr from sp->range and the host index; 0 or an exit status. */
int	space_split(struct space *sp);
/* A space.conf "peer = HOST ADDR SUBNET" value; 0, or -1 when malformed. */
int	space_peer_parse(const char *value, struct peer *p);
/* Host names: a DNS label (letters, digits, inner dashes, 1 to 63). */
int	space_peer_name_ok(const char *host);
int	space_dir(const char *root, const char *name, struct space *sp);
int	space_exists(const struct space *sp);
int	space_load(struct space *sp);
int	space_save(const struct space *sp);
int	space_names(const char *root, char ***names, size_t *n);
void	space_names_free(char **names, size_t n);

/* spacelease.c */
int	leases_scan(const struct space *sp, struct leases *ls);
void	leases_free(struct leases *ls);
/* Every lease's dyno alive: all marked live, 1; else 0, none marked. */
int	leases_alive(struct leases *ls);
struct lease *leases_find(struct leases *ls, const char *app, const char *dyno,
	    pid_t pid);
int	lease_pick(const struct space *sp, const struct leases *ls,
	    uint32_t *addr);
int	lease_write(const struct space *sp, const struct lease *l);
int	lease_remove(const struct space *sp, uint32_t addr);
/* The new lease's file locked while its veth is made: the fd, or -1. */
int	lease_hold(const struct space *sp, uint32_t addr);
/* Another attach holds the lease at addr (lease_hold). */
int	lease_busy(const struct space *sp, uint32_t addr);
int	pid_alive(pid_t pid);
int	dns_write(const struct space *sp, const struct leases *ls);
/*
 * Other hosts' dynos in the hosts file (dyno-agent feeds them): the lines
 * after DNS_PEERS_MARK come from DIR/dns/peer-HOST, one per peer.
 */
#define DNS_PEERS_MARK		"# other hosts' dynos (space-net peer names)"
#define DNS_PEER_MAX		(256 * 1024)
int	dns_peer_names(const struct space *sp, const struct leases *ls,
	    const char *host, int fd);
void	dns_peer_forget(const struct space *sp, const char *host);
void	veth_name(uint32_t addr, char *out);
void	addr_mac(uint32_t addr, unsigned char mac[6]);

/* spacelink.c */
struct nl_sock;
struct rtnl_route;
/* A main-table IPv4 route's destination, the default route aside: 1 and
 * *c, else 0 (a route link_check_routes and peer checks look at). */
int	link_route_dst(struct rtnl_route *r, struct cidr *c);
int	link_open(struct nl_sock **sk);
void	link_close(struct nl_sock *sk);
int	link_check_routes(struct nl_sock *sk, const struct space *sp);
/* *made is set when the bridge had to be made (its rules are gone too). */
int	link_bridge_ensure(struct nl_sock *sk, const struct space *sp,
	    int *made);
int	link_bridge_delete(struct nl_sock *sk, const struct space *sp);
int	link_exists(struct nl_sock *sk, const char *name);
int	link_up(struct nl_sock *sk, const char *name);
int	link_delete(struct nl_sock *sk, const char *name);
/* Add addr/len to the link ifindex of sk's namespace; an address already
 * there is fine.  0, or an exit status after a message naming `what`. */
int	link_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr,
	    unsigned len, const char *what);
int	link_sweep(struct nl_sock *sk, const struct space *sp,
	    struct leases *ls);
/* Isolate the bridge port `name`: it exchanges no frame with another
 * isolated port (a common space's dynos).  0, or an exit status. */
int	link_isolate(struct nl_sock *sk, const char *name);

/* spacens.c: a dyno's network namespace on its space's bridge.
 * ns_attach makes the veth (host end on the bridge, eth0 down in the dyno);
 * ns_configure, which touches nothing shared, brings it up inside. */
int	ns_attach(struct nl_sock *sk, const struct space *sp, uint32_t addr,
	    int nsfd);
int	ns_configure(int nsfd, const struct space *sp, uint32_t addr);
int	ns_forwarding(void);

/* spacenft.c */
int	nft_apply(const struct space *sp, const struct leases *ls);
int	nft_update(const struct space *sp, const struct leases *ls);
int	nft_remove(const struct space *sp);
/* `show`: the space's rules as the kernel holds them, malloc'd in *out. */
int	nft_list(const struct space *sp, char **out);

/* spacedyno.c: a space as a whole, and a dyno's attach and detach. */
/* The lock every change to any space runs under: its fd, or -1. */
int	space_lock(const char *root);
/* What create and the first attach to `common` share (NULL: not given). */
int	space_define(struct space *sp, const char *cidr, const char *outbound,
	    const char *mode);
/*
 * Bring the kernel in line with the space's files.  how: CONVERGE_RULES
 * lays the rules out again; CONVERGE_LAZY dumps the links to check the
 * leases only when one's dyno is gone (an attach, which sweeps anyway if
 * the address it picks is taken: space_attach_dyno).
 */
#define CONVERGE_RULES	0x1
#define CONVERGE_LAZY	0x2
int	space_converge(struct nl_sock *sk, struct space *sp, struct leases *ls,
	    int how);
/* Rules and names after a dyno came or went (web: the web set changed). */
int	space_publish(const struct space *sp, const struct leases *ls, int web);
/* Load a space; `common` is made on first use with common_range. */
int	space_open(const char *root, const char *name, const char *common_range,
	    struct nl_sock *sk, struct space *sp);
/* Drop a dyno's lease and veth; the caller republishes rules and names. */
int	space_unplug(struct nl_sock *sk, const struct space *sp,
	    struct lease *l);

/* A dyno to attach or detach; pid 0 detaches every instance of it. */
struct space_dyno {
	const char	*root;		/* DYNO_ROOT */
	const char	*common_range;	/* dyno.conf's, for `common` */
	const char	*space, *app, *dyno;	/* app NULL: "-" */
	pid_t		 pid;		/* a process in the dyno's namespace */
	unsigned	 port;		/* 0: not a web dyno */
};
/* On the space's bridge with a leased address (*addr, host order). */
int	space_attach_dyno(const struct space_dyno *w, uint32_t *addr);
int	space_detach_dyno(const struct space_dyno *w);

#endif
