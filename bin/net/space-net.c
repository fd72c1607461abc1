/* SPDX-License-Identifier: ISC */
/* space-net: the Common Runtime network and Private Spaces (bridges, veths, nftables). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "space-net.h"

enum {
	O_CIDR = 1 << 0, O_OUTBOUND = 1 << 1, O_MODE = 1 << 2, O_PID = 1 << 3,
	O_APP = 1 << 4, O_PORT = 1 << 5, O_FORCE = 1 << 6,
};

struct opts {
	unsigned	 given;		/* O_* bits */
	const char	*cidr, *outbound, *mode, *app;
	unsigned	 pid, port;
	char		**argv;		/* operands after the subcommand */
	int		 argc;
	const char	*root;		/* DYNO_ROOT */
	const char	*common_range;	/* dyno.conf's, for `common` made here */
};

struct cmd {
	const char	*name;
	int		(*run)(struct opts *);
	int		 minargs, maxargs;
	unsigned	 allowed;	/* O_* bits */
};

static const char synopsis[] =
	    "usage: space-net create SPACE --cidr CIDR [--outbound ADDR] [--mode MODE]\n"
	    "       space-net attach SPACE DYNO --pid PID [--app APP] [--port PORT]\n"
	    "       space-net detach SPACE DYNO [--app APP] [--pid PID]\n"
	    "       space-net trust SPACE CIDR ...\n"
	    "       space-net list\n"
	    "       space-net show SPACE\n"
	    "       space-net destroy SPACE [--force]\n"
	    "       space-net peer add SPACE HOST UNDERLAY-ADDR SUBNET\n"
	    "       space-net peer del SPACE HOST\n"
	    "       space-net peer list [SPACE]\n"
	    "       space-net peer names SPACE HOST < NAMES\n";

static noreturn void
usage(void)
{
	fputs(synopsis, stderr);
	exit(EXIT_USAGE);
}

static noreturn void
help(void)
{
	printf("%s\noptions:\n"
	    "  -c, --cidr=CIDR      the space's private IPv4 range (create)\n"
	    "  -o, --outbound=ADDR  SNAT outbound traffic to this address (create)\n"
	    "  -m, --mode=MODE      common or private (create)\n"
	    "  -p, --pid=PID        a process in the dyno's network namespace\n"
	    "                       (attach); only that instance (detach)\n"
	    "  -a, --app=APP        the dyno's app (attach, detach)\n"
	    "  -P, --port=PORT      the web dyno's PORT, open to the router (attach)\n"
	    "  -f, --force          destroy even with dynos attached (destroy)\n"
	    "  -h, --help           this text\n", synopsis);
	exit(0);
}

static void
warned(const char *msg)
{
	diag_warn("%s", msg);
}

/*
 * A space this create made and could not bring up is taken back whole:
 * its rules, its bridge, its folder.  Its own message was printed first.
 */
static void
create_undo(struct nl_sock *sk, const struct space *sp)
{
	char why[1024];

	snprintf(why, sizeof(why), "%s", space_error());
	space_on_warning(NULL);		/* an interface not ours stays, quietly */
	(void)nft_remove(sp);
	(void)link_bridge_delete(sk, sp);
	(void)state_remove_tree(sp->dir);
	space_on_warning(warned);
	space_fail(EXIT_OSERR, "%s", why);
}

static int
cmd_create(struct opts *o)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct space sp;
	int rc, lock = -1, made;

	if ((rc = space_dir(o->root, o->argv[0], &sp)) != 0)
		return rc;
	if ((lock = space_lock(o->root)) == -1)
		return EXIT_TEMPFAIL;
	made = !space_exists(&sp);
	if ((rc = space_define(&sp, o->cidr, o->outbound, o->mode)) != 0 ||
	    (rc = link_open(&sk)) != 0)
		goto out;
	if ((rc = link_check_routes(sk, &sp)) != 0 ||
	    (rc = space_save(&sp)) != 0)
		goto out;
	if ((rc = space_converge(sk, &sp, &ls, CONVERGE_RULES)) == 0)
		rc = dns_write(&sp, &ls);
	if (rc != 0 && made)
		create_undo(sk, &sp);
out:
	leases_free(&ls);
	link_close(sk);
	close(lock);
	return rc;
}

static struct space_dyno
dyno_of(const struct opts *o)
{
	struct space_dyno w;

	memset(&w, 0, sizeof(w));
	w.root = o->root;
	w.common_range = o->common_range;
	w.space = o->argv[0];
	w.dyno = o->argv[1];
	w.app = o->app;
	w.pid = (o->given & O_PID) ? (pid_t)o->pid : 0;
	w.port = o->port;
	return w;
}

