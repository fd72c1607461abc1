/* SPDX-License-Identifier: ISC */
/* dyno-manager APP: one dyno's life: start, up, crash, restart, stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "dynostate.h"
#include "imageref.h"
#include "logmsg.h"
#include "state.h"
#include "dyno-manager-app.h"

#define PROBE_MS	100
#define LINE_MAX_DYNO	10000
#define KILL_SLACK_MS	10000	/* beyond the grace, before we SIGKILL */
#define SETUP_HOLD_MS	10000	/* a setup slot is held at most this long */

void
mgr_logf(struct mgr *m, const char *dyno, const char *fmt, ...)
{
	char msg[LOGMSG_LINE_MAX + 1];
	va_list ap;
	int n;

	/* Formatted as logclient_vsendf does; sent through our own queue. */
	va_start(ap, fmt);
	n = logclient_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0)
		logq_send(m, "heroku", dyno, msg, (size_t)n);
}

/*
 * dynos/TYPE.N/ as dyno-state(5) describes it (lib/dynostate): only the
 * files whose value changed since we wrote them, so a state change costs
 * one or two renames rather than five (and a mkdir -p).
 */
static void
write_dyno(struct mgr *m, struct dyno *d)
{
	const struct inst *in = d->cur;
	struct dynostate ds = { .pid = in ? (long)in->pid : 0,
	    .started = (long long)d->started };
	char err[PATH_MAX];

	snprintf(ds.name, sizeof(ds.name), "%s", d->name);
	snprintf(ds.state, sizeof(ds.state), "%s", dlife_state_name(d->state));
	snprintf(ds.release, sizeof(ds.release), "%s", in ? in->release :
	    m->app.version);
	if (in && in->info_seen && in->port)
		snprintf(ds.addr, sizeof(ds.addr), "%s:%u", in->addr, in->port);
	if (dynostate_update(m->app.dir, &ds, &d->written, err,
	    sizeof(err)) == -1)
		diag_warn_errno("%s", err);
}

void
mgr_write_routes(struct mgr *m)
{
	struct dynoroute r[FORMATION_MAX_DYNOS];
	const struct dyno *d;
	const struct inst *in;
	size_t n = 0;

	/* in a cluster dyno-agent writes routes, from every host's dynos */
	if (m->cluster)
		return;
	for (d = m->dynos; d != NULL && n < FORMATION_MAX_DYNOS; d = d->next) {
		/* During a preboot the old instance serves until the new is up. */
		in = d->state == ST_UP ? d->cur : d->old;
		if (in == NULL || !in->port || strcmp(d->type, "web") != 0)
			continue;
		if (snprintf(r[n].dyno, sizeof(r[n].dyno), "%s", d->name) <
		    (int)sizeof(r[n].dyno) && snprintf(r[n].addr,
		    sizeof(r[n].addr), "%s:%u", in->addr, in->port) <
		    (int)sizeof(r[n].addr))
			n++;
	}
	/* Rewritten (and dyno-route woken) only when the text changes. */
	if (dynostate_routes_update(m->app.dir, r, n, &m->routes,
	    &m->routeslen) == -1)
		diag_warn_errno("%s/routes", m->app.dir);
}

void
dyno_set_state(struct mgr *m, struct dyno *d, enum dstate to)
{
	enum dstate from = d->state;

	if (from != to)
		mgr_logf(m, d->name, "State changed from %s to %s",
		    dlife_state_name(from), dlife_state_name(to));
	d->state = to;
	write_dyno(m, d);
	if (from == ST_UP || to == ST_UP)
		mgr_write_routes(m);
}

struct dyno *
dyno_new(struct mgr *m, const char *type, unsigned num)
{
	struct dyno *d, **pp;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->m = m;
	snprintf(d->type, sizeof(d->type), "%s", type);
	snprintf(d->name, sizeof(d->name), "%s.%u", type, num);
	d->num = num;
	d->state = ST_DOWN;
	/* Keep the list ordered by type, then number, for ps and routes. */
	for (pp = &m->dynos; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->type, type) > 0 || (strcmp((*pp)->type,
		    type) == 0 && (*pp)->num > num))
			break;
	d->next = *pp;
	*pp = d;
	return d;
}

/* A free TCP port for a dyno on the host network, as Heroku's are: random. */
static unsigned
pick_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	int s;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(s);
	return port;
}

