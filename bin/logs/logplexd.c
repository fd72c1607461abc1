/* SPDX-License-Identifier: ISC */
/* logplexd: take log lines from every part, keep history, serve tails, drain. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "diag.h"
#include "ready.h"
#include "logplexd.h"
#include "state.h"

#define STOP_POLL_MS	50

#define USAGE	"usage: logplexd [-nv] [-l addr:port] [--ready-fd fd]\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EXIT_USAGE);
}

static void
help(void)
{
	fputs(USAGE "\noptions:\n"
	    "  -n, --check              check the configuration and exit\n"
	    "  -l, --listen=ADDR:PORT   also take octet-counted syslog over TCP\n"
	    "      --ready-fd=FD        write a newline to FD once listening\n"
	    "  -v, --verbose            say more\n"
	    "  -h, --help               this text\n", stdout);
	exit(0);
}

/* 1 when a logplexd already answers on our tail socket. */
static int
already_running(const struct conf *c)
{
	struct sockaddr_un sa;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (state_pathf(sa.sun_path, sizeof(sa.sun_path), "%s/logplexd.tail",
	    c->rundir) == -1)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return rc;
}

static void
check_stopped(struct evloop *ev, void *arg)
{
	struct lpd *l = arg;

	if (!drains_busy(l) || evloop_now_ms() >= l->stop_deadline) {
		if (drains_busy(l))
			diag_warn("flush timeout: undelivered drain messages "
			    "dropped");
		evloop_stop(ev);
		return;
	}
	evloop_timer(ev, STOP_POLL_MS, check_stopped, l);
}

/* SIGTERM/SIGINT: stop taking lines, flush drains for flush_timeout. */
static void
on_term(struct evloop *ev, int signo, void *arg)
{
	struct lpd *l = arg;

	(void)signo;
	if (l->stopping)
		return;
	l->stopping = 1;
	diag_verbose("stopping: flushing drains for at most %llu ms",
	    (unsigned long long)l->conf.flush_timeout_ms);
	stream_close(l);
	ingest_close(l);
	tail_close_all(l);
	l->stop_deadline = evloop_now_ms() + l->conf.flush_timeout_ms;
	check_stopped(ev, l);
}

/* SIGHUP: a bad new dyno.conf keeps the old one; drains are re-read. */
static void
on_hup(struct evloop *ev, int signo, void *arg)
{
	struct lpd *l = arg;
	struct conf nc;
	char err[512];
	struct app *a;
	size_t i;

	(void)ev;
	(void)signo;
	if (conf_load(&nc, err, sizeof(err)) == -1)
		diag_warn("reload: %s; keeping the running configuration", err);
	else {
		/* Sockets stay where they are bound until a restart. */
		memcpy(nc.root, l->conf.root, sizeof(nc.root));
		memcpy(nc.rundir, l->conf.rundir, sizeof(nc.rundir));
		l->conf = nc;
		for (i = 0; i < l->nbuckets; i++)
			for (a = l->apps[i]; a != NULL; a = a->next)
				lring_resize(&a->history, nc.history_lines);
	}
	drains_reload(l);
	if (l->listen_fd != -1)
		tokens_reload(l);
	diag_verbose("reloaded");
}

static void
on_usr1(struct evloop *ev, int signo, void *arg)
{
	struct lpd *l = arg;

	(void)ev;
	(void)signo;
	fprintf(stderr, "logplexd: apps=%zu received=%llu malformed=%llu "
	    "unknown_app=%llu unauthenticated=%llu bad_timestamps=%llu "
	    "tails_served=%llu\n", l->napps, l->received, l->malformed,
	    l->unknown_app, l->unauthenticated, l->bad_ts, l->tails_open);
	stream_dump(l, stderr);
	drains_dump(l, stderr);
	tail_dump(l, stderr);
	fflush(stderr);
}

static void
setup(struct lpd *l, const char *listen_addr)
{
	char path[PATH_MAX];

	if (already_running(&l->conf))
		diag_die(EXIT_TEMPFAIL, "already running in %s", l->conf.rundir);
	if ((l->ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "evloop");
	deliver_start(l);
	signal(SIGPIPE, SIG_IGN);
	if (evloop_add_signal(l->ev, SIGTERM, on_term, l) == -1 ||
	    evloop_add_signal(l->ev, SIGINT, on_term, l) == -1 ||
	    evloop_add_signal(l->ev, SIGHUP, on_hup, l) == -1 ||
	    evloop_add_signal(l->ev, SIGUSR1, on_usr1, l) == -1)
		diag_die_errno(EXIT_OSERR, "signalfd");
	if (tls_init(l) == -1)
		diag_die_errno(EXIT_CONFIG, "drain_ca_file: %s",
		    l->conf.drain_ca_file);
	if (http_init(l) == -1)
		diag_die(EXIT_SOFTWARE, "libcurl: cannot initialise");
	if (state_mkdirs(l->conf.rundir, 0755) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", l->conf.rundir);
	if (ingest_open(l) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/logplexd.sock", l->conf.rundir);
	if (stream_open(l) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/logplexd.stream",
		    l->conf.rundir);
	if (tail_open(l) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/logplexd.tail", l->conf.rundir);
	if (listen_addr != NULL && (tokens_reload(l) == -1 ||
	    ingest_listen(l, listen_addr) == -1))
		diag_die_errno(EXIT_OSERR, "listen %s", listen_addr);
	drains_reload(l);
	if (state_pathf(path, sizeof(path), "%s/logplexd.pid",
	    l->conf.rundir) == -1 || state_write_pid(path) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/logplexd.pid", l->conf.rundir);
}

static void
teardown(struct lpd *l)
{
	char path[PATH_MAX];

	if (state_pathf(path, sizeof(path), "%s/logplexd.pid",
	    l->conf.rundir) == 0 && state_read_pid(path) == getpid())
		unlink(path);
	stream_free(l);
	ingest_close(l);
	tail_close_all(l);
	deliver_free(l);
	tokens_free(l);
	http_free(l);
	tls_free(l);
	evloop_free(l->ev);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct lpd l;
	const char *listen_addr = NULL;
	char err[512];
	int ch, check = 0, ready_fd = -1;

	diag_start(argc, argv);
	while ((ch = getopt_long(argc, argv, "hl:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'R':
			if (ready_parse(optarg, &ready_fd, err,
			    sizeof(err)) == -1)
				diag_die(EXIT_USAGE, "%s", err);
			break;
		case 'v':
			diag_verbosity++;
			break;
		case 'h':
			help();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf_load(&l.conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if (check)
		return 0;
	l.dgram_fd = l.tail_fd = l.listen_fd = -1;
	setup(&l, listen_addr);
	if (ready_signal(ready_fd, err, sizeof(err)) == -1)
		diag_warn("%s", err);
	diag_verbose("listening in %s", l.conf.rundir);
	if (evloop_run(l.ev) == -1)
		diag_die_errno(EXIT_OSERR, "epoll");
	teardown(&l);
	return 0;
}
