/* SPDX-License-Identifier: ISC */
/* dyno-run: one-off dynos (run.N): their ps entry, heroku run TYPE, detach. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-run.h"
#include "linebuf.h"
#include "logclient.h"
#include "logmsg.h"
#include "procfile.h"
#include "state.h"

#define CLAIM_TRIES	20

/* A run.N no other running one-off dyno of the app has: O_EXCL decides. */
int
oneoff_claim(const struct conf *c, struct dyno *d, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	unsigned short r;
	int i, fd;

	if (state_pathf(dir, sizeof(dir), "%s/apps/%s/oneoff", c->rundir,
	    d->app) == -1 || state_mkdirs(dir, 0755) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < CLAIM_TRIES; i++) {
		if (i > 0 || strncmp(d->name, "run.", 4) != 0) {
			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				r = (unsigned short)(getpid() + i);
			snprintf(d->name, sizeof(d->name), "run.%u",
			    1000 + r % 9000);
		}
		if (state_pathf(d->runfile, sizeof(d->runfile), "%s/%s", dir,
		    d->name) == -1)
			break;
		if ((fd = open(d->runfile, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644)) != -1) {
			close(fd);
			oneoff_update(d, "starting", 0, "");
			/* The name may have changed since the environment was
			 * made. */
			if (env_set(&d->env, "DYNO", d->name) == -1 ||
			    env_set(&d->env, "PS", d->name) == -1)
				diag_die(EXIT_OSERR, "out of memory");
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	snprintf(err, errlen, "%s: no free run.N: %s", dir, strerror(errno));
	d->runfile[0] = '\0';
	return -1;
}

/*
 * "pid= init= cgroup= state= size= started= command=" lines, replaced
 * atomically: pid, init and cgroup as in --info-file (dyno-manager stop
 * finds the dyno by them), the rest for dyno-manager ps.
 */
void
oneoff_update(const struct dyno *d, const char *state, pid_t init,
    const char *cgroup)
{
	char text[sizeof(d->cmd_line) + PATH_MAX + 256];
	int n;

	if (d->runfile[0] == '\0')
		return;
	n = snprintf(text, sizeof(text), "pid=%ld\ninit=%ld\ncgroup=%s\n"
	    "state=%s\nsize=%s\nstarted=%lld\ncommand=%s\n", (long)getpid(),
	    (long)init, cgroup, state, d->size.name, (long long)time(NULL),
	    d->cmd_line);
	if (n > 0 && (size_t)n < sizeof(text))
		(void)state_replace(d->runfile, text, (size_t)n, 0644, 0);
}

void
oneoff_release(struct dyno *d)
{
	if (d->runfile[0] != '\0')
		(void)unlink(d->runfile);
	d->runfile[0] = '\0';
}

/*
 * heroku.md 1.8: "heroku run worker 42" runs the Procfile's worker command
 * with 42 appended.  Only the first word, and only a declared type.
 */
int
oneoff_type_command(struct dyno *d, int argc, char **argv)
{
	const struct procfile_entry *e;
	char err[256];
	struct procfile pf;
	size_t n;
	int i, done = 0;

	/* The slug is the tenant's: its Procfile is read beneath it only
	 * (no link out, no FIFO), as every tool reads it. */
	if (argc < 1 || strchr(argv[0], ' ') != NULL ||
	    procfile_load_beneath(d->slug, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1)
		return 0;
	if ((e = procfile_find(&pf, argv[0])) != NULL) {
		n = (size_t)snprintf(d->cmd_line, sizeof(d->cmd_line), "%s",
		    e->command);
		for (i = 1; i < argc && n < sizeof(d->cmd_line); i++)
			n += (size_t)snprintf(d->cmd_line + n,
			    sizeof(d->cmd_line) - n, " %s", argv[i]);
		if (n >= sizeof(d->cmd_line))
			diag_die(EXIT_USAGE, "command line too long");
		done = 1;
	}
	procfile_free(&pf);
	return done;
}

/* The detached dyno's output, line by line, as app[run.N]. */
static noreturn void
relay_output(struct dyno *d, const struct conf *c, int fd, pid_t dyno)
{
	struct logclient *lc = logclient_open(c->rundir);
	const char *line;
	struct linebuf lb;
	size_t len;
	int status = 0;

	if (linebuf_init(&lb, LOGMSG_LINE_MAX) == -1)
		_exit(EXIT_OSERR);
	while (linebuf_read(&lb, fd) > 0 || errno == EINTR)
		while (linebuf_next(&lb, &line, &len))
			logclient_send(lc, d->app, "app", d->name, line, len);
	while (linebuf_rest(&lb, &line, &len))
		logclient_send(lc, d->app, "app", d->name, line, len);
	while (waitpid(dyno, &status, 0) == -1 && errno == EINTR)
		;
	logclient_close(lc);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status));
}

/*
 * heroku run:detached: the name on stdout at once; the dyno runs on in a
 * session of its own, its output goes to the log stream (heroku.md 1.8).
 * Returns in the dyno's process only (to run it); exits elsewhere.
 */
int
oneoff_detach(struct dyno *d, const struct conf *c)
{
	int fds[2], null;
	pid_t pid;

	fflush(stdout);
	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		diag_die_errno(EXIT_OSERR, "detach");
	if (pid > 0) {
		printf("%s\n", d->name);
		exit(0);
	}
	setsid();
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    (pid = fork()) == -1)
		_exit(EXIT_OSERR);
	if (pid > 0) {
		/*
		 * The relay keeps nothing of the caller's: a pipe that read
		 * the name must see EOF now, not when the dyno ends.
		 */
		close(fds[1]);
		if (dup2(null, STDIN_FILENO) == -1 ||
		    dup2(null, STDOUT_FILENO) == -1 ||
		    dup2(null, STDERR_FILENO) == -1)
			_exit(EXIT_OSERR);
		relay_output(d, c, fds[0], pid);
	}
	if (dup2(null, STDIN_FILENO) == -1 ||
	    dup2(fds[1], STDOUT_FILENO) == -1 ||
	    dup2(fds[1], STDERR_FILENO) == -1)
		_exit(EXIT_OSERR);
	close(fds[0]);
	d->tty = 0;
	return 0;
}