/* dyno-run's info file: "addr=" once the dyno is set up. */
static int
read_info(struct inst *in)
{
	char *text, *p;

	if (state_read(in->info, 4096, &text, NULL) == -1)
		return 0;
	if ((p = strstr(text, "addr=")) != NULL) {
		p += 5;
		snprintf(in->addr, sizeof(in->addr), "%.*s", (int)strcspn(p, "\n"),
		    p);
	}
	if (in->addr[0] == '\0')
		snprintf(in->addr, sizeof(in->addr), "127.0.0.1");
	free(text);
	in->info_seen = 1;
	return 1;
}

/* One line a dyno wrote: to the app's log as app[TYPE.N]. */
static void
log_line(void *arg, const char *line, size_t len)
{
	struct inst *in = arg;

	logq_send(in->m, "app", in->name, line, len);
}

static void
end_pipe(struct mgr *m, struct pipe_in *p)
{
	if (!p->paused)
		evloop_del_fd(m->ev, p->fd);
	close(p->fd);
	p->fd = -1;
	p->paused = 0;
	linebuf_free(&p->lb);
}

static void
on_output(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct pipe_in *p = arg;
	struct mgr *m = p->inst->m;

	(void)ev;
	(void)events;
	if (!linebuf_pump(&p->lb, fd, log_line, p->inst))
		end_pipe(m, p);
	else if (logq_busy(m))
		mgr_pause_output(m);
}

static void
pause_pipe(struct mgr *m, struct pipe_in *p)
{
	if (p->fd != -1 && !p->paused && evloop_del_fd(m->ev, p->fd) == 0)
		p->paused = 1;
}

static void
resume_pipe(struct mgr *m, struct pipe_in *p)
{
	if (p->fd != -1 && p->paused &&
	    evloop_add_fd(m->ev, p->fd, EPOLLIN, on_output, p) == 0)
		p->paused = 0;
}

/*
 * logplexd is behind: the dynos' lines wait in their pipes (and a dyno
 * that fills its pipe waits in write(2)) rather than being dropped.
 */
void
mgr_pause_output(struct mgr *m)
{
	struct inst *in;

	if (m->output_paused)
		return;
	m->output_paused = 1;
	for (in = m->insts; in != NULL; in = in->next) {
		pause_pipe(m, &in->out);
		pause_pipe(m, &in->err);
	}
}

void
mgr_resume_output(struct mgr *m)
{
	struct inst *in;

	if (!m->output_paused)
		return;
	m->output_paused = 0;
	for (in = m->insts; in != NULL; in = in->next) {
		resume_pipe(m, &in->out);
		resume_pipe(m, &in->err);
	}
}

static int
watch(struct mgr *m, struct inst *in, struct pipe_in *p, int fd)
{
	p->inst = in;
	p->fd = fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (linebuf_init(&p->lb, LINE_MAX_DYNO) == -1)
		return -1;
	if (m->output_paused) {
		p->paused = 1;
		return 0;
	}
	return evloop_add_fd(m->ev, fd, EPOLLIN, on_output, p);
}

static const char *
network(const struct mgr *m, char *buf, size_t size)
{
	if (m->app.space[0] != '\0')
		snprintf(buf, size, "space:%s", m->app.space);
	else
		snprintf(buf, size, "%s", m->conf->network);
	return buf;
}

/* The image folder of TYPE in the current release (its images/TYPE). */
static int
image_of(struct mgr *m, const char *type, char *dir, size_t len)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s/images/%s", m->app.reldir,
	    type) == -1)
		return -1;
	return imageref_dir(m->conf->root, path, dir, len);
}

/* dyno-run's argv, built before the vfork: the child only execs it. */
struct runargs {
	char	 port[16], grace[32], net[80], img[PATH_MAX];
	char	*av[24];
};

static void
dynorun_argv(struct mgr *m, struct dyno *d, struct inst *in,
    struct runargs *a)
{
	const struct procfile_entry *e = procfile_find(&m->app.pf, d->type);
	const struct ftype *t = formation_find(&m->f, d->type);
	const char *size = t && t->size[0] ? t->size : m->app.size;
	size_t n = 0;

