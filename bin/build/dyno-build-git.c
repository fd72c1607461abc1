/* SPDX-License-Identifier: ISC */
/* dyno-build: git push: the bare repository, the hook, the SSH command. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appconf.h"
#include "diag.h"
#include "dyno-build.h"
#include "envfile.h"
#include "names.h"
#include "state.h"

#define HOOK_LINES_MAX	64	/* ref updates one push may carry */
#define ZERO_SHA	"0000000000000000000000000000000000000000"

static int
run_git(char *const argv[])
{
	pid_t pid;
	int st, null;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((null = open("/dev/null", O_WRONLY)) != -1)
			dup2(null, STDOUT_FILENO);
		execvp("git", argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* export NAME='value' for the variables the hook must see again. */
static size_t
hook_env(char *buf, size_t size)
{
	static const char *const names[] = { "DYNO_ROOT", "DYNO_RUNDIR",
	    "DYNO_CONF" };
	size_t i, n = 0;
	char *q;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (getenv(names[i]) == NULL ||
		    (q = envfile_shell_quote(getenv(names[i]))) == NULL)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "export %s=%s\n",
		    names[i], q);
		free(q);
		if (n >= size)
			return size;
	}
	return n;
}

/* The pre-receive hook: this binary, by its absolute path. */
static int
write_hook(const char *repo, const char *app)
{
	char self[PATH_MAX], path[PATH_MAX], text[8192], *q;
	ssize_t n;
	size_t len;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	if ((q = envfile_shell_quote(self)) == NULL)
		return -1;
	len = (size_t)snprintf(text, sizeof(text), "#!/bin/sh\n"
	    "# dyno-build: builds the pushed deploy branch; a failed build "
	    "rejects the push.\n");
	len += hook_env(text + len, sizeof(text) - len);
	if (len < sizeof(text))
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "exec %s --git-hook %s\n", q, app);
	free(q);
	if (len >= sizeof(text) ||
	    state_pathf(path, sizeof(path), "%s/hooks/pre-receive", repo) == -1)
		return -1;
	return state_replace(path, text, len, 0755, STATE_FSYNC);
}

/*
 * DYNO_ROOT/git/APP.git, bare, made once (under a temporary name, then
 * renamed, so a half-made repository is never pushed to).
 */
