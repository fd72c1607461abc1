/* SPDX-License-Identifier: ISC */
/* dyno-run: the dyno's PID 1 (reap, forward, end the dyno) and the command. */
#include <errno.h>
#include <net/if.h>
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

static int
loopback_up(void)
{
	struct ifreq ifr;
	int s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
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
 * The command: its own session, its terminal, exec.  It was forked after
 * the init gave everything up, so it is the dyno user already, with no
 * capability, no_new_privs and the seccomp filter (fork keeps them all).
 */
static noreturn void
command(const struct dyno *d, int statusfd, int ttyfd, const sigset_t *old)
{
	char err[512], *argv[4], **envp;
	int code;

	if (setsid() == -1)
		setup_failed(statusfd, EXIT_OSERR, "setsid failed");
	if (ttyfd != -1 && (dup2(ttyfd, 0) == -1 || dup2(ttyfd, 1) == -1 ||
	    dup2(ttyfd, 2) == -1 || ioctl(0, TIOCSCTTY, 0) == -1))
		setup_failed(statusfd, EXIT_OSERR, "controlling terminal failed");
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script(d);
	argv[3] = NULL;
	if (argv[2] == NULL || (envp = env_to_envp(&d->env)) == NULL)
		setup_failed(statusfd, EXIT_OSERR, "out of memory");
	sigprocmask(SIG_SETMASK, old, NULL);
	/* fds crossing exec: 0, 1, 2 only; everything else is O_CLOEXEC. */
	execve(argv[0], argv, envp);
	code = errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANTRUN;
	snprintf(err, sizeof(err), "/bin/sh: %s", strerror(errno));
	setup_failed(statusfd, code, err);
}

/* When the command is gone, so is the dyno: kill the rest, reap, exit. */
static noreturn void
finish(int status)
{
	int code;

	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
	    WEXITSTATUS(status);
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

static noreturn void
loop(pid_t cmd, const sigset_t *all)
{
	siginfo_t si;
	pid_t p;
	int sig, status;

	for (;;) {
		if ((sig = sigwaitinfo(all, &si)) == -1)
			continue;
		if (sig == SIGCHLD) {
			/* Orphans land here too: reap every one of them. */
			while ((p = waitpid(-1, &status, WNOHANG)) > 0)
				if (p == cmd)
					finish(status);
			continue;
		}
		/* SIGTERM goes to every process (heroku.md 1.4), others to the command. */
		if (sig == SIGTERM && getpid() == 1)
			kill(-1, SIGTERM);
		else if (kill(-cmd, sig) == -1)
			kill(cmd, sig);
	}
}

void
init_setup(const struct dyno *d, int statusfd)
{
	char err[512];

	if (sethostname(d->hostname, strlen(d->hostname)) == -1)
		setup_failed(statusfd, EXIT_OSERR, "sethostname failed");
	if (d->net != NET_HOST && loopback_up() == -1)
		setup_failed(statusfd, EXIT_OSERR, "bring up loopback failed");
	if (fs_setup(d, err, sizeof(err)) == -1)
		setup_failed(statusfd, EXIT_OSERR, err);
}

void
init_main(const struct dyno *d, int statusfd)
{
	sigset_t all, old;
	char err[512];
	pid_t cmd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
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
	if ((cmd = fork()) == -1)
		setup_failed(statusfd, EXIT_OSERR, "fork failed");
	if (cmd == 0)
		command(d, statusfd, d->ttyslave, &old);
	close(statusfd);
	if (d->ttyslave != -1)
		close(d->ttyslave);
	loop(cmd, &all);
}
