/* SPDX-License-Identifier: ISC */
/* dyno-route: the HTTP router; from Host names to an app's up web dynos. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "dyno-route.h"
#include "evloop.h"
#include "listener.h"
#include "num.h"
#include "ready.h"
#include "state.h"

#define MAX_ADDRS	16
#define MAX_WORKERS	256
#define LISTEN_BACKLOG	4096

struct opts {
	char		*listen[MAX_ADDRS], *tls_listen[MAX_ADDRS];
	char		*certs[MAX_ADDRS], *keys[MAX_ADDRS];
	int		 nlisten, ntls, ncerts, nkeys;
	unsigned	 workers;
	int		 ready_fd;
	int		 check;
};

/* The supervisor of several workers. */
static struct {
	pid_t		 pid[MAX_WORKERS];
	unsigned	 n;
	int		 stopping;
	unsigned	 deaths;
	uint64_t	 first_death;
	struct worker_cfg *wc;
	struct listener	*all;
	int		 nper;
} S;

static noreturn void
usage(void)
{
	fprintf(stderr, "usage: dyno-route [-hnv] [-c file -k file] "
	    "[-L addr:port] [-l addr:port] [-w workers]\n"
	    "                  [--ready-fd fd]\n");
	exit(EXIT_USAGE);
}

static noreturn void
help(void)
{
	printf("usage: dyno-route [-hnv] [-c file -k file] [-L addr:port] "
	    "[-l addr:port] [-w workers]\n"
	    "                  [--ready-fd fd]\n\n"
	    "options:\n"
	    "  -l, --listen=ADDR:PORT      HTTP listener (repeatable)\n"
	    "  -L, --tls-listen=ADDR:PORT  HTTPS listener (repeatable)\n"
	    "  -c, --tls-cert=FILE         certificate chain (with -k, repeatable)\n"
	    "  -k, --tls-key=FILE          its private key\n"
	    "  -w, --workers=N             event-loop workers (default: cores)\n"
	    "      --ready-fd=FD           write a newline when listening\n"
	    "  -n, --check                 check the configuration and exit\n"
	    "  -v, --verbose               say more\n"
	    "  -h, --help                  this text\n");
	exit(0);
}

static void
add_opt(char **v, int *n, char *arg)
{
	if (*n == MAX_ADDRS)
		diag_die(EXIT_USAGE, "at most %d of each option", MAX_ADDRS);
	v[(*n)++] = arg;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-listen", required_argument, NULL, 'L' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int ch;

	while ((ch = getopt_long(argc, argv, "c:hk:L:l:nvw:", lo, NULL)) != -1) {
		switch (ch) {
		case 'l':
			add_opt(o->listen, &o->nlisten, optarg);
			break;
		case 'L':
			add_opt(o->tls_listen, &o->ntls, optarg);
			break;
		case 'c':
			add_opt(o->certs, &o->ncerts, optarg);
			break;
		case 'k':
			add_opt(o->keys, &o->nkeys, optarg);
			break;
		case 'w':
			if (num_parse_uint(optarg, 1, MAX_WORKERS, &o->workers))
				diag_die(EXIT_USAGE, "--workers %s: must be "
				    "1 to %d", optarg, MAX_WORKERS);
			break;
		case 'R':
			if (ready_parse(optarg, &o->ready_fd, err,
			    sizeof(err)) == -1)
				diag_die(EXIT_USAGE, "%s", err);
			break;
		case 'n':
			o->check = 1;
			break;
		case 'v':
			diag_verbosity++;
			break;
		case 'h':
			help();
		default:
			usage();
		}
	}
	if (optind != argc || o->ncerts != o->nkeys)
		usage();
}

/* A listening socket on "ADDR:PORT", ":PORT" or "PORT"; SO_REUSEPORT. */
static int
listen_on(const char *spec, struct listener *l)
{
	char host[256];
	const char *port;
	int fd;

	if (strchr(spec, ':') == NULL) {
		/* A bare port listens on every IPv4 address. */
		port = spec;
		host[0] = '\0';
	} else if (spec[0] == ':') {
		port = spec + 1;
		host[0] = '\0';
	} else if (listener_split(spec, host, sizeof(host), &port) == -1)
		diag_die(EXIT_USAGE, "%s: not ADDR:PORT, :PORT or PORT", spec);
	if ((fd = listener_tcp(host[0] ? host : NULL, port, LISTENER_NUMERIC |
	    LISTENER_REUSEPORT, LISTEN_BACKLOG)) == -1)
		diag_die_errno(errno == EINVAL ? EXIT_USAGE :
		    diag_exit_for_errno(errno), "listen %s", spec);
	l->fd = fd;
	l->port = (unsigned)strtoul(port, NULL, 10);
	return 0;
}

/* Sockets for every worker: SO_REUSEPORT spreads connections over them. */
static struct listener *
open_listeners(struct opts *o, int *nper)
{
	struct listener *ls;
	unsigned w;
	int i, k = 0;

	*nper = o->nlisten + o->ntls;
	if ((ls = calloc((size_t)*nper * o->workers, sizeof(*ls))) == NULL)
		diag_die_errno(EXIT_OSERR, "calloc");
	for (w = 0; w < o->workers; w++) {
		for (i = 0; i < o->nlisten; i++)
			listen_on(o->listen[i], &ls[k++]);
		for (i = 0; i < o->ntls; i++) {
			ls[k].tls = 1;
			listen_on(o->tls_listen[i], &ls[k++]);
		}
	}
	return ls;
}