int
git_init(const struct conf *c, const char *app, int quiet)
{
	char repo[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX], hooks[PATH_MAX];
	struct stat st;

	if (state_pathf(dir, sizeof(dir), "%s/git", c->root) == -1 ||
	    state_pathf(repo, sizeof(repo), "%s/%s.git", dir, app) == -1 ||
	    state_pathf(tmp, sizeof(tmp), "%s/.%s.git.%ld", dir, app,
	    (long)getpid()) == -1)
		diag_die(EXIT_USAGE, "%s: path too long", c->root);
	if (lstat(repo, &st) == 0) {
		if (!quiet)
			printf("%s\n", repo);
		return 0;
	}
	if (state_mkdirs(dir, 0755) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", dir);
	{
		char *argv[] = { "git", "init", "-q", "--bare", "--template=",
		    "--initial-branch=main", tmp, NULL };

		if (run_git(argv) == -1)
			diag_die(EXIT_CANTCREAT, "%s: git init failed", tmp);
	}
	(void)state_pathf(hooks, sizeof(hooks), "%s/hooks", tmp);
	if ((mkdir(hooks, 0755) == -1 && errno != EEXIST) ||
	    write_hook(tmp, app) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", hooks);
	if (rename(tmp, repo) == -1) {
		(void)state_remove_tree(tmp);
		if (errno != EEXIST && errno != ENOTEMPTY)
			diag_die_errno(EXIT_CANTCREAT, "%s", repo);
	}
	if (!quiet)
		printf("%s\n", repo);
	return 0;
}

/* The app's deploy branch: app.conf deploy_branch=, else main or master. */
static int
is_deploy_ref(const struct conf *c, const char *app, const char *ref)
{
	char path[PATH_MAX], err[1024];
	struct appconf ac;

	if (strncmp(ref, "refs/heads/", 11) != 0)
		return 0;
	ref += 11;
	/* A broken app.conf deploys nothing: said, and the push refused. */
	if (state_pathf(path, sizeof(path), "%s/apps/%s/" APPCONF_FILE,
	    c->root, app) == -1 || appconf_load(path, &ac, NULL, NULL, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return 0;
	}
	if (ac.deploy_branch[0] != '\0')
		return strcmp(ref, ac.deploy_branch) == 0;
	return strcmp(ref, "main") == 0 || strcmp(ref, "master") == 0;
}

static int
is_sha(const char *s)
{
	size_t n = strlen(s);

	return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}

/* `git archive NEW` of the quarantined push, read through a pipe. */
static pid_t
archive(const char *sha, int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execlp("git", "git", "archive", "--format=tar", sha, "--",
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

static int
hook_build(const struct conf *c, const char *app, const char *sha)
{
	const char *user = getenv("DYNO_BUILD_PUSHER");
	char me[128];
	pid_t pid;
	int fd, rc, st;
	struct passwd *pw = getpwuid(getuid());

	snprintf(me, sizeof(me), "%s", user ? user : pw ? pw->pw_name : "?");
	if ((pid = archive(sha, &fd)) == -1) {
		diag_error_errno("git archive");
		return EXIT_OSERR;
	}
	rc = build_run(c, app, me, NULL, fd, sha, NULL, 0);
	close(fd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			break;
	return rc;
}

/*
 * pre-receive: lines "OLD NEW REF" on stdin.  Only the deploy branch is
 * taken, and built; anything else refuses the whole push, as does a
 * failed build (git then updates no ref).
 */
int
git_hook(const struct conf *c, const char *app)
{
	char line[512], old[80], new[80], ref[256], sha[80] = "";
	unsigned n = 0;

	if (geteuid() != 0)
		diag_die(EXIT_NOPERM, "build dynos: need root");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (++n > HOOK_LINES_MAX)
			diag_die(EXIT_DATAERR, "more than %d refs in one push",
			    HOOK_LINES_MAX);
		if (sscanf(line, "%79s %79s %255s", old, new, ref) != 3 ||
		    !is_sha(new))
			diag_die(EXIT_DATAERR, "pre-receive: bad line");
		if (!is_deploy_ref(c, app, ref)) {
			printf(" !     Pushed to %s, not the deploy branch: "
			    "push main (or master) to deploy.\n", ref);
			fflush(stdout);
			return EXIT_NO;
		}
		if (strcmp(new, ZERO_SHA) == 0) {
			printf(" !     The deploy branch cannot be deleted.\n");
			fflush(stdout);
			return EXIT_NO;
		}
		snprintf(sha, sizeof(sha), "%s", new);
	}
	if (sha[0] == '\0')
		return 0;
	fflush(stdout);
	return hook_build(c, app, sha);
}

/* The app in "git-receive-pack 'myapp.git'", or NULL. */
static const char *
receive_pack_app(const char *cmd, char *app, size_t size)
{
	const char *a;
	size_t n;

	if (strncmp(cmd, "git-receive-pack ", 17) == 0)
		a = cmd + 17;
	else if (strncmp(cmd, "git receive-pack ", 17) == 0)
		a = cmd + 17;
	else
		return NULL;
	n = strlen(a);
	if (n >= 2 && a[0] == '\'' && a[n - 1] == '\'') {
		a++;
		n -= 2;
	}
	if (n > 0 && a[0] == '/') {
		a++;
		n--;
	}
	if (n > 4 && strncmp(a + n - 4, ".git", 4) == 0)
		n -= 4;
	if (n == 0 || n >= size)
		return NULL;
	snprintf(app, size, "%.*s", (int)n, a);
	return names_check_app(app) == NULL ? app : NULL;
}

/*
 * The forced command of an authorized_keys line: git push to an app, and
 * nothing else (no shell, no fetch, no other path).
 */
int
git_shell(const struct conf *c, const char *user)
{
	const char *cmd = getenv("SSH_ORIGINAL_COMMAND");
	char app[64], repo[PATH_MAX];

	if (strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789@._+-") != strlen(user) || *user == '\0')
		diag_die(EXIT_USAGE, "--git-shell %s: not a user name", user);
	if (cmd == NULL || receive_pack_app(cmd, app, sizeof(app)) == NULL)
		diag_die(EXIT_NOPERM, "only git push to an app is allowed "
		    "here (git push ssh://HOST/APP.git main)");
	if (git_init(c, app, 1) != 0 ||
	    state_pathf(repo, sizeof(repo), "%s/git/%s.git", c->root, app)
	    == -1)
		return EXIT_CANTCREAT;
	setenv("DYNO_BUILD_PUSHER", user, 1);
	execlp("git", "git", "receive-pack", repo, (char *)NULL);
	diag_die_errno(EXIT_NOTFOUND, "git receive-pack");
}
