/* SPDX-License-Identifier: ISC */
/* dyno-manager: keep a Procfile's processes running (development mode: -d). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "diag.h"
#include "num.h"
#include "dyno-manager.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dyno-manager -d DIR [-f PROCFILE] [-e ENVFILE] [-m FORMATION]\n"
	    "                    [-p PORT] [-t GRACE]\n"
	    "       dyno-manager check -d DIR [-f PROCFILE] [-e ENVFILE] [-m FORMATION]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\noptions:\n"
	    "  -d, --dir=DIR           the app folder (development mode)\n"
	    "  -e, --env=ENVFILE       env file instead of DIR/.env\n"
	    "  -f, --procfile=FILE     Procfile instead of DIR/Procfile\n"
	    "  -m, --formation=LIST    counts per type: web=2,worker=1 or all=N\n"
	    "  -p, --port=PORT         base port (default $PORT, else 5000)\n"
	    "  -t, --timeout=GRACE     grace period before SIGKILL (default 30s)\n"
	    "  -v, --verbose           say more\n"
	    "  -h, --help              this text\n");
}

static const struct option longopts[] = {
	{ "dir",	required_argument,	NULL, 'd' },
	{ "env",	required_argument,	NULL, 'e' },
	{ "procfile",	required_argument,	NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "formation",	required_argument,	NULL, 'm' },
	{ "port",	required_argument,	NULL, 'p' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ NULL,		0,			NULL, 0 }
};

/* Options shared by the run and check forms; exits on a usage error. */
static void
parse_dev_opts(int argc, char **argv, struct dev_opts *o)
{
	uint64_t ms;
	int ch;

	memset(o, 0, sizeof(*o));
	o->grace_ms = -1;
	while ((ch = getopt_long(argc, argv, "d:e:f:hm:p:t:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': o->dir = optarg; break;
		case 'e': o->envfile = optarg; break;
		case 'f': o->procfile = optarg; break;
		case 'm': o->formation = optarg; break;
		case 'p':
			if (num_parse_uint(optarg, 1, 65535, &o->base_port) == -1)
				diag_die(EXIT_USAGE, "-p: \"%s\": expected a port, "
				    "1 to 65535", optarg);
			break;
		case 't':
			if (num_parse_duration_ms(optarg, &ms) == -1 ||
			    ms > 3600000)
				diag_die(EXIT_USAGE, "-t: \"%s\": expected a "
				    "duration up to 1h, like 30 or 10s", optarg);
			o->grace_ms = (long long)ms;
			break;
		case 'v': diag_verbosity++; break;
		case 'h': help(); exit(0);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind != argc || o->dir == NULL) {
		if (o->dir == NULL)
			diag_error("-d DIR is required");
		else
			diag_error("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

int
main(int argc, char **argv)
{
	struct dev_opts opts;
	struct conf conf;
	char err[512];
	int check = 0;

	diag_setprog(argv[0]);
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		check = 1;
		argv++;
		argc--;
	}
	parse_dev_opts(argc, argv, &opts);
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	return check ? dev_check(&conf, &opts) : dev_run(&conf, &opts);
}
