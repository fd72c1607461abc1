/* SPDX-License-Identifier: ISC */
/* dyno-manager -d: run a folder's Procfile without isolation, as foreman does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "env.h"
#include "envfile.h"
#include "evloop.h"
#include "linebuf.h"
#include "num.h"
#include "procfile.h"
#include "dyno-manager.h"

#define MAX_PER_TYPE	100
#define LINE_MAX_OUT	(16 * 1024)

extern char **environ;

/* One output stream of one process. */
struct dev;
struct stream {
	struct dev	*dev;
	struct devproc	*proc;
	int		 fd;
	struct linebuf	 lb;
};

struct devproc {
	char		 name[80];	/* web.1 */
	const char	*command;
	unsigned	 port;
	pid_t		 pid;		/* also its process group */
	int		 exited;
	int		 color;
	struct stream	 out, err;
};

struct dev {
	const struct conf *conf;
	const struct dev_opts *opts;
	struct procfile	 pf;
	struct env	 env;		/* caller's env + .env */
	struct devproc	*procs;
	size_t		 nprocs;
	int		 width;		/* name column width */
	int		 color;		/* colour output */
	struct evloop	*ev;
	int		 stopping;
	int		 status;	/* exit status of dyno-manager */
	int		 open_streams;
	int		 children_gone;
	uint64_t	 grace_ms;
};

static void
warn_cb(void *arg, const char *msg)
{
	int *warnings = arg;

	diag_warn("%s", msg);
	(*warnings)++;
}

/* Procfile and .env of the folder into d; returns 0 or an exit status. */
static int
load_app(struct dev *d, int *warnings)
{
	const struct dev_opts *o = d->opts;
	char pfpath[PATH_MAX], envpath[PATH_MAX], err[512];

	snprintf(pfpath, sizeof(pfpath), "%s/Procfile", o->dir);
	if (procfile_load(o->procfile ? o->procfile : pfpath, &d->pf, warn_cb,
	    warnings, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return errno == EINVAL ? EXIT_DATAERR : diag_exit_for_errno(errno);
	}
	env_init(&d->env);
	snprintf(envpath, sizeof(envpath), "%s/.env", o->dir);
	if (o->envfile == NULL && access(envpath, F_OK) == -1)
		return 0;	/* the default .env is optional */
	if (envfile_load_dotenv(o->envfile ? o->envfile : envpath, &d->env,
	    warn_cb, warnings, err, sizeof(err)) == -1) {
		diag_error("%s", err);
		return errno == EINVAL ? EXIT_DATAERR : diag_exit_for_errno(errno);
	}
	return 0;
}

/* Count for `type` from "-m all=1,web=2" (default 1 each, as foreman). */
static int
formation_count(const struct dev *d, const char *type, unsigned *count)
{
	char buf[1024], *tok, *save = NULL, *eq;
	unsigned all = 1, n, found = 0;

	*count = 1;
	if (d->opts->formation == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", d->opts->formation);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if ((eq = strchr(tok, '=')) == NULL ||
		    num_parse_uint(eq + 1, 0, MAX_PER_TYPE, &n) == -1)
			return -1;
		*eq = '\0';
		if (strcmp(tok, "all") == 0)
			all = n;
		else if (strcmp(tok, type) == 0) {
			*count = n;
			found = 1;
		}
	}
	if (!found)
		*count = all;
	return 0;
}

