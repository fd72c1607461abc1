/* SPDX-License-Identifier: ISC */
/* release: an app's releases and config vars, as Heroku's API keeps them. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdnoreturn.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "num.h"

#include "release.h"

enum {
	O_SLUG = 1 << 0, O_DESC = 1 << 1, O_COMMIT = 1 << 2, O_NUM = 1 << 3,
	O_SHELL = 1 << 4, O_IMAGES = 1 << 5, O_OUTPUT = 1 << 6,
};

static const char usage_text[] =
    "usage: release create APP --slug FILE|DIR|URL|sha256:HEX"
    " [--description TEXT] [--commit SHA] [--images DIR]\n"
    "       release fetch URL SHA256\n"
    "       release follow APP\n"
    "       release list APP [--num N]\n"
    "       release show APP [vN] [--output]\n"
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
    "  -s, --slug=FILE|DIR|URL   the slug: a tar archive, a folder, a URL, or\n"
    "                            sha256:HEX, an archive of the slug store\n"
    "  -d, --description=TEXT    describe the release (create)\n"
    "  -c, --commit=SHA          the source commit (create)\n"
    "      --images=DIR          process types' images, one file each (create)\n"
    "  -n, --num=N               how many releases to list (15)\n"
    "      --shell               print export KEY='value' lines (config)\n"
    "      --output              and the build's output kept with it (show)\n"
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
		{ "output", no_argument, NULL, 'O' },
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
		case 'O': o->output = 1; seen |= O_OUTPUT; break;
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
 * The subcommands, as the synopsis writes them.  A verb is the word after
 * the name ("config get"); an entry with a verb comes before the same
 * name without one.  Operands count from APP; options outside `allowed`
 * are refused, those in `needed` required.  Handlers get the open app and
 * the operands after APP.
 */
struct cmd {
	const char	*name, *verb;
	int		(*run)(struct app *, int ac, char **av,
			    const struct opts *);
	int		 minargs, maxargs;
	int		 allowed, needed;	/* O_* bits */
};

static int
run_create(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av;
	return cmd_create(a, o);
}

/* release fetch URL SHA256: no app, the slug store only. */
static int
run_fetch(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)o;
	return cmd_fetch(a->conf, av[0], av[1]);
}

/* release follow APP: the cluster's current release, made here. */
static int
run_follow(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av, (void)o;
	return cmd_follow(a);
}

static int
run_list(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av;
	return cmd_list(a, o);
}

static int
run_show(struct app *a, int ac, char **av, const struct opts *o)
{
	return cmd_show(a, ac > 0 ? av[0] : NULL, o->output);
}

static int
run_rollback(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)o;
	return cmd_rollback(a, ac > 0 ? av[0] : NULL);
}

static int
run_config(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av;
	return cmd_config_show(a, o);
}

static int
run_config_get(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)o;
	return cmd_config_get(a, av[0]);
}

static int
run_config_set(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)o;
	return cmd_config_set(a, av, ac);
}

static int
run_config_unset(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)o;
	return cmd_config_unset(a, av, ac);
}

static int
run_labs(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av, (void)o;
	return cmd_labs_show(a);
}

static int
run_labs_enable(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)o;
	return cmd_labs_set(a, av[0], 1);
}

static int
run_labs_disable(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)o;
	return cmd_labs_set(a, av[0], 0);
}

static int
run_maintenance(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av, (void)o;
	return cmd_maintenance(a, -1, 0);
}

static int
run_maintenance_on(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av, (void)o;
	return cmd_maintenance(a, 1, 1);
}

static int
run_maintenance_off(struct app *a, int ac, char **av, const struct opts *o)
{
	(void)ac, (void)av, (void)o;
	return cmd_maintenance(a, 0, 0);
}

