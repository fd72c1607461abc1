/* SPDX-License-Identifier: ISC */
/* dyno-certs: an app's TLS certificates, checked before the router has them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "dyno-certs.h"
#include "state.h"

static struct conf conf;

#define USAGE \
	"usage: dyno-certs app\n" \
	"       dyno-certs app add chain key [--name name]\n" \
	"       dyno-certs app remove name\n" \
	"       dyno-certs app info\n" \
	"       dyno-certs app auto [on | off | refresh]\n" \
	"       dyno-certs --acm-run [app ...]\n"

static noreturn void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EXIT_USAGE);
}

static noreturn void
help(void)
{
	fputs(USAGE "\nsubcommands:\n"
	    "  (none)               each domain: certificate, status, expiry, "
	    "issuer\n"
	    "  add CHAIN KEY        check and install a chain and its key\n"
	    "      --name=NAME      its name (default: its first DNS name)\n"
	    "  remove NAME          remove the certificate NAME\n"
	    "  info                 each certificate: names, issuer, validity\n"
	    "  auto                 automated certificate management: each\n"
	    "                       domain's status, last error, next attempt\n"
	    "  auto on|off          turn it on or off\n"
	    "  auto refresh         ask again for every domain (after Failed)\n"
	    "  --acm-run [APP...]   issue, renew, retry what is due (cron, timer)\n"
	    "\noptions:\n"
	    "  -h, --help           this text\n", stdout);
	exit(0);
}

static int
exit_for(int err)
{
	switch (err) {
	case EINVAL:
		return EXIT_DATAERR;
	case ENOENT:
		return EXIT_NOINPUT;
	case ENOSPC:
		return EXIT_NO;
	default:
		return diag_exit_for_errno(err);
	}
}

/* Every certificate of app, parsed; unreadable ones are warned about. */
static struct certstore_cert *
load_certs(const char *app, size_t *n)
{
	struct certstore_cert *v;
	char err[512], **names;
	size_t k, i;

	if (certstore_list(conf.root, app, &names, &k, err, sizeof(err)) == -1)
		diag_die(exit_for(errno), "%s", err);
	if ((v = calloc(k + 1, sizeof(*v))) == NULL)
		diag_die_errno(EXIT_OSERR, "calloc");
	for (*n = 0, i = 0; i < k; i++) {
		if (certstore_info(conf.root, app, names[i], &v[*n], err,
		    sizeof(err)) == 0)
			(*n)++;
		else
			diag_warn("%s", err);
		free(names[i]);
	}
	free(names);
	return v;
}

static void
free_certs(struct certstore_cert *v, size_t n)
{
	while (n > 0)
		certstore_cert_free(&v[--n]);
	free(v);
}

static void
fmt_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
}

/* A manual certificate's status for a domain, Heroku's words. */
static const char *
status_of(const struct certstore_cert *c, time_t now)
{
	if (c == NULL)
		return "None";
	if (now >= c->not_after)
		return "Expired";
	if (now < c->not_before)
		return "Not Yet Valid";
	return "OK";
}

/* dyno-certs APP: one line per domain, as heroku certs and domains. */
static int
certs_status(char **av)
{
	struct certstore_domains d;
	struct certstore_cert *v, *c;
	char err[512], exp[32];
	time_t now = time(NULL);
	size_t n, i;
	int k;

	if (certstore_domains_read(conf.root, av[0], &d, err,
	    sizeof(err)) == -1)
		diag_die(exit_for(errno), "%s", err);
	v = load_certs(av[0], &n);
	printf("%-32s %-24s %-13s %-20s %s\n", "Domain", "Certificate",
	    "Status", "Expires", "Issuer");
	for (i = 0; i < d.n; i++) {
		k = certstore_pick(v, n, d.v[i], now);
		c = k >= 0 ? &v[k] : NULL;
		if (c != NULL)
			fmt_date(c->not_after, exp, sizeof(exp));
		printf("%-32s %-24s %-13s %-20s %s\n", d.v[i],
		    c ? c->name : "-", status_of(c, now), c ? exp : "-",
		    c ? c->issuer : "-");
	}
	free_certs(v, n);
	certstore_domains_free(&d);
	return acm_show(&conf, av[0], 0);
}

/* dyno-certs APP info: a block per certificate. */
static int
certs_info(char **av)
{
	struct certstore_cert *v;
	char from[32], to[32];
	size_t n, i, j;

	v = load_certs(av[0], &n);
	for (i = 0; i < n; i++) {
		fmt_date(v[i].not_before, from, sizeof(from));
		fmt_date(v[i].not_after, to, sizeof(to));
		printf("%s=== %s\nCommon Name(s): ", i ? "\n" : "", v[i].name);
		for (j = 0; j < v[i].nsans; j++)
			printf("%s%s", j ? ", " : "", v[i].sans[j]);
		printf("\nSubject:        %s\nIssuer:         %s\n"
		    "Starts At:      %s\nExpires At:     %s\nStatus:         "
		    "%s\nSelf Signed:    %s\n", v[i].subject, v[i].issuer, from,
		    to, status_of(&v[i], time(NULL)), v[i].self_signed ?
		    "yes" : "no");
	}
	free_certs(v, n);
	return fflush(stdout) == 0 ? 0 : EXIT_OSERR;
}

