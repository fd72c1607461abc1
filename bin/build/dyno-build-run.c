/* SPDX-License-Identifier: ISC */
/* dyno-build: detect, compile and release, each step in a build dyno. */
#include <sys/statfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-build.h"
#include "linebuf.h"
#include "num.h"
#include "state.h"

#define RUN_TIMEOUT	(-2)	/* run_tool(): past the build's deadline */
#define KILL_AFTER_MS	10000	/* SIGTERM, then SIGKILL this much later */

uint64_t
build_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The build's time limit as the pusher reads it: "15 minutes", "3s". */
const char *
run_timeout_text(const struct build *b, char *buf, size_t size)
{
	if (b->timeout_ms % 60000 == 0)
		snprintf(buf, size, "%llu minutes",
		    (unsigned long long)(b->timeout_ms / 60000));
	else
		num_format_duration(b->timeout_ms, buf, size);
	return buf;
}

/*
 * Whether the build used up its disk (WORK's tmpfs): all but 1% of its
 * blocks or inodes gone.  Said after a step fails, as the failure itself
 * is only the buildpack's "No space left on device".
 */
int
run_disk_full(struct build *b)
{
	struct statfs sf;
	char size[32];

	if (statfs(b->work, &sf) == -1 || sf.f_blocks == 0 ||
	    (sf.f_bavail > sf.f_blocks / 100 && (sf.f_files == 0 ||
	    sf.f_ffree > sf.f_files / 100)))
		return 0;
	snprintf(size, sizeof(size), "%.1fM", (double)b->conf->build_disk /
	    (1024.0 * 1024.0));
	out_fail(b, "The build used all of its disk (%s%s)", size,
	    sf.f_bavail > sf.f_blocks / 100 ? " of files" : "");
	return 1;
}

/* TOOL beside this binary (an install or the build tree), else PATH. */
static void
find_tool(const char *tool, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	snprintf(buf, size, "%s", tool);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	if (state_pathf(buf, size, "%s/%s", self, tool) == 0 &&
	    access(buf, X_OK) == 0)
		return;
	snprintf(buf, size, "%s", tool);
}

/*
 * Without logplexd, dyno-run and release print their log lines
 * (heroku[build.1], app[api]) on stderr in display form: they go to our
 * stderr, not into the build output.
 */
static int
is_log_line(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);

	return len > 32 && line[0] >= '0' && line[0] <= '9' &&
	    line[10] == 'T' && sp != NULL && (size_t)(line + len - sp) > 8 &&
	    (strncmp(sp + 1, "heroku[", 7) == 0 ||
	    strncmp(sp + 1, "app[api]", 8) == 0);
}

struct sink {
	struct build	*b;
	int		 stream;
	char		*out;
	size_t		 len, max;
	int		 over;
};

static void
take(struct sink *s, const char *line, size_t len)
{
	char *n;

	if (is_log_line(line, len)) {
		dprintf(STDERR_FILENO, "%.*s\n", (int)len, line);
		return;
	}
	if (s->stream) {
		out_line(s->b, line, len);
		return;
	}
	if (s->out == NULL || s->over || len + 1 > s->max - s->len) {
		s->over = 1;
		return;
	}
	if ((n = realloc(s->out, s->len + len + 2)) == NULL) {
		s->over = 1;
		return;
	}
	s->out = n;
	memcpy(s->out + s->len, line, len);
	s->len += len;
	s->out[s->len++] = '\n';
	s->out[s->len] = '\0';
}