	snprintf(a->port, sizeof(a->port), "%u", in->port);
	snprintf(a->grace, sizeof(a->grace), "%llu",
	    (unsigned long long)(m->conf->grace_ms + 999) / 1000);
	network(m, a->net, sizeof(a->net));
	a->av[n++] = "dyno-run";
	a->av[n++] = "--app";
	a->av[n++] = m->app.name;
	a->av[n++] = "--name";
	a->av[n++] = d->name;
	a->av[n++] = "--release";
	a->av[n++] = m->app.reldir;
	a->av[n++] = "--size";
	a->av[n++] = (char *)size;
	a->av[n++] = "--net";
	a->av[n++] = a->net;
	a->av[n++] = "--grace";
	a->av[n++] = a->grace;
	a->av[n++] = "--info-file";
	a->av[n++] = in->info;
	if (in->port) {
		a->av[n++] = "--port";
		a->av[n++] = a->port;
	}
	/* A type released from an image runs on it (dyno-image(1)). */
	if (image_of(m, d->type, a->img, sizeof(a->img)) == 0) {
		a->av[n++] = "--image";
		a->av[n++] = a->img;
	}
	a->av[n++] = "--";
	a->av[n++] = e ? (char *)e->command : "false";
	a->av[n] = NULL;
}

/*
 * The vfork child: stdout and stderr are the pipes (the only fds that
 * cross exec), then dyno-run does the isolation.  It shares our memory
 * until the exec: system calls only, no allocation, no stdio.
 */
static noreturn void
exec_dynorun(const char *path, char *const av[], int out, int err)
{
	static const char prog[] = "dyno-manager: ";
	const char *why;

	evloop_child_sigreset();
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(err, STDERR_FILENO) == -1)
		_exit(EXIT_OSERR);
	/* No stdin: a formation dyno has no terminal. */
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);
	/* Nothing else the manager inherited reaches the dyno. */
	close_range(3, ~0U, 0);
	execv(path, av);
	/* strerrordesc_np: no locale, no allocation, as strerror may. */
	if ((why = strerrordesc_np(errno)) == NULL)
		why = "cannot execute";
	(void)!write(STDERR_FILENO, prog, sizeof(prog) - 1);
	(void)!write(STDERR_FILENO, path, strlen(path));
	(void)!write(STDERR_FILENO, ": ", 2);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(EXIT_CANTRUN);
}

/*
 * vfork: no copy of the manager's page tables per dyno (a fork held the
 * loop ~30 ms a start under a 100-dyno scale-up).  Its own frame, so no
 * variable of the caller lives across it.
 */
static pid_t
spawn_dynorun(const char *path, char *const av[], int out, int err)
{
	pid_t pid;

	if ((pid = vfork()) == 0)
		exec_dynorun(path, av, out, err);
	return pid;
}

static struct inst *
inst_spawn(struct mgr *m, struct dyno *d)
{
	struct inst *in;
	struct runargs a;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->m = m;
	in->dyno = d;
	snprintf(in->name, sizeof(in->name), "%s", d->name);
	snprintf(in->release, sizeof(in->release), "%s", m->app.version);
	if (strcmp(d->type, "web") == 0 && (in->port = pick_port()) == 0)
		goto fail;
	state_pathf(in->info, sizeof(in->info), "%s/info/%s.%u", m->app.rundir,
	    d->name, ++m->seq);
	unlink(in->info);
	dynorun_argv(m, d, in, &a);
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    (in->pid = spawn_dynorun(m->dynorun, a.av, out[1], err[1])) == -1)
		goto fail;
	in->spawned_ms = evloop_now_ms();
	close(out[1]);
	close(err[1]);
	in->out.fd = in->err.fd = -1;
	if (watch(m, in, &in->out, out[0]) == -1 ||
	    watch(m, in, &in->err, err[0]) == -1)
		diag_warn_errno("%s: watching output", d->name);
	in->next = m->insts;
	m->insts = in;
	return in;
fail:
	diag_warn_errno("%s: cannot start dyno-run", d->name);
	for (int i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	free(in);
	return NULL;
}

static void
cancel(struct mgr *m, struct evtimer **t)
{
	if (*t != NULL) {
		evloop_timer_cancel(m->ev, *t);
		*t = NULL;
	}
}

/* Is the web process listening on its PORT? */
static int
port_open(const struct inst *in)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd pfd;
	int s, ok = 0, err = 0;
	socklen_t len = sizeof(err);

	if (inet_pton(AF_INET, in->addr, &sa.sin_addr) != 1)
		return 0;
	sa.sin_port = htons((unsigned short)in->port);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return 0;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		ok = 1;
	else if (errno == EINPROGRESS) {
		pfd.fd = s;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 50) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR,
		    &err, &len) == 0 && err == 0)
			ok = 1;
	}
	close(s);
	return ok;
}

