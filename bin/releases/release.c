/* SPDX-License-Identifier: ISC */
/* release: an app's releases and config vars, as Heroku's API keeps them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdnoreturn.h>

#include "conf.h"
#include "diag.h"
#include "num.h"

#include "release.h"

enum {
	O_SLUG = 1 << 0, O_DESC = 1 << 1, O_COMMIT = 1 << 2, O_NUM = 1 << 3,
	O_SHELL = 1 << 4, O_IMAGES = 1 << 5,
};

static const char usage_text[] =
    "usage: release create APP --slug FILE|DIR|URL [--description TEXT]"
    " [--commit SHA] [--images DIR]\n"
    "       release list APP [--num N]\n"
    "       release show APP [vN]\n"
    "       release rollback APP [vN]\n"
    "       release config APP [--shell]\n"
    "       release config get APP KEY\n"
    "       release config set APP KEY=VALUE ...\n"
    "       release config unset APP KEY ...\n"
    "       release labs APP\n"
    "       release labs enable|disable APP FEATURE\n"
    "       release maintenance [on|off] APP\n";

static const char options_text[] =
    "\noptions:\n"
    "  -s, --slug=FILE|DIR|URL   the slug: a tar archive, a folder or a URL\n"
    "  -d, --description=TEXT    describe the release (create)\n"
    "  -c, --commit=SHA          the source commit (create)\n"
    "      --images=DIR          process types' images, one file each (create)\n"
    "  -n, --num=N               how many releases to list (15)\n"
    "      --shell               print export KEY='value' lines (config)\n"
    "  -v, --verbose             say more\n"
    "  -h, --help                this text\n";

/* The synopsis on errors; with it, the options for --help. */
static noreturn void
usage(int code)
{
	fputs(usage_text, code == 0 ? stdout : stderr);
	if (code == 0)
		fputs(options_text, stdout);
	exit(code);
}

