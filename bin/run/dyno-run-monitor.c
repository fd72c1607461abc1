/* SPDX-License-Identifier: ISC */
/* dyno-run: start the dyno in its namespaces and cgroup, watch it, stop it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-run.h"
#include "evloop.h"
#include "logclient.h"
#include "state.h"

#define MEM_CHECK_MS	1000	/* how often the memory counters are read */
#define R14_EVERY_MS	20000	/* heroku.md 1.9: about every 20 s */
#define MB		(1024ULL * 1024)
#define DNS_EVERY_MS	1000	/* a space's names, copied at most this often */

/* The one dyno this process watches. */
struct mon {
	struct dyno		*d;
	const struct conf	*c;
	const char		*info_file;
	struct logclient	*lc;
	struct evloop		*ev;
	struct cg		 cg;
	pid_t			 init;
	int			 statusfd;	/* setup result from the dyno */
	int			 ptm;		/* pty master, or -1 */
	int			 setup_code;	/* non-zero: setup failed */
	int			 stopping, r15, status;
	int			 cpu;		/* ours when the init was born */
	cpu_set_t		 cpus;		/* the init's CPUs after setup */
	uint64_t		 last_r14;
	char			 record[PATH_MAX];	/* see reclaim_note */
	char			 spacehosts[PATH_MAX];	/* the space's names */
	int			 dnswatch;		/* inotify on them, or -1 */
	uint64_t		 dns_last;		/* evloop ms of the last copy */
	struct evtimer		*dns_timer;		/* the next copy, or NULL */
	int			 dns_quiet;		/* dnswatch unpolled until it */
};

/*
 * The go message: sent once the cgroup and the network are ready, with
 * the fds of the network namespace (--net=none) and of the slug's id
 * mapping, when there are such, as SCM_RIGHTS.
 */
struct go {
	char		addr[64];
	struct winsize	ws;		/* our terminal's size, for its pty */
	int		has_netns, has_userns;
	int		has_dns;	/* a private space: d->spacedns made */
};

/* What the dyno gets with the go: fds received, or -1. */
struct gofds {
	int		netns, userns;
};

