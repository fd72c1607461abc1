/* SPDX-License-Identifier: ISC */
/* dyno-run: run one command as a Heroku dyno: isolated, limited, ephemeral. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appconf.h"
#include "cgtree.h"
#include "conf.h"
#include "diag.h"
#include "dyno-run.h"
#include "envfile.h"
#include "names.h"
#include "num.h"
#include "state.h"

#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

/* What the command line said, before it is resolved into a dyno. */
struct opts {
	const char	*app, *name, *app_dir, *env_file, *release, *size;
	const char	*port, *net, *stack, *grace, *user, *info_file;
	const char	*image;
	int		 userns, detach, reclaim, app_rw;
};

static noreturn void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: dyno-run [--app APP] [--name TYPE.N] "
	    "[--release DIR | --app-dir DIR [--app-rw]]\n"
	    "\t[--env-file FILE] [--size SIZE] [--port PORT]\n"
	    "\t[--net none | host | space:NAME] [--stack DIR] "
	    "[--grace SECONDS]\n"
	    "\t[--user USER] [--userns | --no-userns] [--info-file PATH] [--detach]\n"
	    "\t[--image DIR] -- COMMAND [ARG ...]\n"
	    "       dyno-run --reclaim\n"
	    "       dyno-run --help\n");
	if (code == 0)
		fputs("\noptions:\n"
		    "  --app=APP             the app: its current release, size, space\n"
		    "                        (default: a local dyno, no app)\n"
		    "  --name=TYPE.N         the dyno's name (default: run.N)\n"
		    "  --release=DIR         run this release folder (slug/, env)\n"
		    "  --app-dir=DIR         run a plain folder as /app\n"
		    "  --app-rw              bind --app-dir writable (a build's)\n"
		    "  --env-file=FILE       config vars from FILE (release env format)\n"
		    "  --size=SIZE           the dyno size: memory, pids, CPU\n"
		    "  --port=PORT           set PORT for a web dyno\n"
		    "  --net=none|host|space:NAME\n"
		    "                        the network (default: dyno.conf)\n"
		    "  --stack=DIR           the read-only root (default: the host's)\n"
		    "  --grace=SECONDS       SIGTERM to SIGKILL on stop (default 30)\n"
		    "  --user=USER           the unprivileged user (default nobody)\n"
		    "  --userns              a user namespace, the app's own host ids\n"
		    "  --no-userns           none (default: dyno.conf's userns, auto)\n"
		    "  --detach              run in the background, output to the log\n"
		    "  --reclaim             undo what killed dyno-runs left behind\n"
		    "  --info-file=PATH      write the dyno's pid, init, cgroup, addr\n"
		    "  --image=DIR           run on an image dyno-image imported\n"
		    "  --help                this text\n", stdout);
	exit(code);
}

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	diag_warn("%s", msg);
}