static const struct cmd cmds[] = {
	{ "create", NULL, run_create, 1, 1, O_SLUG | O_DESC | O_COMMIT | O_IMAGES,
	    O_SLUG },
	{ "fetch", NULL, run_fetch, 2, 2, 0, 0 },
	{ "follow", NULL, run_follow, 1, 1, 0, 0 },
	{ "list", NULL, run_list, 1, 1, O_NUM, 0 },
	{ "show", NULL, run_show, 1, 2, O_OUTPUT, 0 },
	{ "rollback", NULL, run_rollback, 1, 2, 0, 0 },
	{ "config", "get", run_config_get, 2, 2, 0, 0 },
	{ "config", "set", run_config_set, 2, INT_MAX, 0, 0 },
	{ "config", "unset", run_config_unset, 2, INT_MAX, 0, 0 },
	{ "config", NULL, run_config, 1, 1, O_SHELL, 0 },
	{ "labs", "enable", run_labs_enable, 2, 2, 0, 0 },
	{ "labs", "disable", run_labs_disable, 2, 2, 0, 0 },
	{ "labs", NULL, run_labs, 1, 1, 0, 0 },
	{ "maintenance", "on", run_maintenance_on, 1, 1, 0, 0 },
	{ "maintenance", "off", run_maintenance_off, 1, 1, 0, 0 },
	{ "maintenance", NULL, run_maintenance, 1, 1, 0, 0 },
};

/* The name of the lowest option bit in `bits`, for messages. */
static const char *
opt_name(int bits)
{
	static const char *names[] = { "--slug", "--description", "--commit",
	    "--num", "--shell", "--images", "--output" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & 1 << i)
			return names[i];
	return "an option";
}

/* The entry for name and the operands av[0..ac); its verb is consumed. */
static const struct cmd *
lookup(const char *name, int *ac, char ***av)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(name, cmds[i].name) != 0)
			continue;
		if (cmds[i].verb == NULL)
			return &cmds[i];
		if (*ac >= 1 && strcmp((*av)[0], cmds[i].verb) == 0) {
			(*av)++, (*ac)--;
			return &cmds[i];
		}
	}
	diag_error("unknown command \"%s\"", name);
	usage(EXIT_USAGE);
}

/*
 * Whether cmd may name an app this host does not have yet: create and
 * follow anywhere; on a cluster also what makes a release from the
 * cluster's current one (cluster_begin_base makes it here first).
 */
static int
makes_anywhere(const struct conf *c, const struct cmd *cmd)
{
	if (cmd->run == run_create || cmd->run == run_follow)
		return 1;
	return c->cluster_etcd[0] != '\0' && (cmd->run == run_config_set ||
	    cmd->run == run_config_unset || cmd->run == run_rollback);
}

/* Run subcommand `name` with operands av[0..ac), options o. */
static int
dispatch(const struct conf *c, const char *name, int ac, char **av,
    const struct opts *o, int seen)
{
	const struct cmd *cmd = lookup(name, &ac, &av);
	struct app a;
	int rc, existed;

	if ((seen & ~cmd->allowed) != 0)
		diag_error("%s does not apply to %s", opt_name(seen &
		    ~cmd->allowed), name);
	else if ((seen & cmd->needed) != cmd->needed)
		diag_error("%s needs %s", name, opt_name(cmd->needed & ~seen));
	if (ac < cmd->minargs || ac > cmd->maxargs ||
	    (seen & ~cmd->allowed) != 0 || (seen & cmd->needed) != cmd->needed)
		usage(EXIT_USAGE);
	if (o->commit != NULL)
		check_commit(o->commit);
	if (cmd->run == run_fetch) {	/* operands name no app */
		a.conf = c;
		return cmd->run(&a, ac, av, o);
	}
	if ((rc = app_open(&a, c, av[0], !makes_anywhere(c, cmd))) != 0)
		return rc;
	existed = access(a.dir, F_OK) == 0;
	rc = cmd->run(&a, ac - 1, av + 1, o);
	/* an app this command was to make, and did not: nothing left */
	if (rc != 0 && !existed)
		app_forget_new(&a);
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
