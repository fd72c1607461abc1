/* SPDX-License-Identifier: ISC */
/* dyno-run: the dyno's PID 1 (reap, forward, end the dyno) and the command. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-run.h"

#define PREAMBLE \
	"for f in /app/.profile.d/*.sh; do [ -r \"$f\" ] && . \"$f\"; " \
	"done; unset f; [ -r /app/.profile ] && . /app/.profile\n"

/* Tell the monitor that setup failed, with the exit code it should use. */
static noreturn void
setup_failed(int statusfd, int code, const char *what)
{
	diag_error("%s", what);
	(void)!write(statusfd, &code, sizeof(code));
	_exit(code);
}

/* The /bin/sh -c script: .profile.d and .profile first when the slug has them. */
static char *
script(const struct dyno *d)
{
	struct stat st;
	char *s;

	if (stat("/app/.profile", &st) == -1 &&
	    stat("/app/.profile.d", &st) == -1)
		return strdup(d->cmd_line);
	if (asprintf(&s, "%s%s", PREAMBLE, d->cmd_line) == -1)
		return NULL;
	return s;
}

/*
 * What the command execs: prepared before the vfork, which shares memory.
 * file, argv, envp: the command itself when the shell would only exec it,
 * else NULL; sh and shenvp: the shell running the script, also the
 * fallback when the command's exec fails (it then says why, as it would).
 */
struct cmd {
	char	*file;
	char	**argv;
	char	**envp;
	char	*sh[4];
	char	**shenvp;
	int	 ttyfd;
};

/*
 * Failing between vfork and exec: only write(2) and _exit, nothing that
 * touches the memory the init shares with us until then.
 */
static noreturn void
cmd_failed(int statusfd, int code, const char *what)
{
	static const char prog[] = "dyno-run: ";
	int e = errno;
	const char *why = strerror(e);

	(void)!write(STDERR_FILENO, prog, sizeof(prog) - 1);
	(void)!write(STDERR_FILENO, what, strlen(what));
	(void)!write(STDERR_FILENO, ": ", 2);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	(void)!write(statusfd, &code, sizeof(code));
	_exit(code);
}

/*
 * The command, in the vfork child: its own session, its terminal, exec.
 * It is the dyno user already, with no capability, no_new_privs and the
 * seccomp filter: the init dropped them all before, and they carry over.
 */
static noreturn void
command(const struct cmd *c, int statusfd, const sigset_t *old)
{
	if (setsid() == -1)
		cmd_failed(statusfd, EXIT_OSERR, "setsid");
	if (c->ttyfd != -1 && (dup2(c->ttyfd, 0) == -1 || dup2(c->ttyfd, 1)
	    == -1 || dup2(c->ttyfd, 2) == -1 || ioctl(0, TIOCSCTTY, 0) == -1))
		cmd_failed(statusfd, EXIT_OSERR, "controlling terminal");
	sigprocmask(SIG_SETMASK, old, NULL);
	/* fds crossing exec: 0, 1, 2 only; everything else is O_CLOEXEC. */
	if (c->file != NULL)
		execve(c->file, c->argv, c->envp);
	execve(c->sh[0], c->sh, c->shenvp);
	cmd_failed(statusfd, errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANTRUN,
	    c->sh[0]);
}

static int
exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
	    WEXITSTATUS(status);
}