/* What the app's app.conf says (lib/appconf's policy): defaults if none. */
static void
read_appconf(const struct conf *c, const char *app, struct appconf *ac)
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	appconf_init(ac);
	if (app == NULL || state_pathf(path, sizeof(path), "%s/apps/%s/%s",
	    c->root, app, APPCONF_FILE) == -1)
		return;
	if (appconf_load(path, ac, warn_cb, NULL, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
}

/* The slug and env of --release, --app-dir or the app's current release. */
static void
resolve_release(const struct conf *c, const struct opts *o, struct dyno *d,
    char *envpath, size_t envlen, char *real)
{
	char rel[PATH_MAX];

	envpath[0] = '\0';
	real[0] = '\0';
	if (o->image != NULL && o->app == NULL && o->release == NULL &&
	    o->app_dir == NULL)
		return;		/* an image alone: no slug, no config vars */
	if (o->app_dir != NULL) {
		if (realpath(o->app_dir, d->slug) == NULL)
			diag_die_errno(EXIT_NOINPUT, "%s", o->app_dir);
		if (o->env_file != NULL)
			snprintf(envpath, envlen, "%s", o->env_file);
		return;
	}
	if (o->release != NULL)
		snprintf(rel, sizeof(rel), "%s", o->release);
	else if (o->app != NULL)
		(void)state_pathf(rel, sizeof(rel), "%s/apps/%s/current",
		    c->root, o->app);
	else
		usage(EXIT_USAGE);
	if (realpath(rel, real) == NULL)
		diag_die_errno(EXIT_NOINPUT, "release %s", rel);
	/* realpath's buffer is PATH_MAX: the caller's `real` is that. */
	if (state_pathf(d->slug, sizeof(d->slug), "%s/slug", real) == -1)
		diag_die(EXIT_USAGE, "%s: path too long", real);
	if (access(d->slug, F_OK) == -1)
		diag_die_errno(EXIT_NOINPUT, "%s", d->slug);
	if (state_pathf(envpath, envlen, "%s/env", real) == -1)
		diag_die(EXIT_USAGE, "%s: path too long", real);
	if (o->env_file != NULL)
		snprintf(envpath, envlen, "%s", o->env_file);
	else if (access(envpath, F_OK) == -1)
		envpath[0] = '\0';
	/* DYNO_ROOT/apps/APP/releases/vN names the app when --app does not. */
	if (o->app == NULL && strstr(real, "/apps/") != NULL) {
		const char *a = strstr(real, "/apps/") + 6;
		snprintf(d->app, sizeof(d->app), "%.*s",
		    (int)strcspn(a, "/"), a);
	}
}

static void
random_ids(struct dyno *d)
{
	unsigned char b[16];
	size_t i, n = 0;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		diag_die_errno(EXIT_OSERR, "getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;	/* a version 4 UUID, as Heroku's ids */
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			d->hostname[n++] = '-';
		n += (size_t)snprintf(d->hostname + n, 3, "%02x", b[i]);
	}
	if (d->name[0] == '\0')
		snprintf(d->name, sizeof(d->name), "run.%u",
		    1000 + (b[0] << 8 | b[1]) % 9000);
}

static void
resolve_user(const char *user, struct dyno *d)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		diag_die(EXIT_CONFIG, "user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
	/* A dyno never runs as root: that would undo every other wall. */
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		diag_die(EXIT_CONFIG, "user %s: dynos never run as root", user);
	snprintf(d->user, sizeof(d->user), "%s", user);
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	gr = getgrgid(d->gid);
	snprintf(d->home_group, sizeof(d->home_group), "%s",
	    gr != NULL ? gr->gr_name : user);
}

static int
space_mode_line(void *arg, const char *section, const char *key,
    const char *value)
{
	int *private = arg;

	if (strcmp(section, "space") == 0 && strcmp(key, "mode") == 0)
		*private = strcmp(value, "common") != 0;
	return 1;
}

/*
 * A private space's dynos have a private IP and DNS names (heroku.md 7),
 * a Common-Runtime-like one's do not, whatever its name: the mode in
 * space.conf says which.  Without the file yet (space-net makes `common`
 * on first use), the default is space-net's: common for `common` alone.
 */
static int
space_private(const struct conf *c, const char *space)
{
	char path[PATH_MAX];
	int private = strcmp(space, "common") != 0;

	if (state_pathf(path, sizeof(path), "%s/spaces/%s/space.conf", c->root,
	    space) == 0 && access(path, F_OK) == 0 &&
	    ini_parse(path, space_mode_line, &private) != 0)
		diag_die(EXIT_CONFIG, "%s: cannot read the space's mode", path);
	return private;
}

/*
 * A user namespace, with the app's own range of host ids, unless turned
 * off: by --no-userns, or by dyno.conf's userns = no for every dyno.  The
 * default (auto) has one where the kernel makes them.  The user must fall
 * inside the range to exist in the dyno.
 */
static void
resolve_userns(const struct conf *c, int opt, struct dyno *d)
{
	char err[512];
	const char *why;

	d->userns = opt != -1 ? opt : c->userns;
	if (d->userns == -1)
		d->userns = userns_usable();
	if (!d->userns)
		return;
	if ((why = names_check_app(d->app)) != NULL)
		diag_die(EXIT_USAGE, "app %s: %s", d->app, why);
	if (userns_app_range(c, d->app, &d->idbase, &d->idsize, err,
	    sizeof(err)) == -1)
		diag_die(errno == ENOSPC || errno == ERANGE ? EXIT_CONFIG :
		    EXIT_CANTCREAT, "userns: app %s: %s", d->app, err);
	if (d->uid >= d->idsize || d->gid >= d->idsize)
		diag_die(EXIT_CONFIG, "userns: user %s: ids above %u are not "
		    "mapped", d->user, (unsigned)d->idsize - 1);
}

static void
resolve_net(const struct conf *c, const char *net, const struct appconf *ac,
    struct dyno *d)
{
	char spec[160];
	const char *why;

	if (net == NULL && ac->space[0] != '\0')
		(void)state_pathf(spec, sizeof(spec), "space:%s", ac->space);
	else
		snprintf(spec, sizeof(spec), "%s", net ? net : c->network);
	if (strcmp(spec, "none") == 0)
		d->net = NET_NONE;
	else if (strcmp(spec, "host") == 0) {
		d->net = NET_HOST;
		snprintf(d->addr, sizeof(d->addr), "127.0.0.1");
	} else if (strncmp(spec, "space:", 6) == 0) {
		d->net = NET_SPACE;
		if ((why = names_check_space(spec + 6)) != NULL)
			diag_die(EXIT_USAGE, "space %s: %s", spec + 6, why);
		snprintf(d->space, sizeof(d->space), "%s", spec + 6);
		/* The monitor makes a private space's names (spacedns). */
		d->private_space = space_private(c, d->space);
	} else
		diag_die(EXIT_USAGE, "--net %s: not none, host or space:NAME",
		    spec);
}

static void
resolve_size(const struct conf *c, const char *opt, const struct appconf *ac,
    struct dyno *d)
{
	const char *name = opt ? opt : ac->size[0] ? ac->size : c->size;
	const struct dyno_size *s;

	if ((s = conf_size(c, name)) == NULL)
		diag_die(opt ? EXIT_USAGE : EXIT_CONFIG, "size %s: unknown "
		    "dyno size", name);
	d->size = *s;
}

/* The command's whole environment: nothing of ours leaks into it. */
static void
build_env(const char *envpath, const struct opts *o, struct dyno *d)
{
	char err[512], port[16];

	env_init(&d->env);
	if (env_set(&d->env, "PATH", DEFAULT_PATH) == -1)
		diag_die(EXIT_OSERR, "out of memory");
	if (d->image[0] != '\0')
		image_env(d);
	if (envpath[0] != '\0' &&
	    envfile_load_release(envpath, &d->env, err, sizeof(err)) == -1)
		diag_die(errno == ENOENT ? EXIT_NOINPUT : EXIT_DATAERR, "%s",
		    err);
	snprintf(port, sizeof(port), "%u", d->port);
	/* An image's HOME is its own (Env, config vars, or its passwd's). */
	if (d->image[0] != '\0' && env_get(&d->env, "HOME") == NULL &&
	    env_set(&d->env, "HOME", d->home) == -1)
		diag_die(EXIT_OSERR, "out of memory");
	if ((d->image[0] == '\0' && env_set(&d->env, "HOME", "/app") == -1) ||
	    env_set(&d->env, "DYNO", d->name) == -1 ||
	    env_set(&d->env, "PS", d->name) == -1 ||
	    (d->port && env_set(&d->env, "PORT", port) == -1))
		diag_die(EXIT_OSERR, "out of memory");
	/* heroku run passes the terminal's type for an interactive session. */
	if (d->tty && getenv("TERM") != NULL &&
	    env_set(&d->env, "TERM", getenv("TERM")) == -1)
		diag_die(EXIT_OSERR, "out of memory");
	(void)o;
}

static void
parse_numbers(const struct conf *c, const struct opts *o, struct dyno *d)
{
	d->grace_ms = c->grace_ms;
	if (o->grace != NULL && num_parse_duration_ms(o->grace, &d->grace_ms)
	    == -1)
		diag_die(EXIT_USAGE, "--grace %s: not a duration", o->grace);
	if (o->port != NULL && num_parse_uint(o->port, 1, 65535, &d->port)
	    == -1)
		diag_die(EXIT_USAGE, "--port %s: not a port (1-65535)", o->port);
	d->tmp_size = c->tmp_size;
}

static void
join_command(int argc, char **argv, struct dyno *d)
{
	size_t n = 0;
	int i;

	if (argc == 0)
		usage(EXIT_USAGE);
	for (i = 0; i < argc; i++) {
		n += (size_t)snprintf(d->cmd_line + n, sizeof(d->cmd_line) - n,
		    "%s%s", i ? " " : "", argv[i]);
		if (n >= sizeof(d->cmd_line))
			diag_die(EXIT_USAGE, "command line too long");
	}
}

static void
resolve_stack(const char *stack, struct dyno *d)
{
	struct stat st;

	if (stack[0] == '\0')
		return;
	if (realpath(stack, d->stack) == NULL)
		diag_die_errno(EXIT_NOINPUT, "stack %s", stack);
	if (stat(d->stack, &st) == -1 || !S_ISDIR(st.st_mode))
		diag_die(EXIT_NOINPUT, "stack %s: not a folder", stack);
}

static void
resolve(const struct conf *c, const struct opts *o, struct dyno *d)
{
	char envpath[PATH_MAX], reldir[PATH_MAX], err[512];
	struct appconf ac;
	const char *why;

	if (o->app != NULL && (why = names_check_app(o->app)) != NULL)
		diag_die(EXIT_USAGE, "app %s: %s", o->app, why);
	if (o->name != NULL && (why = names_check_dyno(o->name, NULL, NULL)))
		diag_die(EXIT_USAGE, "dyno %s: %s", o->name, why);
	if (o->net != NULL && strcmp(o->net, "none") && strcmp(o->net, "host")
	    && strncmp(o->net, "space:", 6))
		diag_die(EXIT_USAGE, "--net %s: not none, host or space:NAME",
		    o->net);
	parse_numbers(c, o, d);
	snprintf(d->app, sizeof(d->app), "%s", o->app ? o->app : "local");
	snprintf(d->name, sizeof(d->name), "%s", o->name ? o->name : "");
	resolve_release(c, o, d, envpath, sizeof(envpath), reldir);
	read_appconf(c, o->app, &ac);
	random_ids(d);
	resolve_user(o->user ? o->user : c->user, d);
	resolve_userns(c, o->userns, d);
	d->app_rw = o->app_rw;
	resolve_net(c, o->net, &ac, d);
	resolve_size(c, o->size, &ac, d);
	/* An image is a whole root: no stack under it.  app.conf stack=NAME:
	 * the image the stack names now (dyno-image). */
	if (o->image != NULL)
		image_resolve(o->image, d->cmd_line[0] == '\0', o->user != NULL,
		    d);
	else if (o->stack == NULL && ac.stack[0] != '\0')
		resolve_stack(image_stack(c->root, ac.stack), d);
	else
		resolve_stack(o->stack ? o->stack : c->stack, d);
	d->tty = !o->detach && isatty(STDIN_FILENO);
	d->ttyslave = -1;
	d->ttysock[0] = d->ttysock[1] = -1;
	d->oneoff = o->name == NULL || strncmp(o->name, "run.", 4) == 0;
	build_env(envpath, o, d);
	/* Dyno metadata: a release of an app that enabled it. */
	if (ac.metadata && reldir[0] != '\0' && o->app_dir == NULL) {
		if (ac.id[0] == '\0')
			diag_warn("%s: app.conf has no id= for HEROKU_APP_ID "
			    "(release labs enable makes one)", d->app);
		if (meta_env(d, reldir, ac.id, err, sizeof(err)) == -1)
			diag_die(EXIT_DATAERR, "%s", err);
	}
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "app-dir", required_argument, NULL, 'd' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "release", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "net", required_argument, NULL, 'N' },
		{ "stack", required_argument, NULL, 'S' },
		{ "grace", required_argument, NULL, 'g' },
		{ "user", required_argument, NULL, 'u' },
		{ "info-file", required_argument, NULL, 'i' },
		{ "userns", no_argument, NULL, 'U' },
		{ "detach", no_argument, NULL, 'D' },
		{ "no-userns", no_argument, NULL, 'P' },
		{ "reclaim", no_argument, NULL, 'R' },
		{ "app-rw", no_argument, NULL, 'W' },
		{ "image", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->userns = -1;		/* neither option: dyno.conf decides */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->app = optarg; break;
		case 'n': o->name = optarg; break;
		case 'd': o->app_dir = optarg; break;
		case 'e': o->env_file = optarg; break;
		case 'r': o->release = optarg; break;
		case 's': o->size = optarg; break;
		case 'p': o->port = optarg; break;
		case 'N': o->net = optarg; break;
		case 'S': o->stack = optarg; break;
		case 'g': o->grace = optarg; break;
		case 'u': o->user = optarg; break;
		case 'i': o->info_file = optarg; break;
		case 'U': o->userns = 1; break;
		case 'D': o->detach = 1; break;
		case 'P': o->userns = 0; break;
		case 'R': o->reclaim = 1; break;
		case 'W': o->app_rw = 1; break;
		case 'I': o->image = optarg; break;
		case 'h': usage(0);
		default: usage(EXIT_USAGE);
		}
	}
	if (o->release != NULL && o->app_dir != NULL)
		diag_die(EXIT_USAGE, "--release and --app-dir exclude each other");
	if (o->app_rw && o->app_dir == NULL)
		diag_die(EXIT_USAGE, "--app-rw needs --app-dir");
}