/* The address on stdout: dyno-run and scripts read it. */
static int
cmd_attach(struct opts *o)
{
	struct space_dyno w = dyno_of(o);
	char a[INET_ADDRSTRLEN];
	uint32_t addr;
	int rc;

	if (!(o->given & O_PID)) {
		diag_error("attach: --pid is required");
		return EXIT_USAGE;
	}
	if ((rc = space_attach_dyno(&w, &addr)) != 0)
		return rc;
	addr_format(addr, a, sizeof(a));
	printf("%s\n", a);
	return 0;
}

static int
cmd_detach(struct opts *o)
{
	struct space_dyno w = dyno_of(o);

	return space_detach_dyno(&w);
}

static int
cmd_trust(struct opts *o)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct space sp;
	int i, rc, lock = -1;

	if ((rc = space_dir(o->root, o->argv[0], &sp)) != 0)
		return rc;
	if (o->argc - 1 > SPACE_TRUST_MAX) {
		diag_error("%s: at most %d trusted ranges", sp.name,
		    SPACE_TRUST_MAX);
		return EXIT_DATAERR;
	}
	if ((lock = space_lock(o->root)) == -1)
		return EXIT_TEMPFAIL;
	if ((rc = space_load(&sp)) != 0)
		goto out;
	if (sp.common) {
		diag_error("%s: only private spaces have trusted ranges", sp.name);
		rc = EXIT_DATAERR;
		goto out;
	}
	for (i = 1; i < o->argc; i++)
		if (cidr_parse(o->argv[i], &sp.trusted[i - 1]) == -1) {
			diag_error("%s: not an IPv4 CIDR", o->argv[i]);
			rc = EXIT_DATAERR;
			goto out;
		}
	sp.ntrusted = (unsigned)o->argc - 1;
	if ((rc = space_save(&sp)) == 0 && (rc = link_open(&sk)) == 0)
		rc = space_converge(sk, &sp, &ls, CONVERGE_RULES);
out:
	leases_free(&ls);
	link_close(sk);
	close(lock);
	return rc;
}

static unsigned
live_count(const struct space *sp, struct leases *ls)
{
	unsigned n = 0;
	size_t i;

	if (leases_scan(sp, ls) != 0)
		return 0;
	for (i = 0; i < ls->n; i++)
		if ((ls->v[i].live = pid_alive(ls->v[i].pid)))
			n++;
	return n;
}

static int
cmd_list(struct opts *o)
{
	struct leases ls = { NULL, 0 };
	struct space sp;
	char **names, c[32];
	size_t i, n;

	if (space_names(o->root, &names, &n) == -1) {
		diag_error_errno("%s/spaces", o->root);
		return EXIT_OSERR;
	}
	for (i = 0; i < n; i++) {
		if (space_dir(o->root, names[i], &sp) != 0 ||
		    space_load(&sp) != 0)
			continue;
		cidr_format(&sp.range, c, sizeof(c));
		printf("%s\t%s\t%s\t%u\n", sp.name,
		    sp.common ? "common" : "private", c, live_count(&sp, &ls));
		leases_free(&ls);
	}
	space_names_free(names, n);
	return 0;
}

static void
show_dynos(const struct leases *ls)
{
	char a[INET_ADDRSTRLEN], port[8];
	const char *dot;
	size_t i;

	for (i = 0; i < ls->n; i++) {
		if (!ls->v[i].live)
			continue;
		addr_format(ls->v[i].addr, a, sizeof(a));
		snprintf(port, sizeof(port), "%u", ls->v[i].port);
		dot = strchr(ls->v[i].dyno, '.');
		printf("dyno %s %s %s %d %s", a, ls->v[i].app, ls->v[i].dyno,
		    (int)ls->v[i].pid, ls->v[i].port ? port : "-");
		if (strcmp(ls->v[i].app, "-") != 0 && dot != NULL)
			printf(" %s.%.*s.%s.app.localspace", dot + 1,
			    (int)(dot - ls->v[i].dyno), ls->v[i].dyno,
			    ls->v[i].app);
		printf("\n");
	}
}

/* A split space: this host's part and the other hosts' (space-net(8) PEERS). */
static void
show_peers(const struct space *sp)
{
	char c[32], a[INET_ADDRSTRLEN];
	unsigned i;

	if (!sp->split)
		return;
	cidr_format(&sp->cidr, c, sizeof(c));
	printf("local %s\n", c);
	for (i = 0; i < sp->npeers; i++) {
		addr_format(sp->peers[i].addr, a, sizeof(a));
		cidr_format(&sp->peers[i].subnet, c, sizeof(c));
		printf("peer %s %s %s\n", sp->peers[i].host, a, c);
	}
}