static pid_t
spawn(const char *prog, char *const argv[], int *fd)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(EXIT_OSERR);
		execvp(prog, argv);
		dprintf(2, "%s: cannot run %s: %s\n", diag_prog(), prog,
		    strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANTRUN);
	}
	close(null);
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* Until the step's output ends; past the deadline, stop it. */
static int
pump(struct build *b, pid_t pid, int fd, struct sink *s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct linebuf lb;
	const char *line;
	size_t len;
	ssize_t n;
	int termed = 0, st;
	uint64_t now, kill_at = 0;

	if (linebuf_init(&lb, 8192) == -1)
		diag_die_errno(EXIT_OSERR, "linebuf_init");
	for (;;) {
		now = build_now_ms();
		if (b != NULL && !termed && now >= b->deadline_ms) {
			kill(pid, SIGTERM);
			termed = 1;
			kill_at = now + KILL_AFTER_MS;
		} else if (termed && now >= kill_at)
			kill(pid, SIGKILL);
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		if ((n = linebuf_read(&lb, fd)) == -1 && errno == EINTR)
			continue;
		while (linebuf_next(&lb, &line, &len) == 1)
			take(s, line, len);
		if (n <= 0)
			break;
	}
	if (linebuf_rest(&lb, &line, &len) == 1)
		take(s, line, len);
	linebuf_free(&lb);
	close(fd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return EXIT_OSERR;
	if (termed)
		return RUN_TIMEOUT;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/*
 * Run a tool (dyno-run, release) found beside this one: its output
 * streamed to the pusher line by line, or caught into *out (at most
 * outmax bytes, malloc'd, the caller frees).  Its exit status, or
 * RUN_TIMEOUT.
 */
int
run_tool(const char *tool, char *const argv[], char **out, size_t outmax,
    int stream, struct build *b)
{
	struct sink s = { b, stream, NULL, 0, outmax, 0 };
	char prog[PATH_MAX];
	pid_t pid;
	int fd, rc;

	find_tool(tool, prog, sizeof(prog));
	if (!stream && (s.out = calloc(1, 1)) == NULL)
		return EXIT_OSERR;
	if ((pid = spawn(prog, argv, &fd)) == -1) {
		diag_error_errno("%s", prog);
		free(s.out);
		return EXIT_OSERR;
	}
	rc = pump(b, pid, fd, &s);
	/* Caught output over its bound is refused, not cut. */
	if (s.over && rc == 0)
		rc = EXIT_DATAERR;
	if (out != NULL)
		*out = s.out;
	else
		free(s.out);
	return rc;
}

/* One step in a build dyno: dyno-run on WORK, bound writable at /app. */
static int
step(struct build *b, const char *cmd, char **out, size_t outmax)
{
	char envfile[PATH_MAX];
	char *argv[24];
	int n = 0;

	(void)state_pathf(envfile, sizeof(envfile), "%s/build.env", b->appdir);
	argv[n++] = "dyno-run";
	argv[n++] = "--app";
	argv[n++] = b->app;
	argv[n++] = "--name";
	argv[n++] = "build.1";
	argv[n++] = "--app-dir";
	argv[n++] = b->work;
	argv[n++] = "--app-rw";
	argv[n++] = "--env-file";
	argv[n++] = envfile;
	argv[n++] = "--size";
	argv[n++] = b->size;
	argv[n++] = "--grace";
	argv[n++] = "5";
	/* The ids the build folder was given to (see resolve_ids). */
	argv[n++] = b->userns ? "--userns" : "--no-userns";
	if (b->net[0] != '\0') {
		argv[n++] = "--net";
		argv[n++] = b->net;
	}
	argv[n++] = "--";
	argv[n++] = (char *)cmd;
	argv[n] = NULL;
	return run_tool("dyno-run", argv, out, outmax, out == NULL, b);
}

/* The first line of bin/detect's output, printable, as the app's kind. */
static void
detect_name(struct pack *p, const char *out)
{
	size_t i, n = strcspn(out, "\n");

	if (n >= sizeof(p->name))
		n = sizeof(p->name) - 1;
	for (i = 0; i < n; i++)
		p->name[i] = (out[i] >= 0x20 && out[i] < 0x7f) ? out[i] : '?';
	p->name[n] = '\0';
	if (n == 0)
		snprintf(p->name, sizeof(p->name), "%s", "Buildpack");
}

static int
detect_one(struct build *b, struct pack *p)
{
	char cmd[256], *out = NULL;
	int rc;

	snprintf(cmd, sizeof(cmd), "exec /app/%s/bin/detect /app/build "
	    "2>/dev/null", p->dir);
	rc = step(b, cmd, &out, 4096);
	if (rc == 0)
		detect_name(p, out ? out : "");
	/* Not "no": the script is missing or cannot run (this hid a build
	 * whose buildpacks were copied elsewhere). */
	if (rc == EXIT_CANTRUN || rc == EXIT_NOTFOUND)
		diag_warn("buildpack %s: bin/detect cannot run in the build "
		    "dyno (status %d)", p->url, rc);
	free(out);
	return rc;
}

/*
 * Named buildpacks: each must say yes (Heroku stops at the first that
 * does not).  The default list: the first that says yes wins, and when
 * several do, the user is told which.
 */
int
run_detect(struct build *b)
{
	unsigned i, hit = 0, first = 0;
	int rc;

	for (i = 0; i < b->npacks; i++) {
		if ((rc = detect_one(b, &b->packs[i])) == RUN_TIMEOUT) {
			out_fail(b, "Timed out detecting with %s",
			    b->packs[i].url);
			return EXIT_TEMPFAIL;
		}
		if (b->explicit && rc != 0) {
			out_head(b, "App not compatible with buildpack: %s",
			    b->packs[i].url);
			return EXIT_DATAERR;
		}
		if (rc == 0 && hit++ == 0)
			first = i;
	}
	if (b->explicit)
		return 0;
	if (hit == 0) {
		out_fail(b, "No default language could be detected for this "
		    "app.");
		return EXIT_DATAERR;
	}
	if (hit > 1) {
		char names[1024];
		size_t n = 0;

		for (i = 0; i < b->npacks && n < sizeof(names); i++)
			if (b->packs[i].name[0] != '\0')
				n += (size_t)snprintf(names + n, sizeof(names) -
				    n, "%s%s", n ? "," : "", b->packs[i].name);
		out_text(b, "Multiple default buildpacks reported the ability "
		    "to handle this app. The first buildpack in the list "
		    "below will be used.");
		out_text(b, "Detected buildpacks: %s", names);
	}
	b->packs[0] = b->packs[first];
	b->npacks = 1;
	return 0;
}

/* Each buildpack's compile, after the `export` of those before it. */
int
run_compile(struct build *b)
{
	char cmd[4096];
	unsigned i, j;
	size_t n;
	int rc;

	for (i = 0; i < b->npacks; i++) {
		out_head(b, "%s app detected", b->packs[i].name);
		n = 0;
		for (j = 0; j < i; j++)
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n,
			    "[ -f /app/%s/export ] && . /app/%s/export; ",
			    b->packs[j].dir, b->packs[j].dir);
		snprintf(cmd + n, sizeof(cmd) - n, "exec /app/%s/bin/compile "
		    "/app/build /app/cache /app/env 2>&1", b->packs[i].dir);
		rc = step(b, cmd, NULL, 0);
		if (rc == RUN_TIMEOUT) {
			char t[32];

			out_fail(b, "Timed out compiling %s app (%s)",
			    b->packs[i].name, run_timeout_text(b, t, sizeof(t)));
			return EXIT_TEMPFAIL;
		}
		if (rc != 0) {
			(void)run_disk_full(b);
			out_fail(b, "Push rejected, failed to compile %s app.",
			    b->packs[i].name);
			return EXIT_DATAERR;
		}
	}
	return 0;
}

/* The last buildpack's bin/release (optional), its YAML caught. */
int
run_release(struct build *b, char **yaml, size_t *len)
{
	char cmd[256];
	struct pack *p = &b->packs[b->npacks - 1];
	int rc;

	*yaml = NULL;
	*len = 0;
	snprintf(cmd, sizeof(cmd), "[ -e /app/%s/bin/release ] || exit 0; "
	    "exec /app/%s/bin/release /app/build 2>/dev/null", p->dir,
	    p->dir);
	rc = step(b, cmd, yaml, BUILD_YAML_MAX);
	if (rc == RUN_TIMEOUT) {
		out_fail(b, "Timed out running bin/release of %s", p->url);
		return EXIT_TEMPFAIL;
	}
	if (rc != 0) {
		out_fail(b, "bin/release of %s failed (status %d)", p->url, rc);
		return EXIT_DATAERR;
	}
	*len = *yaml ? strlen(*yaml) : 0;
	return 0;
}