static void
hlog(struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
hlog(struct mon *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logclient_vsendf(m->lc, m->d->app, "heroku", m->d->name, fmt, ap);
	va_end(ap);
}

static void
log_mem(struct mon *m, uint64_t bytes)
{
	hlog(m, "Process running mem=%lluM(%.1f%%)",
	    (unsigned long long)((bytes + MB / 2) / MB),
	    100.0 * (double)bytes / (double)m->d->size.memory);
}

static void
kill_all(struct mon *m)
{
	/* SIGKILL to a pid namespace's init takes every process with it. */
	kill(m->init, SIGKILL);
	cg_kill(&m->cg);
}

static void
r15(struct mon *m)
{
	m->r15 = 1;
	log_mem(m, cg_mem_peak(&m->cg));
	hlog(m, "Error R15 (Memory quota vastly exceeded)");
	hlog(m, "Stopping process with SIGKILL");
	kill_all(m);
}

static void
mem_check(struct evloop *ev, void *arg)
{
	struct mon *m = arg;
	uint64_t cur, now = evloop_now_ms();

	if (!m->r15 && cg_oom_happened(&m->cg, m->d->size.memory_max)) {
		r15(m);
		return;
	}
	cur = cg_mem_current(&m->cg);
	if (!m->r15 && cur > m->d->size.memory &&
	    (m->last_r14 == 0 || now - m->last_r14 >= R14_EVERY_MS)) {
		m->last_r14 = now;
		log_mem(m, cur);
		hlog(m, "Error R14 (Memory quota exceeded)");
	}
	if (evloop_timer(ev, MEM_CHECK_MS, mem_check, m) == NULL)
		diag_warn("memory checks stopped: out of memory");
}

static void
grace_over(struct evloop *ev, void *arg)
{
	struct mon *m = arg;

	(void)ev;
	hlog(m, "Error R12 (Exit timeout) -> At least one process failed to "
	    "exit within %llu seconds of SIGTERM",
	    (unsigned long long)(m->d->grace_ms / 1000));
	hlog(m, "Stopping remaining processes with SIGKILL");
	kill_all(m);
}

static void
on_signal(struct evloop *ev, int signo, void *arg)
{
	struct mon *m = arg;
	pid_t p;

	switch (signo) {
	case SIGCHLD:
		if ((p = waitpid(m->init, &m->status, WNOHANG)) == m->init) {
			m->init = -1;
			evloop_stop(ev);
		}
		return;
	case SIGTERM:
		if (m->stopping++)
			return;
		hlog(m, "Stopping all processes with SIGTERM");
		kill(m->init, SIGTERM);
		if (evloop_timer(ev, m->d->grace_ms, grace_over, m) == NULL)
			kill_all(m);
		return;
	case SIGWINCH:
		if (m->ptm != -1)
			tty_copy_winsize(STDIN_FILENO, m->ptm);
		return;
	default:
		kill(m->init, signo);
	}
}

static void
write_info(struct mon *m)
{
	char text[PATH_MAX + 256];
	int n;

	if (m->info_file == NULL)
		return;
	n = snprintf(text, sizeof(text), "pid=%ld\ninit=%ld\ncgroup=%s\n"
	    "addr=%s\nid=%s\n", (long)getpid(), (long)m->init, cg_path(&m->cg),
	    m->d->addr, m->d->hostname);
	if (state_replace(m->info_file, text, (size_t)n, 0644, 0) == -1)
		diag_warn_errno("%s", m->info_file);
}

/* 4 bytes: setup failed with that exit code; EOF: the command runs. */
static void
read_status(struct mon *m)
{
	ssize_t n;
	int code;

	if (m->statusfd == -1)
		return;
	while ((n = read(m->statusfd, &code, sizeof(code))) == -1 &&
	    errno == EINTR)
		;
	if (n == sizeof(code))
		m->setup_code = code;
	else {
		write_info(m);
		if (m->d->oneoff) {
			oneoff_update(m->d, "up", m->init, cg_path(&m->cg));
			hlog(m, "State changed from starting to up");
		}
	}
	evloop_del_fd(m->ev, m->statusfd);
	close(m->statusfd);
	m->statusfd = -1;
}

static void
on_status(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	(void)ev;
	(void)fd;
	(void)events;
	read_status(arg);
}

static void
on_pty(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct mon *m = arg;
	char buf[8192];
	ssize_t n;

	(void)events;
	if ((n = read(fd, buf, sizeof(buf))) > 0) {
		(void)!write(fd == m->ptm ? STDOUT_FILENO : m->ptm, buf,
		    (size_t)n);
		return;
	}
	if (n == -1 && errno == EAGAIN)
		return;
	evloop_del_fd(ev, fd);
}

/* Keep only the fds the dyno needs; everything else of ours closes. */
static void
close_others(int a, int b, int c, int e)
{
	int keep[4] = { a, b, c, e }, i, j, t, lo = 3;

	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (i = 0; i < 4; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static int
space_env(struct dyno *d, const char *addr)
{
	char v[256];
	const char *type_end = strchr(d->name, '.');
	int tl = (int)(type_end - d->name);

	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	if (!d->private_space)
		return 0;
	if (env_set(&d->env, "HEROKU_PRIVATE_IP", addr) == -1)
		return -1;
	snprintf(v, sizeof(v), "%.*s.%s.app.localspace", tl, d->name, d->app);
	if (env_set(&d->env, "HEROKU_DNS_FORMATION_NAME", v) == -1)
		return -1;
	snprintf(v, sizeof(v), "%s.%.*s.%s.app.localspace", type_end + 1, tl,
	    d->name, d->app);
	if (env_set(&d->env, "HEROKU_DNS_DYNO_NAME", v) == -1)
		return -1;
	snprintf(v, sizeof(v), "%s.app.localspace", d->app);
	return env_set(&d->env, "HEROKU_DNS_APP_NAME", v);
}

static noreturn void
child_failed(int statusfd, const char *what)
{
	int code = EXIT_OSERR;

	diag_error_errno("%s", what);
	(void)!write(statusfd, &code, sizeof(code));
	_exit(code);
}

/*
 * The user namespace, last of the setup: the root, the mounts and the
 * hostname are made with the host's root, then the init moves into a user
 * namespace of its own, which owns none of the dyno's other namespaces, so
 * even its root there has no power over them nor over anything of the
 * host.  The monitor writes the id maps (an unprivileged process could map
 * only itself) while we wait on syncfd.  Rlimits first: raising them needs
 * CAP_SYS_RESOURCE in the host's namespace.
 *
 * The namespace is made as the dyno user's host id, not as root: the
 * kernel charges what every process in it holds of the per-user limits
 * (inotify instances and watches, queued signals, mqueue bytes, processes)
 * to its owner too.  Owned by root, every app's dynos and the host's own
 * root would share one count; owned by the app's own id, each tenant
 * has its own.  Changing ids clears the parent-death signal: set again.
 */
static void
enter_userns(const struct dyno *d, int syncfd, int nsfd, int statusfd)
{
	char err[512], c;
	uid_t u = host_uid(d);
	gid_t g = host_gid(d);

	if (secure_rlimits(err, sizeof(err)) == -1) {
		errno = EPERM;
		child_failed(statusfd, err);
	}
	if (setgroups(0, NULL) == -1 || setresgid(g, g, g) == -1 ||
	    setresuid(u, u, u) == -1)
		child_failed(statusfd, "become the app's host id");
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (unshare(CLONE_NEWUSER) == -1)
		child_failed(statusfd, "unshare user namespace");
	if (write(nsfd, "u", 1) != 1 || read(syncfd, &c, 1) != 1)
		_exit(EXIT_SOFTWARE);
	close(nsfd);
}

/* Receive the go and the fds that come with it. */
static int
recv_go(int sock, struct go *go, struct gofds *f)
{
	int fds[2], n, i = 0;

	f->netns = f->userns = -1;
	if ((n = fdpass_recv(sock, go, sizeof(*go), fds, 2)) == -1)
		return -1;
	if (n != !!go->has_netns + !!go->has_userns) {
		while (n > 0)
			close(fds[--n]);
		return -1;
	}
	if (go->has_netns)
		f->netns = fds[i++];
	if (go->has_userns)
		f->userns = fds[i++];
	go->addr[sizeof(go->addr) - 1] = '\0';
	return 0;
}

/*
 * A fresh child runs first, on its parent's CPU, so the monitor would wait
 * for the init's setup to block before doing its own half.  Both halves
 * are independent: for the setup, the init moves to another CPU it may
 * use, and takes all of them back before anything of the dyno runs.
 */
static void
spread_setup(struct mon *m)
{
	cpu_set_t one;
	int i, here = sched_getcpu();

	if (sched_getaffinity(0, sizeof(m->cpus), &m->cpus) == -1 ||
	    CPU_COUNT(&m->cpus) < 2 || m->cpu < 0) {
		CPU_ZERO(&m->cpus);
		return;
	}
	if (here != m->cpu)
		return;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &m->cpus) && i != m->cpu)
			break;
	CPU_ZERO(&one);
	CPU_SET(i, &one);
	(void)sched_setaffinity(0, sizeof(one), &one);
}

static void
unspread(struct mon *m)
{
	if (CPU_COUNT(&m->cpus) > 0)
		(void)sched_setaffinity(0, sizeof(m->cpus), &m->cpus);
}

/*
 * The init's signals: default actions, but all blocked until its loop
 * takes them (init_main).  The kernel drops a signal sent to a PID
 * namespace's init that has the default action and does not block it:
 * unblocked here, a SIGTERM sent during the setup (the manager stopping
 * a dyno it has just started) was lost, and the dyno ran its whole grace
 * period beside its replacement.
 */
static void
child_sigreset(void)
{
	sigset_t all;
	int s;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (s = 1; s < _NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

/*
 * The future PID 1.  It builds most of its root while the monitor makes
 * its cgroup (v1), network namespace and slug mapping, then waits for the
 * go, joins them and becomes the dyno's init.
 */
static noreturn void
child(struct mon *m, int syncfd, int statusfd, int nsfd, int moved)
{
	struct gofds f;
	char err[512];
	struct go go;

	spread_setup(m);
	child_sigreset();
	/* If dyno-run dies, its dyno dies with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	close_others(syncfd, statusfd, m->d->ttysock[1], nsfd);
	/* A space dyno waits first: its /etc/hosts needs the address. */
	if (m->d->net != NET_SPACE)
		init_prepare(m->d, statusfd);
	if (recv_go(syncfd, &go, &f) == -1)
		_exit(EXIT_SOFTWARE);
	if (!go.has_dns)
		m->d->spacedns[0] = '\0';
	/*
	 * Into the cgroup before anything of the dyno's own runs.  What the
	 * setup above allocated (a few mounts) stays charged to us.
	 */
	if (!moved && cg_join(&m->cg, m->d->net != NET_SPACE ? HOST_ROOT :
	    "", err, sizeof(err)) == -1) {
		errno = EPERM;
		child_failed(statusfd, err);
	}
	if (f.netns != -1 && setns(f.netns, CLONE_NEWNET) == -1)
		child_failed(statusfd, "join the network namespace");
	/* Now inside its cgroup: make that the root of what it can see. */
	if (unshare(CLONE_NEWCGROUP) == -1)
		child_failed(statusfd, "unshare cgroup namespace");
	if (m->d->net == NET_SPACE) {
		if (space_env(m->d, go.addr) == -1)
			_exit(EXIT_OSERR);
		init_prepare(m->d, statusfd);
	}
	init_finish(m->d, f.userns, statusfd);
	if (f.netns != -1)
		close(f.netns);
	if (f.userns != -1)
		close(f.userns);
	if (m->d->tty) {
		if (tty_dyno_pty(m->d, &go.ws, m->d->ttysock[1],
		    &m->d->ttyslave, err, sizeof(err)) == -1) {
			errno = EIO;
			child_failed(statusfd, err);
		}
		close(m->d->ttysock[1]);
	}
	if (m->d->userns)
		enter_userns(m->d, syncfd, nsfd, statusfd);
	close(syncfd);
	unspread(m);
	/* PID 1 does not share our process group: ^C is ours to forward. */
	setsid();
	init_main(m->d, statusfd);
}

/* clone3 straight into the cgroup on v2; clone (then a move) on v1. */
static pid_t
spawn(struct mon *m, int flags, int *moved)
{
	struct clone_args ca;
	pid_t pid;

	*moved = 0;
	if (m->cg.v2 && m->cg.v2fd != -1) {
		memset(&ca, 0, sizeof(ca));
		ca.flags = (uint64_t)flags | CLONE_INTO_CGROUP;
		ca.exit_signal = SIGCHLD;
		ca.cgroup = (uint64_t)m->cg.v2fd;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid != -1 || (errno != ENOSYS && errno != E2BIG)) {
			*moved = 1;
			return pid;
		}
	}
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL,
	    NULL);
}

/*
 * Once the init has its user namespace, map the dyno's ids 0..idsize-1
 * onto the app's range of host ids, then let it go on.  EOF: its setup
 * failed; the status pipe says how.
 */
static int
map_userns(struct mon *m, int nsfd, int syncfd)
{
	const struct dyno *d = m->d;
	char c;

	if (read(nsfd, &c, 1) != 1)
		return 0;
	if (fs_write_idmap(m->init, "uid_map", 0, d->idbase, d->idsize) ==
	    -1 || fs_write_idmap(m->init, "gid_map", 0, d->idbase,
	    d->idsize) == -1 ||
	    write(syncfd, "m", 1) != 1)
		return -1;
	return 0;
}

static noreturn void abort_start(struct mon *, int, const char *,
    const char *);
static void dns_end(struct mon *);

/*
 * The dyno's pty master, from its init: relay it to our terminal.  None
 * (EOF): the setup failed before, and the status pipe says why.
 */
static void
relay_pty(struct mon *m)
{
	m->ptm = tty_recv_master(m->d->ttysock[0]);
	close(m->d->ttysock[0]);
	m->d->ttysock[0] = -1;
	if (m->ptm == -1)
		return;
	if (evloop_add_fd(m->ev, m->ptm, EPOLLIN, on_pty, m) == -1 ||
	    evloop_add_fd(m->ev, STDIN_FILENO, EPOLLIN, on_pty, m) == -1)
		abort_start(m, EXIT_OSERR, "epoll: ", strerror(errno));
}

static noreturn void
abort_start(struct mon *m, int code, const char *what, const char *why)
{
	if (m->init > 0) {
		kill(m->init, SIGKILL);
		waitpid(m->init, NULL, 0);
	}
	cg_remove(&m->cg);
	oneoff_release(m->d);
	dns_end(m);
	if (m->record[0] != '\0')
		(void)unlink(m->record);
	tty_restore();
	diag_die(code, "%s%s", what, why);
}

/* The go, with the fds the dyno joins; ours close once sent. */
static int
send_go(int sock, const struct go *go, int netns, int userns)
{
	int fds[2], n = 0;

	if (netns != -1)
		fds[n++] = netns;
	if (userns != -1)
		fds[n++] = userns;
	return fdpass_send(sock, go, sizeof(*go), fds, n);
}

/*
 * A private space's dyno: its hosts file is the space's (every dyno's
 * names, rewritten by space-net as dynos come and go) plus its own
 * hostname, which space-net does not know.  Rewritten whenever the
 * space's changes; the dyno sees the folder, so each rename shows.
 */
static void
dns_refresh(struct mon *m)
{
	char path[PATH_MAX], own[512], *space = NULL, *text;
	size_t slen = 0, olen;

	if (state_pathf(path, sizeof(path), "%s/hosts", m->d->spacedns) == -1 ||
	    state_read(m->spacehosts, 4 << 20, &space, &slen) == -1 ||
	    (olen = fs_hosts_text(m->d, own, sizeof(own))) == 0 ||
	    (text = malloc(slen + olen)) == NULL) {
		free(space);
		return;
	}
	memcpy(text, space, slen);
	memcpy(text + slen, own, olen);
	if (state_replace(path, text, slen + olen, 0644, 0) == -1)
		diag_warn_errno("%s", path);
	free(text);
	free(space);
}

static void on_dns(struct evloop *, int, uint32_t, void *);

/*
 * The copy.  A watch that was quiet until now is polled again first, its
 * queued events dropped: a change after that wakes us, one before it is
 * in this copy.
 */
static void
dns_due(struct evloop *ev, void *arg)
{
	struct mon *m = arg;
	char buf[4096];

	m->dns_timer = NULL;
	m->dns_last = evloop_now_ms();
	if (m->dns_quiet) {
		while (read(m->dnswatch, buf, sizeof(buf)) > 0)
			;
		if (evloop_add_fd(ev, m->dnswatch, EPOLLIN, on_dns, m) == 0)
			m->dns_quiet = 0;
	}
	dns_refresh(m);
}

/*
 * The space's names changed: copied at once, or, within DNS_EVERY_MS of
 * the last copy, once that much time has passed.  A scale-up of N dynos
 * rewrites the space's file N times, and each of its N dynos copied every
 * one of them (N^2 copies: 100 dynos in a private space took 2.7 times
 * the CPU of the common space's).
 */
static void
on_dns(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct mon *m = arg;
	char buf[4096];
	uint64_t now = evloop_now_ms();

	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (m->dns_timer != NULL)
		return;
	if (now - m->dns_last >= DNS_EVERY_MS)
		dns_due(ev, m);
	else if ((m->dns_timer = evloop_timer(ev, DNS_EVERY_MS -
	    (now - m->dns_last), dns_due, m)) == NULL)
		dns_due(ev, m);
	/*
	 * Until the copy the watch is not polled: a scale-up's N rewrites
	 * woke each of its N monitors N times to learn nothing new.
	 */
	else if (evloop_del_fd(ev, fd) == 0)
		m->dns_quiet = 1;
}

/* 1 when the space is private (space-net keeps its names), else 0. */
static int
dns_start(struct mon *m)
{
	char dir[PATH_MAX];

	if (m->d->spacedns[0] == '\0' || access(m->spacehosts, F_OK) == -1 ||
	    state_mkdirs(m->d->spacedns, 0755) == -1)
		return 0;
	dns_refresh(m);
	snprintf(dir, sizeof(dir), "%s", m->spacehosts);
	*strrchr(dir, '/') = '\0';
	/* Without a watch the dyno keeps the names it started with. */
	if ((m->dnswatch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(m->dnswatch, dir, IN_MOVED_TO | IN_CLOSE_WRITE)
	    == -1 || evloop_add_fd(m->ev, m->dnswatch, EPOLLIN, on_dns, m) ==
	    -1)
		diag_warn_errno("watch %s", dir);
	return 1;
}

static void
dns_end(struct mon *m)
{
	char path[PATH_MAX];

	if (m->dns_timer != NULL) {
		evloop_timer_cancel(m->ev, m->dns_timer);
		m->dns_timer = NULL;
	}
	if (m->dnswatch != -1) {
		if (!m->dns_quiet)
			evloop_del_fd(m->ev, m->dnswatch);
		close(m->dnswatch);
		m->dnswatch = -1;
	}
	if (m->d->spacedns[0] != '\0' && state_pathf(path, sizeof(path),
	    "%s/hosts", m->d->spacedns) == 0) {
		(void)unlink(path);
		(void)rmdir(m->d->spacedns);
	}
}

/*
 * While the dyno builds its root, on the other CPU: its v1 cgroup, its
 * network namespace and the slug's id mapping.  Then the go.
 */
static void
prepare_and_go(struct mon *m, int sock)
{
	int netns = -1, userns, rc;
	char err[512];
	struct go go;

	memset(&go, 0, sizeof(go));
	if (m->d->net == NET_NONE &&
	    (netns = net_new_ns(err, sizeof(err))) == -1)
		abort_start(m, EXIT_OSERR, "", err);
	userns = fs_slug_userns(m->d);
	if (!m->cg.v2 && (rc = cg_create(&m->cg, m->d, err, sizeof(err))) != 0)
		abort_start(m, rc, "", err);
	if (m->d->net == NET_SPACE &&
	    net_attach(m->d, m->init, err, sizeof(err)) == -1)
		abort_start(m, EXIT_UNAVAILABLE, "", err);
	go.has_dns = m->d->net == NET_SPACE && dns_start(m);
	snprintf(go.addr, sizeof(go.addr), "%s", m->d->addr);
	if (m->d->tty)
		(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &go.ws);
	go.has_netns = netns != -1;
	go.has_userns = userns != -1;
	if (send_go(sock, &go, netns, userns) == -1)
		abort_start(m, EXIT_OSERR, "start the dyno: ",
		    strerror(errno));
	if (netns != -1)
		close(netns);
	if (userns != -1)
		close(userns);
}

static void
start(struct mon *m)
{
	int sync[2], status[2], ns[2] = { -1, -1 }, moved, flags, rc;
	char err[512];

	flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	/* --net=none's namespace comes from the monitor, in parallel. */
	if (m->d->net == NET_SPACE)
		flags |= CLONE_NEWNET;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) ==
	    -1 || pipe2(status, O_CLOEXEC) == -1 ||
	    (m->d->userns && pipe2(ns, O_CLOEXEC) == -1))
		abort_start(m, EXIT_OSERR, "pipe: ", strerror(errno));
	/* v2: born inside the cgroup (CLONE_INTO_CGROUP), so it comes first. */
	if (m->cg.v2 && (rc = cg_create(&m->cg, m->d, err, sizeof(err))) != 0)
		abort_start(m, rc, "", err);
	m->cpu = sched_getcpu();
	if ((m->init = spawn(m, flags, &moved)) == -1)
		abort_start(m, EXIT_OSERR, "clone: ", strerror(errno));
	if (m->init == 0)
		child(m, sync[0], status[1], ns[1], moved);
	/*
	 * Only now, so the dyno keeps the default disposition: a dyno that
	 * failed its setup must get its failure reported, not kill us with
	 * SIGPIPE when we write to it.
	 */
	signal(SIGPIPE, SIG_IGN);
	close(sync[0]);
	close(status[1]);
	if (ns[1] != -1)
		close(ns[1]);
	if (m->d->ttysock[1] != -1)
		close(m->d->ttysock[1]);
	/* Before the lease and the v1 cgroup: killed from here on, we leave
	 * a record for the next dyno-run or the manager to undo.  Its fd
	 * stays open (and locked) until we exit. */
	if (reclaim_note(m->c->rundir, m->d, &m->cg, m->init, m->info_file,
	    m->record, sizeof(m->record)) == -1) {
		diag_warn_errno("record the dyno in %s/dynos", m->c->rundir);
		m->record[0] = '\0';
	}
	prepare_and_go(m, sync[1]);
	if (m->d->userns && map_userns(m, ns[0], sync[1]) == -1)
		abort_start(m, EXIT_OSERR, "map the user namespace: ",
		    strerror(errno));
	if (ns[0] != -1)
		close(ns[0]);
	close(sync[1]);
	if (m->d->tty)
		relay_pty(m);
	m->statusfd = status[0];
	if (evloop_add_fd(m->ev, m->statusfd, EPOLLIN, on_status, m) == -1)
		abort_start(m, EXIT_OSERR, "epoll: ", strerror(errno));
}