/* When the command is gone, so is the dyno: kill the rest, reap, exit. */
static noreturn void
finish(int code)
{
	/*
	 * kill(-1) means "every process of this PID namespace" only for its
	 * PID 1; anywhere else it would be every process on the host.
	 */
	if (getpid() == 1)
		kill(-1, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(code);
}

/*
 * Reap whatever exited.  Returns 1 when the dyno is over: the command
 * exited on its own (a crash: the rest is killed), or, once stopping, the
 * last process of the dyno is gone.  During a stop every process gets the
 * whole grace period (heroku.md 1.4), not only the command: its status is
 * kept until then.
 */
static int
reap(pid_t cmd, int stopping, int *cmd_code)
{
	pid_t p;
	int status;

	while ((p = waitpid(-1, &status, WNOHANG)) > 0 || (p == -1 &&
	    errno == EINTR))
		if (p == cmd) {
			*cmd_code = exit_code(status);
			if (!stopping)
				finish(*cmd_code);
		}
	/* ECHILD: no process is left in the dyno (orphans are ours). */
	return p == -1 && errno == ECHILD && *cmd_code != -1;
}

static noreturn void
loop(pid_t cmd, const sigset_t *all)
{
	siginfo_t si;
	int sig, stopping = 0, code = -1;

	for (;;) {
		if ((sig = sigwaitinfo(all, &si)) == -1)
			continue;
		if (sig == SIGCHLD) {
			if (reap(cmd, stopping, &code))
				_exit(code);
			continue;
		}
		/* SIGTERM goes to every process (heroku.md 1.4), others to the
		 * command, while it lives. */
		if (sig == SIGTERM && getpid() == 1) {
			stopping = 1;
			kill(-1, SIGTERM);
		} else if (code == -1 && kill(-cmd, sig) == -1)
			kill(cmd, sig);
	}
}

/*
 * Heroku runs the command with bash, which replaces itself with a lone
 * command (and the last of a list): the app gets the signals and its
 * status is the dyno's.  dash, Debian's sh, forks instead.  bash when the
 * dyno's root has it, else sh.
 */
static const char *
shell(void)
{
	return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

/* Before the go: the hostname, loopback and the root but for /app. */
void
init_prepare(const struct dyno *d, int statusfd)
{
	char err[512];

	if (sethostname(d->hostname, strlen(d->hostname)) == -1)
		setup_failed(statusfd, EXIT_OSERR, "sethostname failed");
	/* A space dyno's namespace came with its clone; --net=none's is the
	 * monitor's, with loopback up already. */
	if (d->net == NET_SPACE && net_loopback_up() == -1)
		setup_failed(statusfd, EXIT_OSERR, "bring up loopback failed");
	if (fs_prepare(d, err, sizeof(err)) == -1)
		setup_failed(statusfd, EXIT_OSERR, err);
}

/* After it: /app, with the slug's id mapping the monitor made, if any. */
void
init_finish(const struct dyno *d, int userns, int statusfd)
{
	char err[512];

	if (fs_finish(d, userns, err, sizeof(err)) == -1)
		setup_failed(statusfd, EXIT_OSERR, err);
}

void
init_main(const struct dyno *d, int statusfd)
{
	sigset_t all, old;
	char err[512];
	struct cmd c;
	pid_t cmd;

	/*
	 * Everything stays blocked, as since the clone: a signal to a PID
	 * namespace's init with the default action is discarded, not kept
	 * pending, so an early SIGTERM (a stop right after the start) would
	 * be lost.  Blocked, it waits for loop().  The command starts with
	 * none blocked.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&old);
	/*
	 * PID 1 is dyno-run's own image: non-dumpable, so no process of the
	 * dyno can ptrace it or open /proc/1/exe to overwrite the binary
	 * (CVE-2019-5736).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/*
	 * Drop before the fork: the init keeps no more power than the
	 * command, and the command inherits the dropped state and the filter
	 * instead of building them a second time.
	 */
	if (secure_drop(d, err, sizeof(err)) == -1 ||
	    secure_load_filter(err, sizeof(err)) == -1)
		setup_failed(statusfd, EXIT_NOPERM, err);
	/*
	 * Changing ids resets both: non-dumpable again, for the reason
	 * above, and the dyno still dies if dyno-run is killed outright.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	c.sh[0] = (char *)shell();
	c.sh[1] = "-c";
	c.sh[2] = script(d);
	c.sh[3] = NULL;
	c.ttyfd = d->ttyslave;
	if (c.sh[2] == NULL || (c.shenvp = env_to_envp(&d->env)) == NULL ||
	    direct_command(d, c.sh[2], strcmp(c.sh[0], "/bin/bash") == 0,
	    &c.file, &c.argv, &c.envp) == -1)
		setup_failed(statusfd, EXIT_OSERR, "out of memory");
	/* vfork: no copy of our memory for a process that execs at once. */
	if ((cmd = vfork()) == -1)
		setup_failed(statusfd, EXIT_OSERR, "fork failed");
	if (cmd == 0)
		command(&c, statusfd, &old);
	close(statusfd);
	if (d->ttyslave != -1)
		close(d->ttyslave);
	loop(cmd, &all);
}