static void
spawn(unsigned i)
{
	struct worker_cfg wc = *S.wc;
	unsigned j;
	pid_t pid, parent = getpid();

	if ((pid = fork()) == -1) {
		diag_warn("fork: %s", strerror(errno));
		return;
	}
	if (pid > 0) {
		S.pid[i] = pid;
		return;
	}
	/*
	 * A worker never outlives its supervisor, even one killed outright:
	 * it gets SIGTERM (and so drains) when the parent dies.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(0);
	/* The worker keeps its own sockets and none of the others. */
	for (j = 0; j < S.n * (unsigned)S.nper; j++)
		if (j / (unsigned)S.nper != i)
			close(S.all[j].fd);
	wc.ls = S.all + i * (unsigned)S.nper;
	wc.nls = S.nper;
	_exit(worker_run(&wc));
}

static void
forward(int signo)
{
	unsigned i;

	for (i = 0; i < S.n; i++)
		if (S.pid[i] > 0)
			kill(S.pid[i], signo);
}

static void
reap(struct evloop *ev)
{
	unsigned i, alive = 0;
	uint64_t now = evloop_now_ms();
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (i = 0; i < S.n; i++)
			if (S.pid[i] == pid)
				S.pid[i] = 0;
	for (i = 0; i < S.n; i++) {
		if (S.pid[i] == 0 && !S.stopping) {
			if (now - S.first_death > 10000) {
				S.first_death = now;
				S.deaths = 0;
			}
			if (++S.deaths > 2 * S.n)
				diag_die(EXIT_SOFTWARE, "workers keep dying");
			diag_warn("worker %u died; starting another", i);
			spawn(i);
		}
		alive += S.pid[i] > 0;
	}
	if (alive == 0 && S.stopping)
		evloop_stop(ev);
}

static void
parent_signal(struct evloop *ev, int signo, void *arg)
{
	struct conf nc;
	char err[512];

	(void)arg;
	if (signo == SIGCHLD) {
		reap(ev);
		return;
	}
	if (signo == SIGHUP && conf_load(&nc, err, sizeof(err)) == -1) {
		diag_warn("reload: %s; keeping the running configuration", err);
		return;
	}
	if (signo == SIGTERM || signo == SIGINT)
		S.stopping = 1;
	forward(signo);
}

/* Several workers: this process only forwards signals and restarts them. */
static int
supervise(struct worker_cfg *wc, struct listener *all, int nper,
    unsigned n)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	struct evloop *ev;
	unsigned i;

	if ((ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "epoll");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (evloop_add_signal(ev, sigs[i], parent_signal, NULL) == -1)
			diag_die_errno(EXIT_OSERR, "signalfd");
	S.wc = wc;
	S.all = all;
	S.nper = nper;
	S.n = n;
	for (i = 0; i < n; i++)
		spawn(i);
	if (evloop_run(ev) == -1)
		diag_die_errno(EXIT_OSERR, "epoll_wait");
	evloop_free(ev);
	return 0;
}

/*
 * Each worker may need FDS_PER_CONN fds per connection.  Raise the soft
 * limit towards that (systemd leaves it at 1024 for select(2)'s sake; the
 * router uses epoll), and say so when the hard limit is short: accept will
 * then shed connections rather than spin.
 */
static void
check_nofile(const struct conf *cf)
{
	unsigned long long need;
	struct rlimit rl;

	need = (unsigned long long)cf->max_connections * FDS_PER_CONN + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
	    need : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		diag_warn("open file limit %llu is below the %llu that "
		    "max_connections=%u may need", (unsigned long long)
		    rl.rlim_cur, need, cf->max_connections);
}

static struct tls *
load_tls(struct opts *o, const struct conf *cf)
{
	struct tls *t;
	char err[512];

	if (o->ncerts == 0 && o->ntls > 0)
		diag_die(EXIT_USAGE, "--tls-listen needs --tls-cert and "
		    "--tls-key");
	if (o->ncerts == 0)
		return NULL;
	if (o->ntls == 0)
		add_opt(o->tls_listen, &o->ntls, "0.0.0.0:443");
	if (tls_setup(cf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if ((t = tls_new(o->certs, o->keys, o->ncerts, err,
	    sizeof(err))) == NULL)
		diag_die(EXIT_CONFIG, "%s", err);
	return t;
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	struct opts o = { .workers = 0, .ready_fd = -1 };
	struct worker_cfg wc = { .conf = &conf };
	char err[512], pidf[PATH_MAX];
	int nper, rc;

	diag_start(argc, argv);
	parse_opts(argc, argv, &o);
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	wc.tls = load_tls(&o, &conf);
	if (o.check)
		return 0;
	if (o.nlisten == 0 && o.ntls == 0)
		add_opt(o.listen, &o.nlisten, "0.0.0.0:80");
	if (o.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS :
		    (unsigned)n;
	}
	signal(SIGPIPE, SIG_IGN);
	check_nofile(&conf);
	wc.ls = open_listeners(&o, &nper);
	wc.nls = nper;
	if (state_mkdirs(conf.rundir, 0755) == -1 ||
	    state_pathf(pidf, sizeof(pidf), "%s/dyno-route.pid",
	    conf.rundir) == -1 || state_write_pid(pidf) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/dyno-route.pid", conf.rundir);
	if (ready_signal(o.ready_fd, err, sizeof(err)) == -1)
		diag_warn("%s", err);
	rc = o.workers == 1 ? worker_run(&wc) :
	    supervise(&wc, wc.ls, nper, o.workers);
	unlink(pidf);
	free(wc.ls);
	return rc;
}