static void
setup_loop(struct mon *m)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	    SIGUSR1, SIGUSR2, SIGWINCH };
	size_t i;

	if ((m->ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "epoll");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (evloop_add_signal(m->ev, sigs[i], on_signal, m) == -1)
			diag_die_errno(EXIT_OSERR, "signalfd");
	m->ptm = -1;
	/* The pty is the dyno's own; its init passes the master back. */
	if (m->d->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    m->d->ttysock) == -1)
		diag_die_errno(EXIT_OSERR, "socketpair");
	if (evloop_timer(m->ev, MEM_CHECK_MS, mem_check, m) == NULL)
		diag_die_errno(EXIT_OSERR, "timer");
}

/* After the init is gone: the last lines, then leave no trace. */
static int
finish(struct mon *m)
{
	int code;
	char buf[8192];
	ssize_t n;

	read_status(m);
	if (m->ptm != -1)
		while ((n = read(m->ptm, buf, sizeof(buf))) > 0)
			(void)!write(STDOUT_FILENO, buf, (size_t)n);
	tty_restore();
	code = WIFSIGNALED(m->status) ? 128 + WTERMSIG(m->status) :
	    WEXITSTATUS(m->status);
	if (m->setup_code == 0) {
		if (!m->r15 && cg_oom_happened(&m->cg, m->d->size.memory_max))
			r15(m);
		hlog(m, "Process exited with status %d", code);
		/* heroku.md 1.8: a one-off dyno is never restarted. */
		if (m->d->oneoff)
			hlog(m, "State changed from up to complete");
	} else
		code = m->setup_code;
	oneoff_release(m->d);
	cg_kill(&m->cg);
	cg_remove(&m->cg);
	if (m->d->net == NET_SPACE)
		net_detach(m->d);
	dns_end(m);
	if (m->info_file != NULL)
		(void)unlink(m->info_file);
	if (m->record[0] != '\0')
		(void)unlink(m->record);
	return code;
}