/* Every name in -m must be "all" or a Procfile type. */
static int
check_formation(const struct dev *d)
{
	char buf[1024], *tok, *save = NULL, *eq;
	unsigned n;

	if (d->opts->formation == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", d->opts->formation);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if ((eq = strchr(tok, '=')) == NULL ||
		    num_parse_uint(eq + 1, 0, MAX_PER_TYPE, &n) == -1) {
			diag_error("-m: \"%s\": expected TYPE=COUNT, COUNT 0 to %d",
			    tok, MAX_PER_TYPE);
			return EXIT_USAGE;
		}
		*eq = '\0';
		if (strcmp(tok, "all") != 0 && procfile_find(&d->pf, tok) == NULL) {
			diag_error("-m: \"%s\": no such process type in the Procfile",
			    tok);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int
dev_check(const struct conf *conf, const struct dev_opts *opts)
{
	struct dev d = { .conf = conf, .opts = opts };
	int warnings = 0, rc;
	size_t i;

	if ((rc = load_app(&d, &warnings)) != 0)
		goto out;
	if ((rc = check_formation(&d)) == 0) {
		for (i = 0; i < d.pf.n; i++)
			printf("%s: %s\n", d.pf.entries[i].type,
			    d.pf.entries[i].command);
		if (warnings > 0)
			rc = EXIT_DATAERR;
	}
out:
	procfile_free(&d.pf);
	env_free(&d.env);
	return rc;
}

/* Base port: -p, else $PORT (as foreman), else dyno.conf's base_port. */
static unsigned
base_port(const struct dev *d)
{
	const char *p = getenv("PORT");
	unsigned v;

	if (d->opts->base_port != 0)
		return d->opts->base_port;
	if (p != NULL && num_parse_uint(p, 1, 65535, &v) == 0)
		return v;
	return d->conf->base_port;
}

/* The processes of the formation, with foreman's ports: base + 100 per
 * type in Procfile order + 1 per instance. */
static int
plan(struct dev *d)
{
	unsigned count, n, base = base_port(d);
	size_t i;
	struct devproc *p;

	for (i = 0; i < d->pf.n; i++) {
		formation_count(d, d->pf.entries[i].type, &count);
		for (n = 1; n <= count; n++) {
			p = reallocarray(d->procs, d->nprocs + 1, sizeof(*p));
			if (p == NULL)
				return -1;
			d->procs = p;
			p = &d->procs[d->nprocs++];
			memset(p, 0, sizeof(*p));
			snprintf(p->name, sizeof(p->name), "%s.%u",
			    d->pf.entries[i].type, n);
			p->command = d->pf.entries[i].command;
			p->port = base + 100 * (unsigned)i + n - 1;
			p->color = (int)(d->nprocs % 6);
			if ((int)strlen(p->name) > d->width)
				d->width = (int)strlen(p->name);
		}
	}
	return 0;
}

/* "HH:MM:SS name  | " then the line, in one write(2). */
static void
emit(struct dev *d, const char *name, int color, const char *line, size_t len)
{
	static const char *colors[] = { "36", "33", "32", "35", "34", "31" };
	char buf[LINE_MAX_OUT + 256], ts[16];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	if (d->color)
		n = snprintf(buf, sizeof(buf), "\033[%sm%s %-*s |\033[0m %.*s\n",
		    colors[color % 6], ts, d->width, name, (int)len, line);
	else
		n = snprintf(buf, sizeof(buf), "%s %-*s | %.*s\n", ts, d->width,
		    name, (int)len, line);
	if (n > 0)
		(void)!write(STDOUT_FILENO, buf,
		    (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void __attribute__((format(printf, 3, 4)))
emitf(struct dev *d, const char *name, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		emit(d, name, 5, line, strlen(line));
}

static void
close_stream(struct dev *d, struct stream *s)
{
	evloop_del_fd(d->ev, s->fd);
	close(s->fd);
	s->fd = -1;
	linebuf_free(&s->lb);
	d->open_streams--;
	if (d->stopping && d->open_streams == 0 && d->children_gone)
		evloop_stop(d->ev);
}

static void
print_line(void *arg, const char *line, size_t len)
{
	struct stream *s = arg;

	emit(s->dev, s->proc->name, s->proc->color, line, len);
}

/* Output of a process: whole lines only, so two processes never mix. */
static void
on_output(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct stream *s = arg;

	(void)ev;
	(void)events;
	if (!linebuf_pump(&s->lb, fd, print_line, s))
		close_stream(s->dev, s);
}

/* The child side of spawn(): its own process group, pipes, env, sh -c. */
static void
exec_child(struct dev *d, struct devproc *p, int out, int err)
{
	char port[16];

	evloop_child_sigreset();
	setpgid(0, 0);
	/* stdout and stderr are the only fds meant to cross exec. */
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(err, STDERR_FILENO) == -1)
		_exit(EXIT_OSERR);
	/* Nothing else dyno-manager inherited reaches the process. */
	close_range(3, ~0U, 0);
	snprintf(port, sizeof(port), "%u", p->port);
	if (env_set(&d->env, "PORT", port) == -1 ||
	    env_set(&d->env, "DYNO", p->name) == -1 ||
	    env_set(&d->env, "PS", p->name) == -1)
		_exit(EXIT_OSERR);
	environ = env_to_envp(&d->env);
	if (environ == NULL || chdir(d->opts->dir) == -1) {
		dprintf(STDERR_FILENO, "%s: %s: %s\n", diag_prog(), d->opts->dir,
		    strerror(errno));
		_exit(EXIT_OSERR);
	}
	execl("/bin/sh", "sh", "-c", p->command, (char *)NULL);
	dprintf(STDERR_FILENO, "%s: /bin/sh: %s\n", diag_prog(), strerror(errno));
	_exit(EXIT_CANTRUN);
}

static int
watch_stream(struct dev *d, struct devproc *p, struct stream *s, int fd)
{
	s->dev = d;
	s->proc = p;
	s->fd = fd;
	if (linebuf_init(&s->lb, LINE_MAX_OUT) == -1 ||
	    evloop_add_fd(d->ev, fd, EPOLLIN, on_output, s) == -1)
		return -1;
	d->open_streams++;
	return 0;
}

static int
spawn(struct dev *d, struct devproc *p)
{
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(err, O_CLOEXEC) == -1) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if ((p->pid = fork()) == -1)
		return -1;
	if (p->pid == 0)
		exec_child(d, p, out[1], err[1]);
	/* Both sides set the group, so a signal right after fork finds it. */
	setpgid(p->pid, p->pid);
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if (watch_stream(d, p, &p->out, out[0]) == -1 ||
	    watch_stream(d, p, &p->err, err[0]) == -1)
		return -1;
	emitf(d, p->name, "started with pid %ld", (long)p->pid);
	return 0;
}

/* The parent pid from /proc/PID/stat (the field after the comm). */
static pid_t
read_ppid(const char *pid)
{
	char path[64], buf[512], *rp;
	ssize_t n;
	int fd;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')'. */
	if ((rp = strrchr(buf, ')')) == NULL ||
	    sscanf(rp + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* Every (pid, ppid) pair on the system. */
static int
collect_procs(pid_t **pids, pid_t **ppids, size_t *n, size_t *cap)
{
	struct dirent *de;
	DIR *dir;
	pid_t ppid;
	void *np;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    (ppid = read_ppid(de->d_name)) == -1)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			if ((np = reallocarray(*pids, *cap, sizeof(pid_t))) == NULL)
				break;
			*pids = np;
			if ((np = reallocarray(*ppids, *cap, sizeof(pid_t))) == NULL)
				break;
			*ppids = np;
		}
		(*pids)[*n] = (pid_t)atol(de->d_name);
		(*ppids)[(*n)++] = ppid;
	}
	closedir(dir);
	return 0;
}

static int
is_marked(const pid_t *pids, const char *mark, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return mark[i];
	return 0;
}

/* Is pgid the process group of one of our dynos (already signalled)? */
static int
in_dyno_group(const struct dev *d, pid_t pid)
{
	pid_t pgid = getpgid(pid);
	size_t i;

	for (i = 0; i < d->nprocs; i++)
		if (pgid == d->procs[i].pid)
			return 1;
	return 0;
}

/*
 * Every process below us that left its dyno's process group.  dyno-manager
 * is a child subreaper, so a grandchild whose parent died (a daemonising
 * server, `npm start`'s node) is re-parented to us instead of to init:
 * walking /proc by parent pid finds every process any dyno started.  Those
 * still in a dyno's group got the signal with the group, and are skipped
 * so that each process is signalled once.
 */
static void
signal_stragglers(const struct dev *d, int sig)
{
	pid_t *pids = NULL, *ppids = NULL, self = getpid();
	size_t n = 0, cap = 0, i;
	int changed = 1;
	char *mark = NULL;

	if (collect_procs(&pids, &ppids, &n, &cap) == -1)
		goto out;
	if ((mark = calloc(n ? n : 1, 1)) == NULL)
		goto out;
	while (changed) {
		changed = 0;
		for (i = 0; i < n; i++)
			if (!mark[i] && (ppids[i] == self ||
			    is_marked(pids, mark, n, ppids[i]))) {
				mark[i] = 1;
				changed = 1;
			}
	}
	for (i = 0; i < n; i++)
		if (mark[i] && !in_dyno_group(d, pids[i]))
			kill(pids[i], sig);
out:
	free(mark);
	free(pids);
	free(ppids);
}

/* Signal each dyno's group, then every straggler that left its group. */
static void
signal_all(struct dev *d, int sig)
{
	size_t i;

	for (i = 0; i < d->nprocs; i++)
		if (d->procs[i].pid > 0)
			kill(-d->procs[i].pid, sig);
	signal_stragglers(d, sig);
}

static void
on_grace_over(struct evloop *ev, void *arg)
{
	struct dev *d = arg;

	(void)ev;
	emitf(d, "system", "sending SIGKILL to all processes");
	signal_all(d, SIGKILL);
}

static void
stop_all(struct dev *d, int status)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	d->status = status;
	emitf(d, "system", "sending SIGTERM to all processes");
	signal_all(d, SIGTERM);
	if (evloop_timer(d->ev, d->grace_ms, on_grace_over, d) == NULL)
		signal_all(d, SIGKILL);
}

static struct devproc *
find_proc(struct dev *d, pid_t pid)
{
	size_t i;

	for (i = 0; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	return NULL;
}

/* Read what is already in a stream's pipe, without waiting. */
static void
drain(struct stream *s)
{
	const char *line;
	size_t len;

	if (s->fd == -1)
		return;
	while (linebuf_read(&s->lb, s->fd) > 0)
		while (linebuf_next(&s->lb, &line, &len))
			print_line(s, line, len);
}

/* One of our processes ended: say how, and stop the others (foreman). */
static void
proc_exited(struct dev *d, struct devproc *p, int wstatus)
{
	int code;

	/* Show what it wrote before it died ahead of the line saying so. */
	drain(&p->out);
	drain(&p->err);
	p->exited = 1;
	if (WIFSIGNALED(wstatus)) {
		code = 128 + WTERMSIG(wstatus);
		emitf(d, p->name, "terminated by SIG%s",
		    sigabbrev_np(WTERMSIG(wstatus)) ? sigabbrev_np(WTERMSIG(wstatus)) : "?");
	} else {
		code = WEXITSTATUS(wstatus);
		emitf(d, p->name, "exited with code %d", code);
	}
	if (!d->stopping)
		stop_all(d, code);
}

/* Reap every child: ours and the orphans re-parented to us. */
static void
on_sigchld(struct evloop *ev, int signo, void *arg)
{
	struct dev *d = arg;
	struct devproc *p;
	int wstatus;
	pid_t pid;

	(void)signo;
	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
		if ((p = find_proc(d, pid)) != NULL)
			proc_exited(d, p, wstatus);
	if (pid == -1 && errno == ECHILD && d->stopping) {
		d->children_gone = 1;
		if (d->open_streams == 0)
			evloop_stop(ev);
	}
}

static void
on_stop_signal(struct evloop *ev, int signo, void *arg)
{
	struct dev *d = arg;

	(void)ev;
	if (d->stopping) {
		/* A second Ctrl-C: no more grace. */
		emitf(d, "system", "SIG%s received again, sending SIGKILL",
		    sigabbrev_np(signo));
		signal_all(d, SIGKILL);
		return;
	}
	emitf(d, "system", "SIG%s received", sigabbrev_np(signo));
	stop_all(d, 0);
}

static int
setup_loop(struct dev *d)
{
	if ((d->ev = evloop_new()) == NULL ||
	    evloop_add_signal(d->ev, SIGCHLD, on_sigchld, d) == -1 ||
	    evloop_add_signal(d->ev, SIGINT, on_stop_signal, d) == -1 ||
	    evloop_add_signal(d->ev, SIGTERM, on_stop_signal, d) == -1 ||
	    evloop_add_signal(d->ev, SIGHUP, on_stop_signal, d) == -1)
		return -1;
	/* Orphaned grandchildren come to us, so none escapes the stop. */
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* A no-process formation still has to end: nothing would wake the loop. */
static void
on_nothing_to_run(struct evloop *ev, void *arg)
{
	(void)arg;
	evloop_stop(ev);
}

static int
start_all(struct dev *d)
{
	size_t i;

	for (i = 0; i < d->nprocs; i++) {
		if (spawn(d, &d->procs[i]) == -1) {
			diag_error_errno("%s: cannot start", d->procs[i].name);
			stop_all(d, EXIT_OSERR);
			return -1;
		}
	}
	if (d->nprocs == 0) {
		diag_warn("the formation starts no process");
		evloop_timer(d->ev, 0, on_nothing_to_run, d);
	}
	return 0;
}

static void
free_dev(struct dev *d)
{
	evloop_free(d->ev);
	free(d->procs);
	procfile_free(&d->pf);
	env_free(&d->env);
}

static int
inherit_environ(struct dev *d)
{
	char **e, *eq, key[4096];

	/* The caller's environment first, then .env over it (foreman). */
	struct env dotenv = d->env;

	env_init(&d->env);
	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL || eq - *e >= (long)sizeof(key))
			continue;
		memcpy(key, *e, (size_t)(eq - *e));
		key[eq - *e] = '\0';
		if (env_set(&d->env, key, eq + 1) == -1)
			return -1;
	}
	if (env_merge(&d->env, &dotenv) == -1)
		return -1;
	env_free(&dotenv);
	return 0;
}

int
dev_run(const struct conf *conf, const struct dev_opts *opts)
{
	struct dev d = { .conf = conf, .opts = opts };
	const char *nc = getenv("NO_COLOR");
	int warnings = 0, rc;

	if ((rc = load_app(&d, &warnings)) != 0 || (rc = check_formation(&d)) != 0)
		goto out;
	d.grace_ms = opts->grace_ms >= 0 ? (uint64_t)opts->grace_ms : conf->grace_ms;
	d.color = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');
	d.width = 6;	/* "system" */
	if (inherit_environ(&d) == -1 || plan(&d) == -1 || setup_loop(&d) == -1) {
		diag_error_errno("setting up");
		rc = EXIT_OSERR;
		goto out;
	}
	start_all(&d);
	if (evloop_run(d.ev) == -1) {
		diag_error_errno("event loop");
		rc = EXIT_OSERR;
		goto out;
	}
	rc = d.status;
out:
	free_dev(&d);
	return rc;
}