/* Options may come anywhere after the subcommand (GNU getopt permutes). */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "slug", required_argument, NULL, 's' },
		{ "description", required_argument, NULL, 'd' },
		{ "commit", required_argument, NULL, 'c' },
		{ "num", required_argument, NULL, 'n' },
		{ "shell", no_argument, NULL, 'S' },
		{ "images", required_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, seen = 0;

	while ((ch = getopt_long(argc, argv, "s:d:c:n:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's': o->slug = optarg; seen |= O_SLUG; break;
		case 'd': o->description = optarg; seen |= O_DESC; break;
		case 'c': o->commit = optarg; seen |= O_COMMIT; break;
		case 'S': o->shell = 1; seen |= O_SHELL; break;
		case 'I': o->images = optarg; seen |= O_IMAGES; break;
		case 'v': diag_verbosity++; break;
		case 'h': usage(0);
		case 'n':
			if (num_parse_uint(optarg, 1, 1000000, &o->num) == -1)
				diag_die(EXIT_USAGE, "--num %s: not a count "
				    "from 1 up", optarg);
			seen |= O_NUM;
			break;
		default: usage(EXIT_USAGE);
		}
	}
	return seen;
}

/* A commit is a short word (a git sha, a tag), safe in the INI file. */
static void
check_commit(const char *c)
{
	size_t n = strspn(c, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	if (c[0] == '\0' || c[n] != '\0' || n > 63)
		diag_die(EXIT_USAGE, "--commit %s: use up to 63 letters, "
		    "digits, '.', '_' or '-'", c);
}

/*
 * release labs [enable|disable] APP [FEATURE], release maintenance
 * [on|off] APP: app.conf settings, no release.
 */
static int
dispatch_settings(const struct conf *c, const char *cmd, int ac, char **av,
    int seen)
{
	struct app a;
	int set = -1, rc;

	if (ac >= 1 && (strcmp(av[0], "enable") == 0 || strcmp(av[0], "on") ==
	    0 || strcmp(av[0], "disable") == 0 || strcmp(av[0], "off") == 0)) {
		set = strcmp(av[0], "enable") == 0 || strcmp(av[0], "on") == 0;
		if ((cmd[0] == 'l') != (av[0][0] == 'e' || av[0][0] == 'd'))
			usage(EXIT_USAGE);
		av++, ac--;
	}
	if (seen != 0 || ac != (cmd[0] == 'l' && set != -1 ? 2 : 1))
		usage(EXIT_USAGE);
	if ((rc = app_open(&a, c, av[0], 1)) != 0)
		return rc;
	if (cmd[0] == 'm')
		rc = cmd_maintenance(&a, set, set == 1);
	else if (set == -1)
		rc = cmd_labs_show(&a);
	else
		rc = cmd_labs_set(&a, av[1], set);
	app_close(&a);
	return rc;
}

/* The name of the lowest option bit in `bits`, for messages. */
static const char *
opt_name(int bits)
{
	static const char *names[] = { "--slug", "--description", "--commit",
	    "--num", "--shell" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & 1 << i)
			return names[i];
	return "an option";
}

/* Run subcommand `cmd` with operands av[0..ac), options o. */
static int
dispatch(const struct conf *c, const char *cmd, int ac, char **av,
    const struct opts *o, int seen)
{
	struct app a;
	int sub = 0, rc, allowed = 0, lo = 1, hi = 1;

	if (strcmp(cmd, "labs") == 0 || strcmp(cmd, "maintenance") == 0)
		return dispatch_settings(c, cmd, ac, av, seen);
	if (strcmp(cmd, "config") == 0 && ac >= 1 &&
	    (strcmp(av[0], "get") == 0 || strcmp(av[0], "set") == 0 ||
	    strcmp(av[0], "unset") == 0)) {
		sub = av[0][0];
		av++, ac--;
		lo = 2;
		hi = sub == 'g' ? 2 : ac;
	} else if (strcmp(cmd, "create") == 0)
		allowed = O_SLUG | O_DESC | O_COMMIT | O_IMAGES;
	else if (strcmp(cmd, "list") == 0)
		allowed = O_NUM;
	else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "rollback") == 0)
		hi = 2;
	else if (strcmp(cmd, "config") == 0)
		allowed = O_SHELL;
	else {
		diag_error("unknown command \"%s\"", cmd);
		usage(EXIT_USAGE);
	}
	if ((seen & ~allowed) != 0)
		diag_error("%s does not apply to %s", opt_name(seen & ~allowed),
		    cmd);
	else if (strcmp(cmd, "create") == 0 && o->slug == NULL)
		diag_error("create needs --slug");
	if (ac < lo || ac > hi || (seen & ~allowed) != 0 ||
	    (strcmp(cmd, "create") == 0 && o->slug == NULL))
		usage(EXIT_USAGE);
	if (o->commit != NULL)
		check_commit(o->commit);
	if ((rc = app_open(&a, c, av[0], strcmp(cmd, "create") != 0)) != 0)
		return rc;
	if (sub == 'g')
		rc = cmd_config_get(&a, av[1]);
	else if (sub == 's')
		rc = cmd_config_set(&a, av + 1, ac - 1);
	else if (sub == 'u')
		rc = cmd_config_unset(&a, av + 1, ac - 1);
	else if (cmd[0] == 'c' && cmd[1] == 'r')
		rc = cmd_create(&a, o);
	else if (cmd[0] == 'l')
		rc = cmd_list(&a, o);
	else if (cmd[0] == 's')
		rc = cmd_show(&a, ac > 1 ? av[1] : NULL);
	else if (cmd[0] == 'r')
		rc = cmd_rollback(&a, ac > 1 ? av[1] : NULL);
	else
		rc = cmd_config_show(&a, o);
	app_close(&a);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = { .num = 15 };
	struct conf c;
	char err[512];
	const char *cmd;
	int seen;

	diag_start(argc, argv);
	if (argc < 2)
		usage(EXIT_USAGE);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		usage(0);
	argv[1] = argv[0];	/* getopt's messages name the tool, not cmd */
	seen = parse_opts(argc - 1, argv + 1, &o);
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	/* Operands are what getopt left, in order, after the subcommand. */
	return dispatch(&c, cmd, argc - 1 - optind, argv + 1 + optind, &o,
	    seen);
}