int
monitor_run(struct dyno *d, const struct conf *c, const char *info_file)
{
	struct mon m;
	char err[512];
	int code, rc;

	memset(&m, 0, sizeof(m));
	m.d = d;
	m.c = c;
	m.info_file = info_file;
	m.statusfd = -1;
	m.lc = logclient_open(c->rundir);
	setup_loop(&m);
	m.dnswatch = -1;
	if ((rc = cg_init(&m.cg, d, err, sizeof(err))) != 0)
		diag_die(rc, "%s", err);
	oneoff_update(d, "starting", 0, "");
	/* A private space's names, and the folder the dyno sees them in. */
	if (d->net == NET_SPACE && d->private_space &&
	    (state_pathf(m.spacehosts,
	    sizeof(m.spacehosts), "%s/spaces/%s/dns/hosts", c->root, d->space)
	    == -1 || state_pathf(d->spacedns, sizeof(d->spacedns),
	    "%s/dynos/%s/%s.dns", c->rundir, d->app, strrchr(m.cg.rel, '/') + 1)
	    == -1))
		diag_die(EXIT_USAGE, "%s: path too long", c->rundir);
	hlog(&m, "Starting process with command `%s`", d->cmd_line);
	/* Raw only now: the line above still ends with a proper newline. */
	if (d->tty)
		tty_raw(STDIN_FILENO);
	start(&m);
	/* While the dyno sets up: what killed dynos of the app left. */
	(void)reclaim_sweep(c->rundir, d->app);
	while (m.init > 0)
		if (evloop_run(m.ev) == -1 && errno != EINTR)
			diag_die_errno(EXIT_OSERR, "epoll");
	code = finish(&m);
	evloop_free(m.ev);
	logclient_close(m.lc);
	if (m.ptm != -1)
		close(m.ptm);
	return code;
}