/* A user's PEM file, bounded: the store's limit and one byte more. */
static char *
read_pem(const char *path, size_t *len)
{
	char *text;

	if (state_read(path, CERTSTORE_PEM_MAX, &text, len) == -1) {
		if (errno == EFBIG)
			diag_die(EXIT_DATAERR, "%s: over %d bytes", path,
			    CERTSTORE_PEM_MAX);
		diag_die_errno(errno == ENOENT ? EXIT_NOINPUT :
		    diag_exit_for_errno(errno), "%s", path);
	}
	return text;
}

/* The default name: the leaf's first DNS name, "*." as "wildcard.". */
static void
default_name(const char *chain, size_t len, char *name, size_t size)
{
	struct certstore_cert c;
	char err[256];

	if (certstore_leaf_parse(chain, len, &c, err, sizeof(err)) == -1)
		diag_die(EXIT_DATAERR, "%s", err);
	if (c.nsans == 0)
		diag_die(EXIT_DATAERR, "the certificate has no DNS name: "
		    "give --name");
	if (strncmp(c.sans[0], "*.", 2) == 0)
		snprintf(name, size, "wildcard%s", c.sans[0] + 1);
	else
		snprintf(name, size, "%s", c.sans[0]);
	for (char *p = name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	certstore_cert_free(&c);
}

/* dyno-certs APP add CHAIN KEY [--name NAME] */
static int
certs_add(char **av)
{
	char name[CERTSTORE_NAME_MAX + 1], err[1024], *chain, *key,
	    *miss = NULL;
	size_t clen, klen;

	chain = read_pem(av[1], &clen);
	key = read_pem(av[2], &klen);
	if (av[3] != NULL)
		snprintf(name, sizeof(name), "%s", av[3]);
	else
		default_name(chain, clen, name, sizeof(name));
	if (certstore_check(conf.root, av[0], chain, clen, key, klen,
	    time(NULL), NULL, &miss, err, sizeof(err)) == -1 ||
	    certstore_install(conf.root, av[0], name, chain, clen, key, klen,
	    err, sizeof(err)) == -1)
		diag_die(exit_for(errno), "%s", err);
	if (miss != NULL && miss[0] != '\0')
		diag_warn("%s: does not cover %s", name, miss);
	printf("%s\n", name);
	free(miss);
	free(chain);
	free(key);
	return fflush(stdout) == 0 ? 0 : EXIT_OSERR;
}

static int
certs_remove(char **av)
{
	char err[512];
	int rc;

	if ((rc = certstore_remove(conf.root, av[0], av[1], err,
	    sizeof(err))) == -1)
		diag_die(exit_for(errno), "%s", err);
	if (rc == 1) {
		diag_error("%s: no such certificate of %s", av[1], av[0]);
		return EXIT_NO;
	}
	return 0;
}

/*
 * Subcommands: the word after APP, and a verb after it when not NULL;
 * operands count from APP (av[0]); `name` tells whether --name applies.
 * Other files of bin/certs add their rows here.
 */
struct cmd {
	const char	*name, *verb;
	int		(*run)(char **av);
	int		 minargs, maxargs;
	int		 takes_name;
};

static int
certs_auto_on(char **av)
{
	return acm_auto(&conf, av[0], "on");
}

static int
certs_auto_off(char **av)
{
	return acm_auto(&conf, av[0], "off");
}

static int
certs_auto_refresh(char **av)
{
	return acm_auto(&conf, av[0], "refresh");
}

static int
certs_auto_show(char **av)
{
	return acm_show(&conf, av[0], 1);
}

static const struct cmd cmds[] = {
	{ "add", NULL, certs_add, 3, 3, 1 },
	{ "remove", NULL, certs_remove, 2, 2, 0 },
	{ "info", NULL, certs_info, 1, 1, 0 },
	{ "auto", "on", certs_auto_on, 1, 1, 0 },
	{ "auto", "off", certs_auto_off, 1, 1, 0 },
	{ "auto", "refresh", certs_auto_refresh, 1, 1, 0 },
	{ "auto", NULL, certs_auto_show, 1, 1, 0 },
};

static const struct cmd *
lookup(int argc, char **argv, int *first)
{
	size_t i;

	for (i = 0; argc >= 3 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[2], cmds[i].name) != 0)
			continue;
		*first = 3;
		if (cmds[i].verb == NULL)
			return &cmds[i];
		if (argc >= 4 && strcmp(argv[3], cmds[i].verb) == 0) {
			*first = 4;
			return &cmds[i];
		}
	}
	return NULL;
}

/*
 * The operands after the subcommand into av[1..] (av[0] is APP), and
 * --name (anywhere after the subcommand) into av[maxargs].
 */
static int
parse_sub(const struct cmd *c, int argc, char **argv, int first, char **av)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, n = 1;

	optind = first;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (ch == 'h')
			help();
		if (ch != 'N' || !c->takes_name)
			usage();
		av[c->maxargs] = optarg;
	}
	for (; optind < argc; optind++) {
		if (n >= c->maxargs)
			usage();
		av[n++] = argv[optind];
	}
	return n;
}

int
main(int argc, char *argv[])
{
	const struct cmd *c;
	char *av[8] = { NULL };
	char err[512];
	int first;

	diag_start(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0))
		help();
	if (argc < 2 || (argv[1][0] == '-' &&
	    strcmp(argv[1], "--acm-run") != 0))
		usage();
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if (strcmp(argv[1], "--acm-run") == 0)
		return acm_run(&conf, argc - 2, argv + 2);
	av[0] = argv[1];
	if (argc == 2)
		return certs_status(av);
	if ((c = lookup(argc, argv, &first)) == NULL)
		usage();
	if (parse_sub(c, argc, argv, first, av) < c->minargs)
		usage();
	return c->run(av);
}