static void retire_old(struct mgr *, struct dyno *);

/* Probe a starting instance until READY is taken, every PROBE_MS. */
static void
on_probe(struct evloop *ev, void *arg)
{
	struct dyno *d = arg;
	struct inst *in = d->cur;

	d->probe = NULL;
	if (in == NULL || dlife_next(d->state, EV_READY)->act == ACT_IGNORE)
		return;
	if (!in->info_seen && read_info(in))
		mgr_start_waiting(in->m);
	/* Web dynos are up once PORT accepts; others once they started. */
	if (in->info_seen && (in->port == 0 || port_open(in)))
		dyno_event(in->m, d, EV_READY);
	else
		d->probe = evloop_timer(ev, PROBE_MS, on_probe, d);
}

static void
on_boot_timeout(struct evloop *ev, void *arg)
{
	struct dyno *d = arg;

	(void)ev;
	d->boot = NULL;
	if (d->cur != NULL)
		dyno_event(d->m, d, EV_BOOT_TIMEOUT);
}

static void
on_restart_timer(struct evloop *ev, void *arg)
{
	struct dyno *d = arg;

	(void)ev;
	d->restart = NULL;
	if (!d->m->stopping)
		dyno_event(d->m, d, EV_COOLOFF_OVER);
}

/*
 * Instances still in dyno-run's isolation setup (no info file yet).  One
 * that has taken longer than SETUP_HOLD_MS no longer counts: a setup
 * stuck somewhere never holds the rest of the formation back.
 */
static unsigned
setups_running(const struct mgr *m)
{
	const struct inst *in;
	uint64_t now = evloop_now_ms();
	unsigned n = 0;

	for (in = m->insts; in != NULL; in = in->next)
		if (in->dyno != NULL && !in->info_seen && !in->retiring &&
		    now - in->spawned_ms < SETUP_HOLD_MS)
			n++;
	return n;
}

/* ACT_START: a new instance; the outcome is the next event. */
static void
start(struct mgr *m, struct dyno *d)
{
	struct inst *in;

	cancel(m, &d->restart);
	d->norestart = 0;
	d->stopped = NULL;
	/*
	 * Setups beyond the limit wait their turn (start_waiting): a hundred
	 * at once only queue on the spaces lock and the CPUs, each holder
	 * preempted by the others (see dyno.conf(5) start_parallel).
	 */
	if (setups_running(m) >= m->start_limit) {
		d->waiting = 1;
		return;
	}
	d->waiting = 0;
	if ((in = inst_spawn(m, d)) == NULL) {
		dyno_event(m, d, EV_SPAWN_FAILED);
		return;
	}
	d->cur = in;
	d->started = time(NULL);
	dyno_event(m, d, EV_SPAWNED);
}

/* ACT_STARTED: probe it; a web dyno has boot_timeout to bind PORT. */
static void
started(struct mgr *m, struct dyno *d, enum dstate to)
{
	dyno_set_state(m, d, to);
	d->probe = evloop_timer(m->ev, PROBE_MS, on_probe, d);
	if (d->cur->port)
		d->boot = evloop_timer(m->ev, m->conf->boot_timeout_ms,
		    on_boot_timeout, d);
}

static void
went_up(struct mgr *m, struct dyno *d, enum dstate to)
{
	cancel(m, &d->boot);
	d->up_since = evloop_now_ms();
	dyno_set_state(m, d, to);
	retire_old(m, d);
}

static void
boot_timeout(struct mgr *m, struct dyno *d)
{
	mgr_logf(m, d->name, "Error R10 (Boot timeout) -> Web process failed "
	    "to bind to $PORT within %llu seconds of launch",
	    (unsigned long long)m->conf->boot_timeout_ms / 1000);
	mgr_logf(m, d->name, "Stopping process with SIGKILL");
	inst_hardkill(m, d->cur);
}

static void
on_kill_timer(struct evloop *ev, void *arg)
{
	struct inst *in = arg;

	(void)ev;
	in->kill_timer = NULL;
	inst_hardkill(in->m, in);
}

/* Ask dyno-run to stop the dyno: it sends SIGTERM to every process in it,
 * waits the grace period, then SIGKILLs (and logs R12). */
