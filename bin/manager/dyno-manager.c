/* SPDX-License-Identifier: ISC */
/* dyno-manager: keep an app's formation running; -d runs a folder's Procfile. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgtree.h"
#include "conf.h"
#include "diag.h"
#include "num.h"
#include "ready.h"
#include "dyno-manager.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dyno-manager [-nv] [--ready-fd N] APP\n"
	    "       dyno-manager scale APP TYPE=COUNT[:SIZE] ...\n"
	    "       dyno-manager ps APP\n"
	    "       dyno-manager stop|kill [-w] APP DYNO|TYPE ...\n"
	    "       dyno-manager -d DIR [-f PROCFILE] [-e ENVFILE] [-m FORMATION]\n"
	    "                    [-p PORT] [-t GRACE]\n"
	    "       dyno-manager check -d DIR [-f PROCFILE] [-e ENVFILE] [-m FORMATION]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\noptions:\n"
	    "  -n, --check-config      check the configuration and the app, then exit\n"
	    "      --ready-fd=N        write a newline to fd N once the dynos are started\n"
	    "  -d, --dir=DIR           the app folder (development mode)\n"
	    "  -e, --env=ENVFILE       env file instead of DIR/.env\n"
	    "  -f, --procfile=FILE     Procfile instead of DIR/Procfile\n"
	    "  -m, --formation=LIST    counts per type: web=2,worker=1 or all=N\n"
	    "  -p, --port=PORT         base port (default $PORT, else 5000)\n"
	    "  -t, --timeout=GRACE     grace period before SIGKILL (default 30s)\n"
	    "  -v, --verbose           say more\n"
	    "  -w, --wait              stop: wait until the dynos have exited\n"
	    "  -h, --help              this text\n");
}

enum { OPT_READY_FD = 256 };

static const struct option longopts[] = {
	{ "check-config", no_argument,		NULL, 'n' },
	{ "dir",	required_argument,	NULL, 'd' },
	{ "env",	required_argument,	NULL, 'e' },
	{ "procfile",	required_argument,	NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "formation",	required_argument,	NULL, 'm' },
	{ "port",	required_argument,	NULL, 'p' },
	{ "ready-fd",	required_argument,	NULL, OPT_READY_FD },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ NULL,		0,			NULL, 0 }
};

struct opts {
	struct dev_opts	 dev;
	int		 check_only;
	int		 ready_fd;
};

static void __attribute__((format(printf, 1, 2), __noreturn__))
bad_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error("%s", msg);
	usage(stderr);
	exit(EXIT_USAGE);
}

static void
parse_opt(int ch, struct opts *o)
{
	char err[256];
	uint64_t ms;

	switch (ch) {
	case 'd': o->dev.dir = optarg; break;
	case 'e': o->dev.envfile = optarg; break;
	case 'f': o->dev.procfile = optarg; break;
	case 'm': o->dev.formation = optarg; break;
	case 'n': o->check_only = 1; break;
	case 'v': diag_verbosity++; break;
	case 'h': help(); exit(0);
	case 'p':
		if (num_parse_uint(optarg, 1, 65535, &o->dev.base_port) == -1)
			bad_usage("-p: \"%s\": expected a port, 1 to 65535", optarg);
		break;
	case 't':
		if (num_parse_duration_ms(optarg, &ms) == -1 || ms > 3600000)
			bad_usage("-t: \"%s\": expected a duration up to 1h, like "
			    "30 or 10s", optarg);
		o->dev.grace_ms = (long long)ms;
		break;
	case OPT_READY_FD:
		if (ready_parse(optarg, &o->ready_fd, err, sizeof(err)) == -1)
			bad_usage("%s", err);
		break;
	default:
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->dev.grace_ms = -1;
	o->ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "d:e:f:hm:np:t:v", longopts,
	    NULL)) != -1)
		parse_opt(ch, o);
}

static struct conf *
load_conf(void)
{
	static struct conf conf;
	char err[512];

	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	return &conf;
}

/*
 * The subcommands, in the table shape of space-net, release and dyno-logs.
 * Each handler checks its own operands and options, as its usage line
 * says (stop takes --wait anywhere); a first word that is none of these
 * is "check" or the APP of the daemon.
 */
static const struct {
	const char	*name;
	int		(*run)(const struct conf *, int, char **);
} cmds[] = {
	{ "scale", scale_main },
	{ "ps", ps_main },
	{ "stop", stop_main },
	{ "kill", stop_main },	/* heroku ps:kill is ps:stop by another name */
};

int
main(int argc, char **argv)
{
	struct opts o;
	struct app app;
	size_t i;
	int check = 0, rc;

	diag_start(argc, argv);
	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(load_conf(), argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		check = 1;
		argv++;
		argc--;
	}
	parse_opts(argc, argv, &o);
	if (o.dev.dir != NULL || check) {
		if (o.dev.dir == NULL)
			bad_usage("%s", "-d DIR is required");
		if (optind != argc)
			bad_usage("unexpected argument \"%s\"", argv[optind]);
		return check ? dev_check(load_conf(), &o.dev) :
		    dev_run(load_conf(), &o.dev);
	}
	if (optind + 1 != argc)
		bad_usage("%s", "expected one APP, or -d DIR");
	if (o.check_only) {
		if ((rc = app_load(load_conf(), argv[optind], &app)) == 0)
			app_free(&app);
		return rc;
	}
	/* Under systemd, cgroups only in a delegated subtree: ask for one. */
	if (cgtree_scope_exec(argv) == -1)
		diag_die_errno(EXIT_OSERR, "systemd-run");
	return app_run(load_conf(), argv[optind], o.ready_fd);
}