static int
cmd_show(struct opts *o)
{
	struct leases ls = { NULL, 0 };
	struct space sp;
	char c[32], out[INET_ADDRSTRLEN] = "masquerade", *text = NULL;
	unsigned i, n;
	int rc;

	if ((rc = space_dir(o->root, o->argv[0], &sp)) != 0 ||
	    (rc = space_load(&sp)) != 0)
		return rc;
	n = live_count(&sp, &ls);
	cidr_format(&sp.range, c, sizeof(c));
	printf("space %s\nmode %s\ncidr %s\nbridge %s\n", sp.name,
	    sp.common ? "common" : "private", c, sp.bridge);
	show_peers(&sp);
	addr_format(cidr_gateway(&sp.cidr), c, sizeof(c));
	if (sp.outbound != 0)
		addr_format(sp.outbound, out, sizeof(out));
	printf("gateway %s\noutbound %s\ntrusted", c, out);
	for (i = 0; i < sp.ntrusted; i++) {
		cidr_format(&sp.trusted[i], c, sizeof(c));
		printf(" %s", c);
	}
	printf("\ndynos %u\n", n);
	show_dynos(&ls);
	leases_free(&ls);
	printf("rules\n");
	if ((rc = nft_list(&sp, &text)) == 0)
		fputs(text, stdout);
	free(text);
	return rc;
}

static int
destroy_locked(struct opts *o, struct nl_sock *sk, struct space *sp,
    struct leases *ls)
{
	size_t i, n = 0;
	int rc;

	if ((rc = leases_scan(sp, ls)) != 0 || (rc = link_sweep(sk, sp, ls)) != 0)
		return rc;
	for (i = 0; i < ls->n; i++)
		n += ls->v[i].live;
	if (n > 0 && !(o->given & O_FORCE)) {
		diag_error("%s: %zu dynos attached; detach them or use --force",
		    sp->name, n);
		return EXIT_NO;
	}
	for (i = 0; i < ls->n && rc == 0; i++)
		if (ls->v[i].live)
			rc = space_unplug(sk, sp, &ls->v[i]);
	if (rc == 0 && (rc = peer_unroute_all(sk, sp)) == 0 &&
	    (rc = nft_remove(sp)) == 0 &&
	    (rc = link_bridge_delete(sk, sp)) == 0 &&
	    state_remove_tree(sp->dir) == -1) {
		diag_error_errno("%s", sp->dir);
		rc = EXIT_OSERR;
	}
	return rc;
}

static int
cmd_destroy(struct opts *o)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct space sp;
	int rc, lock;

	if ((rc = space_dir(o->root, o->argv[0], &sp)) != 0)
		return rc;
	if ((lock = space_lock(o->root)) == -1)
		return EXIT_TEMPFAIL;
	if (!space_exists(&sp))
		rc = (o->given & O_FORCE) ? 0 : space_load(&sp);
	else if ((rc = space_load(&sp)) == 0 && (rc = link_open(&sk)) == 0)
		rc = destroy_locked(o, sk, &sp, &ls);
	leases_free(&ls);
	link_close(sk);
	close(lock);
	return rc;
}

/* The space loaded, its leases read: all `peer names` needs (no link). */
static int
space_read(struct opts *o, struct space *sp, struct leases *ls)
{
	int rc;

	if ((rc = space_dir(o->root, o->argv[0], sp)) != 0 ||
	    (rc = space_load(sp)) != 0)
		return rc;
	return leases_scan(sp, ls);
}

/*
 * peer add|del|names SPACE HOST ... (verb: the first letter), under the
 * lock.  add and del change routes: the space is converged first (its
 * bridge holds the gateway address the routes to other hosts' parts start
 * from).  names (HOST's dynos in the hosts file, from stdin: dyno-agent
 * feeds them from etcd) touches no link: only the leases and the hosts
 * file.
 */
static int
peer_locked(struct opts *o, char verb)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct space sp;
	int rc, lock;

	if ((lock = space_lock(o->root)) == -1)
		return EXIT_TEMPFAIL;
	if (verb == 'n')
		rc = space_read(o, &sp, &ls);
	else if ((rc = link_open(&sk)) == 0 &&
	    (rc = space_open(o->root, o->argv[0], o->common_range, sk, &sp)) == 0)
		rc = space_converge(sk, &sp, &ls, 0);
	if (rc == 0 && verb == 'a')
		rc = peer_add(sk, &sp, &ls, o->argv + 1);
	else if (rc == 0 && verb == 'd' &&
	    (rc = peer_del(sk, &sp, &ls, o->argv[1])) == 0) {
		/* a peer gone takes its dynos' names along */
		dns_peer_forget(&sp, o->argv[1]);
		rc = dns_write(&sp, &ls);
	} else if (rc == 0 && verb == 'n')
		rc = dns_peer_names(&sp, &ls, o->argv[1], STDIN_FILENO);
	leases_free(&ls);
	link_close(sk);
	close(lock);
	return rc;
}