static void
inst_retire(struct mgr *m, struct inst *in)
{
	in->retiring = 1;
	in->dyno = NULL;
	if (kill(in->pid, SIGTERM) == -1 && errno != ESRCH)
		diag_warn_errno("%s: kill", in->name);
	if (in->kill_timer == NULL)
		in->kill_timer = evloop_timer(m->ev, m->conf->grace_ms +
		    KILL_SLACK_MS, on_kill_timer, in);
}

/* The preboot predecessor, once its replacement is up (or crashed). */
static void
retire_old(struct mgr *m, struct dyno *d)
{
	if (d->old == NULL)
		return;
	inst_retire(m, d->old);
	d->old = NULL;
	mgr_write_routes(m);
}

/*
 * ACT_RESTART and ACT_PREBOOT.  Preboot keeps an up web dyno serving until
 * its replacement is up; otherwise the replacement starts as soon as its
 * predecessor has been signalled (heroku.md 1.4, 1.7).
 */
static void
restart(struct mgr *m, struct dyno *d, const struct dtrans *t)
{
	struct inst *old = d->cur;

	cancel(m, &d->probe);
	cancel(m, &d->boot);
	d->crashes = 0;
	d->cur = NULL;
	retire_old(m, d);
	/*
	 * Heroku's order: Restarting, the state change, then the SIGTERM.  A
	 * preboot stays up (and routed) until its replacement is spawned.
	 */
	if (t->act == ACT_RESTART)
		dyno_set_state(m, d, t->to);
	if (old != NULL && t->act == ACT_PREBOOT && old->port) {
		d->old = old;
		old->dyno = NULL;
	} else if (old != NULL)
		inst_retire(m, old);
	start(m, d);
}

/* The instance is let go first: a down dyno's files say none runs. */
static void
stop(struct mgr *m, struct dyno *d, enum dstate to)
{
	struct inst *in = d->cur;

	d->waiting = 0;
	d->cur = NULL;
	retire_old(m, d);
	cancel(m, &d->probe);
	cancel(m, &d->boot);
	cancel(m, &d->restart);
	dyno_set_state(m, d, to);
	if (in != NULL)
		inst_retire(m, in);
}

/*
 * ACT_CRASH.  Any exit the manager did not ask for is a crash, status 0
 * included (heroku.md 1.5).  Statuses 64, 65 and 78 say the input or
 * configuration is wrong: restarting cannot help, so the dyno stays
 * crashed until the next release, restart or scale.
 */
static void
crashed(struct mgr *m, struct dyno *d, enum dstate to)
{
	int code = d->exit_code;
	uint64_t delay;

	cancel(m, &d->probe);
	cancel(m, &d->boot);
	d->crashes = dlife_crashes(d->crashes, d->up_since != 0,
	    evloop_now_ms() - d->up_since, m->conf->crash_reset_ms);
	d->up_since = 0;
	d->cur = NULL;
	retire_old(m, d);
	dyno_set_state(m, d, to);
	if (m->stopping)
		return;
	if (code == EXIT_USAGE || code == EXIT_DATAERR || code == EXIT_CONFIG) {
		diag_warn("%s: exited with status %d (bad input or configuration): "
		    "not restarting it", d->name, code);
		d->norestart = 1;
		return;
	}
	if ((delay = dlife_cooloff_ms(m->conf->backoff_ms, m->conf->nbackoff,
	    d->crashes, random())) == 0)
		start(m, d);
	else
		d->restart = evloop_timer(m->ev, delay, on_restart_timer, d);
}

void
dyno_event(struct mgr *m, struct dyno *d, enum devent ev)
{
	const struct dtrans *t = dlife_next(d->state, ev);

	switch (t->act) {
	case ACT_IGNORE:
		break;
	case ACT_SET:
		dyno_set_state(m, d, t->to);
		break;
	case ACT_START_HELD:
		if (d->restart != NULL || !d->norestart)
			break;
		/* FALLTHROUGH */
	case ACT_START:
		start(m, d);
		break;
	case ACT_STARTED:
		started(m, d, t->to);
		break;
	case ACT_UP:
		went_up(m, d, t->to);
		break;
	case ACT_HARDKILL:
		boot_timeout(m, d);
		break;
	case ACT_CRASH:
		crashed(m, d, t->to);
		break;
	case ACT_RESTART:
	case ACT_PREBOOT:
		restart(m, d, t);
		break;
	case ACT_STOP:
		stop(m, d, t->to);
		break;
	}
}

