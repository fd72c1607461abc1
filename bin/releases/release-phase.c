/* SPDX-License-Identifier: ISC */
/* release: the release phase, a one-off dyno release.N run by dyno-run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "imageref.h"
#include "linebuf.h"
#include "logclient.h"
#include "logmsg.h"
#include "state.h"

#include "release.h"

struct phase {
	struct app	*app;
	char		 dyno[32];	/* release.NNNN */
	pid_t		 pid;
	int		 fd;		/* the dyno's stdout and stderr */
	uint64_t	 deadline;	/* ms, CLOCK_MONOTONIC */
	int		 termed;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* dyno-run beside this binary (an install or a build tree), else PATH. */
static void
find_dyno_run(char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	snprintf(buf, size, "dyno-run");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	if (state_pathf(buf, size, "%s/dyno-run", self) == 0 &&
	    access(buf, X_OK) == 0)
		return;
	snprintf(buf, size, "dyno-run");
}

/*
 * The image of the release's "release" type, or "" for a slug release:
 * 0, or -1 when the release names one badly.
 */
static int
release_image(struct phase *ph, const char *reldir, char *image, size_t len)
{
	char path[PATH_MAX];

	image[0] = '\0';
	if (state_pathf(path, sizeof(path), "%s/images/release", reldir) ==
	    -1)
		return -1;
	if (imageref_dir(ph->app->conf->root, path, image, len) == 0)
		return 0;
	image[0] = '\0';
	return errno == ENOENT ? 0 : -1;
}

static int
spawn(struct phase *ph, unsigned version, const char *command)
{
	char prog[PATH_MAX], reldir[PATH_MAX], grace[32], image[PATH_MAX];
	int p[2], null;

	find_dyno_run(prog, sizeof(prog));
	snprintf(grace, sizeof(grace), "%llu",
	    (unsigned long long)(ph->app->conf->grace_ms / 1000));
	if (state_pathf(reldir, sizeof(reldir), "%s/releases/v%u",
	    ph->app->dir, version) == -1 || release_image(ph, reldir, image,
	    sizeof(image)) == -1 || pipe2(p, O_CLOEXEC) == -1 ||
	    (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		diag_error_errno("release phase");
		return EXIT_OSERR;
	}
	if ((ph->pid = fork()) == -1) {
		diag_error_errno("fork");
		return EXIT_OSERR;
	}
	if (ph->pid == 0) {
		/* The dyno gets /dev/null as stdin, the pipe as 1 and 2. */
		if (dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(EXIT_OSERR);
		/* A release image is the release phase's root (dyno-image). */
		if (image[0] != '\0')
			execlp(prog, "dyno-run", "--app", ph->app->name,
			    "--name", ph->dyno, "--release", reldir, "--net",
			    "none", "--grace", grace, "--image", image, "--",
			    command, (char *)NULL);
		else
			execlp(prog, "dyno-run", "--app", ph->app->name,
			    "--name", ph->dyno, "--release", reldir, "--net",
			    "none", "--grace", grace, "--", command,
			    (char *)NULL);
		dprintf(2, "%s: cannot run %s: %s\n", diag_prog(), prog,
		    strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANTRUN);
	}
	close(null);
	close(p[1]);
	ph->fd = p[0];
	return 0;
}

/*
 * Without logplexd, dyno-run prints its own heroku[release.N] lines on
 * stderr in display form; they are already log lines, not app output.
 */
static int
is_heroku_line(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);

	return len > 32 && line[0] >= '0' && line[0] <= '9' &&
	    line[10] == 'T' && sp != NULL && (size_t)(line + len - sp) > 8 &&
	    strncmp(sp + 1, "heroku[", 7) == 0;
}

static void
forward(struct phase *ph, const char *line, size_t len)
{
	struct app *a = ph->app;

	if (is_heroku_line(line, len)) {
		dprintf(STDERR_FILENO, "%.*s\n", (int)len, line);
		return;
	}

	/* Logged lines are also shown to a person at a terminal. */
	if (logclient_send(a->lc, a->name, "app", ph->dyno, line, len) == 1 &&
	    isatty(STDERR_FILENO))
		dprintf(STDERR_FILENO, "%.*s\n", (int)len, line);
}

/* Past release_timeout: SIGTERM (dyno-run passes it on), later SIGKILL. */
static int
poll_timeout(struct phase *ph)
{
	uint64_t now = now_ms();

	if (now < ph->deadline)
		return (int)(ph->deadline - now > 1000 ? 1000 :
		    ph->deadline - now);
	if (!ph->termed) {
		diag_warn("%s: release phase timed out; stopping %s",
		    ph->app->name, ph->dyno);
		kill(ph->pid, SIGTERM);
		ph->termed = 1;
		ph->deadline = now + ph->app->conf->grace_ms + 10000;
	} else
		kill(ph->pid, SIGKILL);
	return 1000;
}

static void
pump(struct phase *ph)
{
	struct pollfd pfd = { .fd = ph->fd, .events = POLLIN };
	struct linebuf lb;
	const char *line;
	size_t len;
	ssize_t n;

	if (linebuf_init(&lb, LOGMSG_LINE_MAX) == -1)
		diag_die_errno(EXIT_OSERR, "linebuf_init");
	for (;;) {
		if (poll(&pfd, 1, poll_timeout(ph)) <= 0)
			continue;
		if ((n = linebuf_read(&lb, ph->fd)) == -1 && errno == EINTR)
			continue;
		while (linebuf_next(&lb, &line, &len) == 1)
			forward(ph, line, len);
		if (n <= 0)
			break;
	}
	if (linebuf_rest(&lb, &line, &len) == 1)
		forward(ph, line, len);
	linebuf_free(&lb);
}

/*
 * Run the Procfile's release command.  0 when it exits 0; EXIT_NO when it
 * fails, times out, or dyno-run cannot run it (the release is then marked
 * failed); another exit code when the dyno cannot even be started.
 */
int
phase_run(struct app *a, unsigned version, const char *command)
{
	struct phase ph = { .app = a, .fd = -1 };
	int rc, status;

	snprintf(ph.dyno, sizeof(ph.dyno), "release.%u",
	    1000 + arc4random_uniform(9000));
	logclient_sendf(a->lc, a->name, "app", "api",
	    "Starting process with command `%s` by user %s", command, a->user);
	ph.deadline = now_ms() + a->conf->release_timeout_ms;
	if ((rc = spawn(&ph, version, command)) != 0)
		return rc;
	pump(&ph);
	close(ph.fd);
	while (waitpid(ph.pid, &status, 0) == -1)
		if (errno != EINTR)
			diag_die_errno(EXIT_OSERR, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		diag_error("%s: release phase of v%u failed: exit status %d",
		    a->name, version, WEXITSTATUS(status));
	else
		diag_error("%s: release phase of v%u killed by signal %d",
		    a->name, version, WTERMSIG(status));
	return EXIT_NO;
}