static int
cmd_peer(struct opts *o)
{
	const char *verb = o->argv[0];

	o->argv++;
	o->argc--;
	if (strcmp(verb, "list") == 0 && o->argc <= 1)
		return peer_list(o->root, o->argc == 1 ? o->argv[0] : NULL);
	if ((strcmp(verb, "add") == 0 && o->argc == 4) ||
	    (strcmp(verb, "del") == 0 && o->argc == 2) ||
	    (strcmp(verb, "names") == 0 && o->argc == 2))
		return peer_locked(o, verb[0]);
	if (strcmp(verb, "add") && strcmp(verb, "del") && strcmp(verb, "list") &&
	    strcmp(verb, "names"))
		diag_error("peer: unknown command \"%s\"", verb);
	usage();
}

static const struct cmd cmds[] = {
	{ "create", cmd_create, 1, 1, O_CIDR | O_OUTBOUND | O_MODE },
	{ "attach", cmd_attach, 2, 2, O_PID | O_APP | O_PORT },
	{ "detach", cmd_detach, 2, 2, O_APP | O_PID },
	{ "trust", cmd_trust, 2, 1000, 0 },
	{ "list", cmd_list, 0, 0, 0 },
	{ "show", cmd_show, 1, 1, 0 },
	{ "destroy", cmd_destroy, 1, 1, O_FORCE },
	{ "peer", cmd_peer, 1, 5, 0 },
};

static void
parse_opt(int ch, struct opts *o)
{
	static const unsigned bit[] = { ['c'] = O_CIDR, ['o'] = O_OUTBOUND,
	    ['m'] = O_MODE, ['p'] = O_PID, ['a'] = O_APP, ['P'] = O_PORT,
	    ['f'] = O_FORCE };

	if (ch == 'h')
		help();
	if (ch < 0 || (size_t)ch >= sizeof(bit) / sizeof(bit[0]) || !bit[ch])
		usage();
	o->given |= bit[ch];
	if ((ch == 'p' && num_parse_uint(optarg, 1, INT32_MAX, &o->pid) == -1) ||
	    (ch == 'P' && num_parse_uint(optarg, 1, 65535, &o->port) == -1)) {
		diag_error("%s: not a valid %s", optarg, ch == 'p' ? "pid" : "port");
		exit(EXIT_USAGE);
	}
	if (ch == 'm' && strcmp(optarg, "common") && strcmp(optarg, "private")) {
		diag_error("%s: mode is common or private", optarg);
		exit(EXIT_USAGE);
	}
	if (ch == 'c')
		o->cidr = optarg;
	else if (ch == 'o')
		o->outbound = optarg;
	else if (ch == 'm')
		o->mode = optarg;
	else if (ch == 'a')
		o->app = optarg;
}

/* The name of the lowest O_* bit in `bits`, for messages. */
static const char *
opt_name(unsigned bits)
{
	static const char *names[] = { "--cidr", "--outbound", "--mode",
	    "--pid", "--app", "--port", "--force" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & 1u << i)
			return names[i];
	return "an option";
}

static const struct cmd *
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "cidr", required_argument, NULL, 'c' },
		{ "outbound", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pid", required_argument, NULL, 'p' },
		{ "app", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *c = NULL;
	size_t i;
	int ch;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0))
		help();
	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			c = &cmds[i];
	if (c == NULL && argc > 1)
		diag_error("unknown command \"%s\"", argv[1]);
	if (c == NULL)
		usage();
	/* getopt sees the subcommand as argv[0]: options go anywhere after it;
	 * it is named as the tool in getopt's messages. */
	argv[1] = argv[0];
	while ((ch = getopt_long(argc - 1, argv + 1, "c:o:m:p:a:P:fh", longopts,
	    NULL)) != -1)
		parse_opt(ch, o);
	o->argv = argv + 1 + optind;
	o->argc = argc - 1 - optind;
	if ((o->given & ~c->allowed) != 0)
		diag_error("%s does not apply to %s", opt_name(o->given &
		    ~c->allowed), c->name);
	if ((o->given & ~c->allowed) != 0 || o->argc < c->minargs ||
	    o->argc > c->maxargs)
		usage();
	return c;
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	struct opts o;
	const struct cmd *c;
	char err[512];
	int rc;

	diag_start(argc, argv);
	memset(&o, 0, sizeof(o));
	c = parse_args(argc, argv, &o);
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	o.root = conf.root;
	o.common_range = conf.common_range;
	space_host_index(conf.cluster_index);
	space_root(conf.root);
	/* Output is data for scripts (dyno-run reads the address). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	space_on_warning(warned);
	if ((rc = c->run(&o)) != 0 && *space_error() != '\0')
		diag_error("%s", space_error());
	return rc;
}