int
main(int argc, char **argv)
{
	static struct dyno d;
	struct conf c;
	struct opts o;
	char err[1024];

	diag_start(argc, argv);
	parse_opts(argc, argv, &o);
	if (o.reclaim) {
		if (optind != argc)
			usage(EXIT_USAGE);
	} else if (o.image == NULL || argc > optind)
		join_command(argc - optind, argv + optind, &d);
	if (geteuid() != 0)
		diag_die(EXIT_NOPERM, "namespaces, cgroups and mounts: need root");
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	net_init(&c);
	/* What dyno-runs killed outright left behind, then nothing else. */
	if (o.reclaim) {
		(void)reclaim_sweep(c.rundir, NULL);
		return 0;
	}
	resolve(&c, &o, &d);
	/* Under systemd, cgroups only in a delegated subtree: ask for one. */
	if (cgtree_scope_exec(argv) == -1)
		diag_die_errno(EXIT_OSERR, "systemd-run");
	/* heroku run: a one-off dyno run.N, listed by ps while it runs;
	 * claimed here, past the exec above, so never twice. */
	if (d.oneoff && o.app != NULL && oneoff_claim(&c, &d, err,
	    sizeof(err)) == -1)
		diag_die(EXIT_CANTCREAT, "%s", err);
	if (d.oneoff && o.name == NULL)
		oneoff_type_command(&d, argc - optind, argv + optind);
	if (o.detach) {
		if (!d.oneoff || o.app == NULL) {
			oneoff_release(&d);
			diag_die(EXIT_USAGE, "--detach: only a one-off dyno of "
			    "an app (--app, no --name) runs detached");
		}
		oneoff_detach(&d, &c);
	}
	return monitor_run(&d, &c, o.info_file);
}
