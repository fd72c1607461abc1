/* SPDX-License-Identifier: ISC */
/* Spaces: each space's nftables tables, rebuilt whole from its state. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "diag.h"
#include "space.h"

/*
 * Every change rebuilds the space's tables from space.conf and the leases
 * in one nftables transaction ("add; delete; add" is atomic): the kernel
 * never runs a half-updated rule set, and whatever a crash left behind is
 * replaced by the next run.  Only tables named dyno-SPACE are ever touched.
 */

/*
 * libnftables is loaded when a run changes rules, not linked: loading it
 * (and libxtables, libgmp, libjansson with it) costs about 4 ms of CPU per
 * start, which most attaches (every worker's) do not need.
 */
#define LIBNFTABLES	"libnftables.so.1"

static struct {
	struct nft_ctx	*(*ctx_new)(uint32_t);
	void		 (*ctx_free)(struct nft_ctx *);
	int		 (*buffer_output)(struct nft_ctx *);
	int		 (*buffer_error)(struct nft_ctx *);
	const char	*(*error_buffer)(struct nft_ctx *);
	const char	*(*output_buffer)(struct nft_ctx *);
	int		 (*run)(struct nft_ctx *, const char *);
} nft;

static int
nft_load(void)
{
	void *h;

	if (nft.run != NULL)
		return 0;
	if ((h = dlopen(LIBNFTABLES, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return space_fail(EXIT_UNAVAILABLE, "nftables: %s", dlerror());
	nft.ctx_new = (struct nft_ctx *(*)(uint32_t))dlsym(h, "nft_ctx_new");
	nft.ctx_free = (void (*)(struct nft_ctx *))dlsym(h, "nft_ctx_free");
	nft.buffer_output = (int (*)(struct nft_ctx *))dlsym(h,
	    "nft_ctx_buffer_output");
	nft.buffer_error = (int (*)(struct nft_ctx *))dlsym(h,
	    "nft_ctx_buffer_error");
	nft.error_buffer = (const char *(*)(struct nft_ctx *))dlsym(h,
	    "nft_ctx_get_error_buffer");
	nft.output_buffer = (const char *(*)(struct nft_ctx *))dlsym(h,
	    "nft_ctx_get_output_buffer");
	nft.run = (int (*)(struct nft_ctx *, const char *))dlsym(h,
	    "nft_run_cmd_from_buffer");
	if (nft.ctx_new == NULL || nft.ctx_free == NULL ||
	    nft.buffer_output == NULL || nft.buffer_error == NULL ||
	    nft.error_buffer == NULL || nft.output_buffer == NULL ||
	    nft.run == NULL) {
		nft.run = NULL;
		return space_fail(EXIT_UNAVAILABLE, "nftables: %s: a function "
		    "is missing", LIBNFTABLES);
	}
	return 0;
}

/* A context whose output and errors are kept; NULL after a message. */
static struct nft_ctx *
nft_open(void)
{
	struct nft_ctx *ctx;

	if (nft_load() != 0)
		return NULL;
	if ((ctx = nft.ctx_new(NFT_CTX_DEFAULT)) == NULL)
		space_fail(EXIT_OSERR, "nftables: cannot make a context");
	return ctx;
}

static int
nft_run(const char *script, const char *what, int quiet)
{
	struct nft_ctx *ctx;
	const char *err;
	int rc = 0;

	if ((ctx = nft_open()) == NULL)
		return nft.run == NULL ? EXIT_UNAVAILABLE : EXIT_OSERR;
	nft.buffer_output(ctx);
	nft.buffer_error(ctx);
	if (nft.run(ctx, script) != 0) {
		rc = EXIT_OSERR;
		if (quiet)
			goto out;
		err = nft.error_buffer(ctx);
		space_fail(EXIT_OSERR, "nftables: %s: %.*s", what,
		    (int)strcspn(err, "\n"), err);
		if (strstr(err, "Operation not permitted") != NULL)
			rc = EXIT_NOPERM;
	}
out:
	nft.ctx_free(ctx);
	return rc;
}

/* "elements = { ... }" of the web set, or nothing when it is empty. */
static void
put_web_elements(FILE *f, const struct leases *ls, const char *indent)
{
	char a[INET_ADDRSTRLEN];
	const char *sep = "";
	size_t i;

	for (i = 0; i < ls->n; i++) {
		if (!ls->v[i].live || ls->v[i].port == 0)
			continue;
		addr_format(ls->v[i].addr, a, sizeof(a));
		fprintf(f, "%s%s . %u", *sep == '\0' ? indent : sep, a,
		    ls->v[i].port);
		sep = ", ";
	}
	if (*sep != '\0')
		fprintf(f, " }\n");
}

static void
put_web(FILE *f, const struct leases *ls)
{
	fprintf(f, "\t# Web dynos and their PORT: the only way in.\n"
	    "\tset web {\n\t\ttype ipv4_addr . inet_service\n");
	put_web_elements(f, ls, "\t\telements = { ");
	fprintf(f, "\t}\n");
}

static void
put_trusted(FILE *f, const struct space *sp)
{
	char c[32];
	unsigned i;

	fprintf(f, "\t# Trusted IP ranges (heroku.md 7.4): outside clients"
	    " allowed to reach web dynos.\n\tset trusted {\n"
	    "\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { ");
	for (i = 0; i < sp->ntrusted; i++) {
		cidr_format(&sp->trusted[i], c, sizeof(c));
		fprintf(f, "%s%s", i == 0 ? "" : ", ", c);
	}
	fprintf(f, " }\n\t}\n");
}

/*
 * A space split over hosts (space-net-peer.c): the gateways of the other
 * hosts' parts, the source of their routers' packets, and the parts.
 */
static void
put_peer_sets(FILE *f, const struct space *sp)
{
	char a[INET_ADDRSTRLEN], c[32];
	unsigned i;

	if (!sp->split)
		return;
	fprintf(f, "\t# The other hosts' routers (their gateway in the space).\n"
	    "\tset peer_gws {\n\t\ttype ipv4_addr\n");
	for (i = 0; i < sp->npeers; i++) {
		addr_format(cidr_gateway(&sp->peers[i].subnet), a, sizeof(a));
		fprintf(f, "%s%s", i == 0 ? "\t\telements = { " : ", ", a);
	}
	fprintf(f, "%s\t}\n\t# The other hosts' parts of the space.\n"
	    "\tset peer_nets {\n\t\ttype ipv4_addr\n\t\tflags interval\n",
	    sp->npeers > 0 ? " }\n" : "");
	for (i = 0; i < sp->npeers; i++) {
		cidr_format(&sp->peers[i].subnet, c, sizeof(c));
		fprintf(f, "%s%s", i == 0 ? "\t\telements = { " : ", ", c);
	}
	fprintf(f, "%s\t}\n", sp->npeers > 0 ? " }\n" : "");
}

/*
 * What leaves a split space's bridge: replies, then only its own sources
 * (a dyno claiming another part's address, or the gateway's, would pass
 * for a peer's dyno or router on the other host).
 */
static void
put_peer_egress(FILE *f, const struct space *sp)
{
	char c[32], gw[INET_ADDRSTRLEN];

	if (!sp->split)
		return;
	cidr_format(&sp->cidr, c, sizeof(c));
	addr_format(cidr_gateway(&sp->cidr), gw, sizeof(gw));
	fprintf(f, "\t\tiifname \"%s\" ct state established,related accept\n"
	    "\t\t# Dynos send from their own addresses only.\n"
	    "\t\tiifname \"%s\" ip saddr != %s drop\n"
	    "\t\tiifname \"%s\" ip saddr %s drop\n", sp->bridge,
	    sp->bridge, c, sp->bridge, gw);
}

/* Toward the other hosts' parts: a private space's own dynos alone. */
static void
put_peer_forward(FILE *f, const struct space *sp)
{
	char range[32];

	if (!sp->split)
		return;
	cidr_format(&sp->range, range, sizeof(range));
	if (!sp->common)
		fprintf(f, "\t\t# Its dynos on other hosts, through the peers.\n"
		    "\t\tiifname \"%s\" ip daddr @peer_nets accept\n",
		    sp->bridge);
	fprintf(f, "\t\t# No dyno reaches another host's part otherwise.\n"
	    "\t\tiifname \"" SPACE_BRIDGE_PREFIX "*\" ip daddr %s drop\n",
	    range);
}

/* From the other hosts: their routers to web dynos, their dynos if private. */
static void
put_peer_ingress(FILE *f, const struct space *sp)
{
	if (!sp->split)
		return;
	fprintf(f, "\t\t# The other hosts' routers reach web dynos on PORT.\n"
	    "\t\toifname \"%s\" ip saddr @peer_gws"
	    " ip daddr . tcp dport @web accept\n", sp->bridge);
	if (!sp->common)
		fprintf(f, "\t\t# The space's dynos on other hosts talk freely.\n"
		    "\t\toifname \"%s\" ip saddr @peer_nets accept\n",
		    sp->bridge);
}

/*
 * The host's own services are no more open to another host's dynos than
 * to its own: past replies, a source in the space's range stops here.
 */
static void
put_peer_input(FILE *f, const struct space *sp)
{
	char range[32];

	if (!sp->split)
		return;
	cidr_format(&sp->range, range, sizeof(range));
	fprintf(f, "\t\t# Dynos of the space on other hosts: replies only.\n"
	    "\t\tip saddr %s ct state established,related accept\n"
	    "\t\tip saddr %s drop\n", range, range);
}

/* Traffic the host itself sends into the space: the router's side. */
static void
put_output(FILE *f, const char *br, const char *cidr)
{
	fprintf(f, "\tchain output {\n"
	    "\t\ttype filter hook output priority filter; policy accept;\n"
	    "\t\t# Replies to connections a dyno made to the host.\n"
	    "\t\toifname \"%s\" ct state established,related accept\n"
	    "\t\t# The router reaches a web dyno on its PORT, nothing else.\n"
	    "\t\toifname \"%s\" ip daddr . tcp dport @web accept\n"
	    "\t\t# Refuse the rest loudly, so a client fails at once.\n"
	    "\t\toifname \"%s\" ip daddr %s meta l4proto tcp"
	    " reject with tcp reset\n"
	    "\t\toifname \"%s\" drop\n\t}\n", br, br, br, cidr, br);
}

#define RESOLV_CONF	"/etc/resolv.conf"
#define NAMESERVERS_MAX	3	/* what the resolver reads (MAXNS) */

/*
 * The IPv4 name servers of the host's resolv.conf, which dyno-run gives
 * every dyno: the only host service a dyno may need when one of them is a
 * host address.  Returns how many were put in ns.
 */
static size_t
nameservers(uint32_t ns[NAMESERVERS_MAX])
{
	char line[256], word[16], addr[64];
	size_t n = 0;
	FILE *f;

	if ((f = fopen(RESOLV_CONF, "re")) == NULL)
		return 0;
	while (n < NAMESERVERS_MAX && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%15s %63s", word, addr) == 2 &&
		    strcmp(word, "nameserver") == 0 &&
		    addr_parse(addr, &ns[n]) == 0)
			n++;
	fclose(f);
	return n;
}

/*
 * Traffic from dynos to the host itself.  Without this chain every
 * service on any host address (logplexd's --listen, an admin port, the
 * metadata of a cloud host) was one connect() away from every tenant.
 * Dynos get their addresses from space-net, not DHCP, so what stays open
 * is replies to the host's own connections (the router's) and DNS to a
 * name server of resolv.conf that lives on the host.
 */
static void
put_input(FILE *f, const struct space *sp)
{
	const char *br = sp->bridge;
	uint32_t ns[NAMESERVERS_MAX];
	char a[INET_ADDRSTRLEN];
	size_t i, n = nameservers(ns);

	fprintf(f, "\tchain input {\n"
	    "\t\ttype filter hook input priority filter; policy accept;\n"
	    "\t\t# Replies to the router's connections to web dynos.\n"
	    "\t\tiifname \"%s\" ct state established,related accept\n", br);
	if (n > 0)
		fprintf(f, "\t\t# The DNS servers dynos are given, if on this "
		    "host (" RESOLV_CONF ").\n");
	for (i = 0; i < n; i++) {
		addr_format(ns[i], a, sizeof(a));
		fprintf(f, "\t\tiifname \"%s\" ip daddr %s udp dport 53 accept\n"
		    "\t\tiifname \"%s\" ip daddr %s tcp dport 53 accept\n",
		    br, a, br, a);
	}
	fprintf(f, "\t\t# Nothing else on the host is a dyno's.\n"
	    "\t\tiifname \"%s\" drop\n", br);
	put_peer_input(f, sp);
	fprintf(f, "\t}\n");
}

/* Traffic routed through the host into, inside or out of the space. */
static void
put_forward(FILE *f, const struct space *sp)
{
	const char *br = sp->bridge;

	fprintf(f, "\tchain forward {\n"
	    "\t\ttype filter hook forward priority filter; policy accept;\n"
	    "\t\toifname \"%s\" ct state established,related accept\n", br);
	put_peer_egress(f, sp);
	if (sp->common)
		fprintf(f, "\t\t# Common Runtime: dynos never reach each other,"
		    " not even through the gateway.\n"
		    "\t\tiifname \"%s\" oifname \"%s\" drop\n", br, br);
	else
		fprintf(f, "\t\t# A private space's dynos talk freely, TCP and"
		    " UDP, any port.\n"
		    "\t\tiifname \"%s\" oifname \"%s\" accept\n", br, br);
	put_peer_forward(f, sp);
	fprintf(f, "\t\t# No other space's dyno gets in.\n"
	    "\t\tiifname \"" SPACE_BRIDGE_PREFIX "*\" oifname \"%s\" drop\n", br);
	put_peer_ingress(f, sp);
	if (!sp->common)
		fprintf(f, "\t\t# Outside clients in a trusted range reach"
		    " web dynos on PORT.\n"
		    "\t\toifname \"%s\" ip saddr @trusted"
		    " ip daddr . tcp dport @web accept\n", br);
	fprintf(f, "\t\toifname \"%s\" drop\n\t}\n", br);
}

/* Outbound NAT: the world sees the host, or the space's stable address. */
static void
put_nat(FILE *f, const struct space *sp, const char *cidr)
{
	char out[INET_ADDRSTRLEN];

	char range[32];

	/* Split: a dyno's packets to the space's other parts keep their
	 * source, which the other host's rules judge. */
	cidr_format(&sp->range, range, sizeof(range));
	fprintf(f, "\tchain postrouting {\n"
	    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	    "\t\tip saddr %s %s%s%soifname != \"%s\" ", cidr,
	    sp->split ? "ip daddr != " : "", sp->split ? range : "",
	    sp->split ? " " : "", sp->bridge);
	if (sp->outbound != 0) {
		addr_format(sp->outbound, out, sizeof(out));
		fprintf(f, "snat ip to %s\n\t}\n", out);
	} else
		fprintf(f, "masquerade\n\t}\n");
}

/*
 * Common Runtime, layer 2: no frame goes from one dyno's port to another.
 * The ports are isolated on the bridge (link_isolate), which holds
 * whatever happens to nftables and needs no change per dyno; the bridge
 * table that older runs kept a set of ports in is removed.
 */
static void
put_bridge(FILE *f, const struct space *sp)
{
	fprintf(f, "table bridge %s {}\ndelete table bridge %s\n",
	    sp->table, sp->table);
}

/*
 * What an attach or detach of a web dyno changes: only the web set,
 * refilled whole from the leases in one transaction.  Rebuilding the
 * tables would unregister and register their hooks each time, which
 * costs the kernel an RCU grace period or more per run.
 */
static void
put_sets(FILE *f, const struct space *sp, const struct leases *ls)
{
	char add[128];

	fprintf(f, "flush set inet %s web\n", sp->table);
	snprintf(add, sizeof(add), "add element inet %s web { ", sp->table);
	put_web_elements(f, ls, add);
}

static int
nft_script(const struct space *sp, const struct leases *ls, int full,
    char **script)
{
	char cidr[32];
	size_t len;
	FILE *f;

	if ((f = open_memstream(script, &len)) == NULL)
		return space_fail_errno(EXIT_OSERR, "nftables");
	if (full) {
		cidr_format(&sp->cidr, cidr, sizeof(cidr));
		fprintf(f, "table inet %s {}\ndelete table inet %s\n"
		    "table inet %s {\n", sp->table, sp->table, sp->table);
		put_web(f, ls);
		put_trusted(f, sp);
		put_peer_sets(f, sp);
		put_output(f, sp->bridge, cidr);
		put_input(f, sp);
		put_forward(f, sp);
		put_nat(f, sp, cidr);
		fprintf(f, "}\n");
		put_bridge(f, sp);
	} else
		put_sets(f, sp, ls);
	if (fclose(f) != 0) {
		free(*script);
		*script = NULL;
		return space_fail_errno(EXIT_OSERR, "nftables");
	}
	return 0;
}

int
nft_apply(const struct space *sp, const struct leases *ls)
{
	char *script;
	int rc;

	if ((rc = nft_script(sp, ls, 1, &script)) != 0)
		return rc;
	rc = nft_run(script, sp->name, 0);
	free(script);
	return rc;
}

/* Refill the sets; rebuild everything if the tables are not as we left them. */
int
nft_update(const struct space *sp, const struct leases *ls)
{
	char *script;
	int rc;

	if ((rc = nft_script(sp, ls, 0, &script)) != 0)
		return rc;
	rc = nft_run(script, sp->name, 1);
	free(script);
	return rc == 0 ? 0 : nft_apply(sp, ls);
}

int
nft_remove(const struct space *sp)
{
	char script[512];

	snprintf(script, sizeof(script), "table inet %s {}\n"
	    "delete table inet %s\ntable bridge %s {}\n"
	    "delete table bridge %s\n", sp->table, sp->table, sp->table,
	    sp->table);
	return nft_run(script, sp->name, 0);
}

/* `show`: the space's rules as the kernel holds them, into *out. */
int
nft_list(const struct space *sp, char **out)
{
	struct nft_ctx *ctx;
	char cmd[128], *text = NULL;
	size_t len = 0;
	FILE *f;
	int fam;

	*out = NULL;
	if ((ctx = nft_open()) == NULL)
		return nft.run == NULL ? EXIT_UNAVAILABLE : EXIT_OSERR;
	if ((f = open_memstream(&text, &len)) == NULL) {
		nft.ctx_free(ctx);
		return space_fail_errno(EXIT_OSERR, "nftables");
	}
	nft.buffer_output(ctx);
	nft.buffer_error(ctx);
	for (fam = 0; fam < 2; fam++) {
		snprintf(cmd, sizeof(cmd), "list table %s %s",
		    fam == 0 ? "inet" : "bridge", sp->table);
		/* A missing table (spaces now have no bridge one) is fine. */
		if (nft.run(ctx, cmd) == 0)
			fputs(nft.output_buffer(ctx), f);
	}
	nft.ctx_free(ctx);
	if (fclose(f) != 0) {
		free(text);
		return space_fail_errno(EXIT_OSERR, "nftables");
	}
	*out = text;
	return 0;
}
