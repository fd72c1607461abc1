/* SPDX-License-Identifier: ISC */
/* dyno-slugd: serve the slug store read-only over HTTP to the other hosts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "evloop.h"
#include "listener.h"
#include "ready.h"
#include "slugstore.h"
#include "state.h"

#include "dyno-slugd.h"

#define USAGE	"usage: dyno-slugd [-nv] -l addr:port [--ready-fd fd]\n"

static void
usage(int code)
{
	fputs(USAGE, code == 0 ? stdout : stderr);
	if (code == 0)
		fputs("\noptions:\n"
		    "  -l, --listen=ADDR:PORT   serve HTTP there\n"
		    "  -n, --check              check the configuration and exit\n"
		    "      --ready-fd=FD        write a newline to FD once listening\n"
		    "  -v, --verbose            say more\n"
		    "  -h, --help               this text\n", stdout);
	exit(code);
}

static void
on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct slugd *s = arg;
	int cfd, n;

	(void)ev;
	(void)events;
	for (n = 0; n < 64 && (cfd = accept4(fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0; n++)
		sconn_accept(s, cfd);
}

static void
on_term(struct evloop *ev, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	evloop_stop(ev);
}

static void
on_usr1(struct evloop *ev, int signo, void *arg)
{
	struct slugd *s = arg;

	(void)ev;
	(void)signo;
	fprintf(stderr, "dyno-slugd: connections=%u served=%llu refused=%llu "
	    "timeouts=%llu busy=%llu\n", s->nconns, s->served, s->refused,
	    s->timeouts, s->busy);
}

/* The store folder, made if missing (which also tells release create to
 * keep its archives there), opened as the root of every lookup. */
static void
setup(struct slugd *s, const struct conf *c, const char *addr)
{
	char dir[PATH_MAX];

	if (slugstore_dir(dir, sizeof(dir), c->root) == -1)
		diag_die(EXIT_CONFIG, "%s: path too long", c->root);
	if (state_mkdirs(dir, 0755) == -1 ||
	    (s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", dir);
	if ((s->ev = evloop_new()) == NULL)
		diag_die_errno(EXIT_OSERR, "evloop");
	signal(SIGPIPE, SIG_IGN);
	if (evloop_add_signal(s->ev, SIGTERM, on_term, s) == -1 ||
	    evloop_add_signal(s->ev, SIGINT, on_term, s) == -1 ||
	    evloop_add_signal(s->ev, SIGUSR1, on_usr1, s) == -1)
		diag_die_errno(EXIT_OSERR, "signalfd");
	if ((s->listen_fd = listener_tcp_addr(addr, LISTENER_NUMERIC,
	    128)) == -1 ||
	    evloop_add_fd(s->ev, s->listen_fd, EPOLLIN, on_accept, s) == -1)
		diag_die_errno(EXIT_OSERR, "listen %s", addr);
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
	static struct slugd s;
	struct conf c;
	const char *addr = NULL;
	char err[512];
	int ch, check = 0, ready_fd = -1;

	diag_start(argc, argv);
	while ((ch = getopt_long(argc, argv, "hl:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': addr = optarg; break;
		case 'n': check = 1; break;
		case 'v': diag_verbosity++; break;
		case 'h': usage(0); break;
		case 'R':
			if (ready_parse(optarg, &ready_fd, err,
			    sizeof(err)) == -1)
				diag_die(EXIT_USAGE, "%s", err);
			break;
		default: usage(EXIT_USAGE);
		}
	}
	if (optind != argc || addr == NULL)
		usage(EXIT_USAGE);
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if (check)
		return 0;
	setup(&s, &c, addr);
	if (ready_signal(ready_fd, err, sizeof(err)) == -1)
		diag_warn("%s", err);
	diag_verbose("serving %s/" SLUGSTORE_DIR " on %s", c.root, addr);
	if (evloop_run(s.ev) == -1)
		diag_die_errno(EXIT_OSERR, "epoll");
	sconn_close_all(&s);
	close(s.listen_fd);
	close(s.dirfd);
	evloop_free(s.ev);
	return 0;
}
