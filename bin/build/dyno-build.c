/* SPDX-License-Identifier: ISC */
/* dyno-build: build an app from source with buildpacks, then release it. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "diag.h"
#include "dyno-build.h"
#include "envfile.h"
#include "logclient.h"
#include "names.h"
#include "procfile.h"
#include "state.h"
#include "userns.h"

static noreturn void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: dyno-build [--buildpack URL ...] [--commit SHA] "
	    "[--user NAME] APP SOURCE\n"
	    "       dyno-build --output APP [vN]\n"
	    "       dyno-build --git-init APP\n"
	    "       dyno-build --git-shell [NAME]\n"
	    "       dyno-build --git-hook APP\n"
	    "       dyno-build --git-authorize NAME [KEYFILE]\n"
	    "       dyno-build --git-revoke NAME\n"
	    "       dyno-build --help\n");
	exit(code);
}

/* The kept output of vN (the current release by default), or the last
 * failed build with "failed". */
static int
show_output(const struct conf *c, const char *app, const char *version)
{
	char path[PATH_MAX], cur[PATH_MAX], *data;
	size_t len;
	ssize_t n;

	if (version == NULL) {
		(void)state_pathf(path, sizeof(path), "%s/apps/%s/current",
		    c->root, app);
		if ((n = readlink(path, cur, sizeof(cur) - 1)) == -1)
			diag_die_errno(EXIT_NOINPUT, "%s: no current release",
			    app);
		cur[n] = '\0';
		version = strrchr(cur, '/') ? strrchr(cur, '/') + 1 : cur;
	}
	if ((version[0] != 'v' || strspn(version + 1, "0123456789") !=
	    strlen(version + 1) || version[1] == '\0') &&
	    strcmp(version, "failed") != 0)
		diag_die(EXIT_USAGE, "%s: not vN or failed", version);
	(void)state_pathf(path, sizeof(path), "%s/apps/%s/builds/%s.log",
	    c->root, app, version);
	if (state_read(path, BUILD_LOG_MAX + 4096, &data, &len) == -1)
		diag_die_errno(EXIT_NOINPUT, "%s %s: no build output", app,
		    version);
	fwrite(data, 1, len, stdout);
	free(data);
	return 0;
}

static void
whoami(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)getuid());
}

enum mode { M_BUILD, M_OUTPUT, M_INIT, M_SHELL, M_HOOK, M_AUTH, M_REVOKE };

struct opts {
	enum mode	 mode;
	char		*packs[BUILD_MAX_PACKS];
	unsigned	 npacks;
	const char	*commit;
	char		 user[128];
};

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "buildpack", required_argument, NULL, 'b' },
		{ "commit", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "output", no_argument, NULL, 'O' },
		{ "git-init", no_argument, NULL, 'I' },
		{ "git-shell", no_argument, NULL, 'S' },
		{ "git-hook", no_argument, NULL, 'H' },
		{ "git-authorize", no_argument, NULL, 'A' },
		{ "git-revoke", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	whoami(o->user, sizeof(o->user));
	while ((ch = getopt_long(argc, argv, "b:c:u:h", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'b':
			if (o->npacks == BUILD_MAX_PACKS)
				diag_die(EXIT_USAGE, "more than %u buildpacks",
				    BUILD_MAX_PACKS);
			o->packs[o->npacks++] = optarg;
			break;
		case 'c': o->commit = optarg; break;
		case 'u': snprintf(o->user, sizeof(o->user), "%s", optarg); break;
		case 'O': o->mode = M_OUTPUT; break;
		case 'I': o->mode = M_INIT; break;
		case 'S': o->mode = M_SHELL; break;
		case 'H': o->mode = M_HOOK; break;
		case 'A': o->mode = M_AUTH; break;
		case 'R': o->mode = M_REVOKE; break;
		case 'h': usage(0);
		default: usage(EXIT_USAGE);
		}
	}
	if (o->commit != NULL && (strlen(o->commit) > 63 ||
	    strspn(o->commit, "0123456789abcdefABCDEF") != strlen(o->commit)))
		diag_die(EXIT_USAGE, "--commit %s: not a commit", o->commit);
}

static void
check_app(const char *app)
{
	const char *why;

	if ((why = names_check_app(app)) != NULL)
		diag_die(EXIT_USAGE, "app %s: %s", app, why);
}

int
main(int argc, char **argv)
{
	struct conf c;
	struct opts o;
	char err[1024];
	int n;

	diag_start(argc, argv);
	/* The pusher may go away; the build and the release finish. */
	signal(SIGPIPE, SIG_IGN);
	parse_opts(argc, argv, &o);
	n = argc - optind;
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	switch (o.mode) {
	case M_SHELL:
		if (n > 1)
			usage(EXIT_USAGE);
		return git_shell(&c, n ? argv[optind] : o.user);
	case M_OUTPUT:
		if (n < 1 || n > 2)
			usage(EXIT_USAGE);
		check_app(argv[optind]);
		return show_output(&c, argv[optind], n == 2 ? argv[optind + 1] :
		    NULL);
	case M_INIT:
	case M_HOOK:
		if (n != 1)
			usage(EXIT_USAGE);
		check_app(argv[optind]);
		return o.mode == M_INIT ? git_init(&c, argv[optind], 0) :
		    git_hook(&c, argv[optind]);
	case M_AUTH:
		if (n < 1 || n > 2)
			usage(EXIT_USAGE);
		return keys_authorize(&c, argv[optind], n == 2 ?
		    argv[optind + 1] : NULL);
	case M_REVOKE:
		if (n != 1)
			usage(EXIT_USAGE);
		return keys_revoke(&c, argv[optind]);
	case M_BUILD:
		break;
	}
	if (n != 2)
		usage(EXIT_USAGE);
	check_app(argv[optind]);
	if (geteuid() != 0)
		diag_die(EXIT_NOPERM, "build dynos: need root");
	return build_run(&c, argv[optind], o.user, argv[optind + 1], -1,
	    o.commit, o.packs, o.npacks);
}