void
dyno_restart(struct mgr *m, struct dyno *d, const char *why, int preboot)
{
	mgr_logf(m, d->name, "%s", why);
	dyno_event(m, d, preboot ? EV_PREBOOT : EV_RESTART);
}

/* The dynos waiting for a setup slot, in formation order, while slots are free. */
void
mgr_start_waiting(struct mgr *m)
{
	struct dyno *d;

	if (m->pumping || m->stopping)
		return;
	m->pumping = 1;
	for (d = m->dynos; d != NULL; d = d->next)
		if (d->waiting) {
			if (setups_running(m) >= m->start_limit)
				break;
			start(m, d);
		}
	m->pumping = 0;
}

/*
 * dyno-run renames its info file into place once the dyno is set up:
 * that instance's setup slot is free, and a worker is up, at once rather
 * than at the next probe.
 */
static void
on_info(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct mgr *m = arg;
	struct dyno *d;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	for (d = m->dynos; d != NULL; d = d->next)
		if (d->cur != NULL && !d->cur->info_seen && read_info(d->cur) &&
		    d->probe != NULL) {
			cancel(m, &d->probe);
			on_probe(ev, d);
		}
	mgr_start_waiting(m);
}

int
mgr_watch_info(struct mgr *m)
{
	char path[PATH_MAX];

	m->infowatch = -1;
	if (state_pathf(path, sizeof(path), "%s/info", m->app.rundir) == -1 ||
	    (m->infowatch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return -1;
	if (inotify_add_watch(m->infowatch, path, IN_MOVED_TO) == -1 ||
	    evloop_add_fd(m->ev, m->infowatch, EPOLLIN, on_info, m) == -1) {
		close(m->infowatch);
		m->infowatch = -1;
		return -1;
	}
	return 0;
}

struct inst *
inst_find(struct mgr *m, pid_t pid)
{
	struct inst *in;

	for (in = m->insts; in != NULL; in = in->next)
		if (in->pid == pid)
			return in;
	return NULL;
}

void
inst_hardkill(struct mgr *m, struct inst *in)
{
	if (in == NULL)
		return;
	in->hardkilled = 1;
	mgr_cgroup_kill_inst(m, in);
	kill(in->pid, SIGKILL);
}

/*
 * Whatever is still in a pipe is logged before it closes; a grandchild
 * that kept the pipe open does not keep it (or its buffer) alive.
 */
static void
close_pipe(struct mgr *m, struct pipe_in *p)
{
	const char *line;
	size_t len;
	int i, more = 1;

	if (p->fd == -1)
		return;
	/*
	 * Every line the dyno wrote before it ended (a pipe holds 64 KiB),
	 * but no more than 16 reads from a grandchild still writing.
	 */
	for (i = 0; i < 16 && more; i++) {
		errno = 0;
		if ((more = linebuf_pump(&p->lb, p->fd, log_line, p->inst)) &&
		    errno == EAGAIN)
			break;
	}
	if (more)
		while (linebuf_rest(&p->lb, &line, &len))
			log_line(p->inst, line, len);
	end_pipe(m, p);
}

static void
inst_free(struct mgr *m, struct inst *in)
{
	struct inst **pp;

	for (pp = &m->insts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			break;
		}
	cancel(m, &in->kill_timer);
	close_pipe(m, &in->out);
	close_pipe(m, &in->err);
	unlink(in->info);
	free(in);
}

void
inst_reaped(struct mgr *m, struct inst *in, int wstatus)
{
	struct dyno *d = in->dyno, *o;
	int code = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) :
	    WEXITSTATUS(wstatus);

	/* A preboot predecessor that died while still serving. */
	for (o = m->dynos; o != NULL; o = o->next)
		if (o->old == in) {
			o->old = NULL;
			mgr_write_routes(m);
		}

	/* dyno-run logs its own exit; when it was SIGKILLed, we do, and
	 * have what it had no chance to undo undone. */
	if (in->hardkilled || WIFSIGNALED(wstatus)) {
		mgr_logf(m, in->name, "Process exited with status %d", code);
		mgr_cgroup_reclaim(m);
	}
	inst_free(m, in);
	if (d != NULL && d->cur == in) {
		d->exit_code = code;
		dyno_event(m, d, EV_EXITED);
	}
	mgr_start_waiting(m);
}
