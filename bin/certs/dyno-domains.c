/* SPDX-License-Identifier: ISC */
/* dyno-domains: an app's custom domains, names the router answers for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"

static struct conf conf;

#define USAGE \
	"usage: dyno-domains app [list]\n" \
	"       dyno-domains app add domain\n" \
	"       dyno-domains app remove domain\n"

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
	    "  list            the app's custom domains, one per line (the default)\n"
	    "  add DOMAIN      the router answers DOMAIN for the app\n"
	    "  remove DOMAIN   it no longer does\n\noptions:\n"
	    "  -h, --help      this text\n", stdout);
	exit(0);
}

/* The exit code for a failed certstore call. */
static int
exit_for(int err)
{
	switch (err) {
	case EINVAL:
		return EXIT_DATAERR;
	case ENOENT:
		return EXIT_NOINPUT;
	case EEXIST:
	case ENOSPC:
		return EXIT_NO;
	case EWOULDBLOCK:
		return EXIT_TEMPFAIL;
	default:
		return diag_exit_for_errno(err);
	}
}

static int
domains_list(char **av)
{
	struct certstore_domains d;
	char err[512];
	size_t i;

	if (certstore_domains_read(conf.root, av[0], &d, err,
	    sizeof(err)) == -1)
		diag_die(exit_for(errno), "%s", err);
	for (i = 0; i < d.n; i++)
		printf("%s\n", d.v[i]);
	certstore_domains_free(&d);
	return fflush(stdout) == 0 ? 0 : EXIT_OSERR;
}

static int
domains_add(char **av)
{
	char err[512];
	int rc;

	if ((rc = certstore_domain_add(conf.root, av[0], av[1], NULL, 0, err,
	    sizeof(err))) == -1)
		diag_die(exit_for(errno), "%s", err);
	if (rc == 1)
		diag_warn("%s: already a domain of %s", av[1], av[0]);
	return 0;
}

static int
domains_remove(char **av)
{
	char err[512];
	int rc;

	if ((rc = certstore_domain_remove(conf.root, av[0], av[1], err,
	    sizeof(err))) == -1)
		diag_die(exit_for(errno), "%s", err);
	if (rc == 1) {
		diag_error("%s: not a domain of %s", av[1], av[0]);
		return EXIT_NO;
	}
	return 0;
}

/* Subcommands: the word after APP; operands count from APP. */
struct cmd {
	const char	*name;
	int		(*run)(char **av);
	int		 minargs, maxargs;
};

static const struct cmd cmds[] = {
	{ "list", domains_list, 1, 1 },
	{ "add", domains_add, 2, 2 },
	{ "remove", domains_remove, 2, 2 },
};

int
main(int argc, char *argv[])
{
	char *av[3];
	size_t i;
	char err[512];

	diag_start(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0))
		help();
	if (argc < 2 || argc > 4 || argv[1][0] == '-')
		usage();
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	av[0] = argv[1];
	av[1] = argc > 3 ? argv[3] : NULL;
	av[2] = NULL;
	if (argc == 2)
		return domains_list(av);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[2], cmds[i].name) == 0) {
			if (argc - 2 < cmds[i].minargs ||
			    argc - 2 > cmds[i].maxargs)
				usage();
			return cmds[i].run(av);
		}
	usage();
}
