/* SPDX-License-Identifier: ISC */
/* dyno-agent: one host of a dyno cluster on etcd (hosts, placer, dynos). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cluster.h"
#include "diag.h"
#include "ready.h"
#include "state.h"
#include "dyno-agent.h"

static const char synopsis[] =
	    "usage: dyno-agent run [-nv] [--ready-fd N]\n"
	    "       dyno-agent hosts\n"
	    "       dyno-agent drain HOST\n"
	    "       dyno-agent undrain HOST\n";

static volatile sig_atomic_t stop_now;

static noreturn void
usage(void)
{
	fputs(synopsis, stderr);
	exit(EXIT_USAGE);
}

static noreturn void
help(void)
{
	printf("%s\noptions:\n"
	    "  -n                check the configuration and exit (run)\n"
	    "  -v                more verbose\n"
	    "      --ready-fd=N  write a newline to fd N once registered (run)\n"
	    "  -h, --help        this text\n", synopsis);
	exit(0);
}

static void
on_stop(int signo)
{
	(void)signo;
	stop_now = 1;
}

/* Host names go into etcd keys and file names: [a-z0-9.-], 1 to 63. */
static int
host_name_ok(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && s[0] != '-' && strlen(s) < 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(s);
}

/* dyno.conf, then the [cluster] keys every subcommand needs. */
static void
load_conf(struct conf *c, struct agent *a)
{
	char err[512];

	if (conf_load(c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if (c->cluster_etcd[0] == '\0')
		diag_die(EXIT_CONFIG, "%s: no etcd in [cluster]: this host is "
		    "not in a cluster", c->path[0] ? c->path : "dyno.conf");
	if (c->cluster_host[0] == '\0' && gethostname(c->cluster_host,
	    sizeof(c->cluster_host) - 1) == -1)
		diag_die_errno(EXIT_OSERR, "gethostname");
	if (!host_name_ok(c->cluster_host))
		diag_die(EXIT_CONFIG, "[cluster] host \"%s\": expected lowercase "
		    "letters, digits, dots and dashes", c->cluster_host);
	if (c->cluster_ttl_ms < 5000 || c->cluster_ttl_ms > 600000)
		diag_die(EXIT_CONFIG, "[cluster] lease_ttl: between 5s and 10m");
	memset(a, 0, sizeof(*a));
	a->conf = c;
	snprintf(a->host, sizeof(a->host), "%s", c->cluster_host);
	a->ttl_ms = c->cluster_ttl_ms;
	if ((a->etcd = etcd_open(c->cluster_etcd, err, sizeof(err))) == NULL)
		diag_die(EXIT_CONFIG, "[cluster] etcd: %s", err);
}

/* A tool beside us (a build tree, or sbin), else /usr/sbin's. */
static void
find_tool(const char *tool, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	snprintf(buf, size, "/usr/sbin/%s", tool);
	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL) {
		*slash = '\0';
		if (state_pathf(buf, size, "%s/%s", self, tool) == -1 ||
		    access(buf, X_OK) == -1)
			snprintf(buf, size, "/usr/sbin/%s", tool);
	}
}

/*
 * Until the watch brings a change, or AGENT_TICK_MS for what etcd does
 * not say: the renewals, the fence, the dynos' state files of this host.
 */
static void
pause_tick(const struct agent *a)
{
	struct pollfd p = { watch_fd(a), POLLIN, 0 };
	struct timespec burst = { 0, AGENT_BURST_MS * 1000000L };

	/* a signal cuts it short; stop_now is looked at right after */
	if (poll(&p, 1, AGENT_TICK_MS) > 0) {
		/* the rest of a burst (a placement, states) in the same round */
		nanosleep(&burst, NULL);
		watch_drain_fd(a);
	}
}

static int
run(struct agent *a, int ready_fd)
{
	struct sigaction sa = { .sa_handler = on_stop };
	char err[256];
	int ready = 0;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	find_tool("dyno-manager", a->manager, sizeof(a->manager));
	find_tool("space-net", a->spacenet, sizeof(a->spacenet));
	find_tool("release", a->release, sizeof(a->release));
	/* installed, release(1) is in bin, beside sbin */
	if (access(a->release, X_OK) == -1)
		snprintf(a->release, sizeof(a->release), "/usr/bin/release");
	host_adopt_lease(a);
	if (watch_start(a) == -1)
		diag_warn("%s: no watch of etcd: reading it every round",
		    a->host);
	while (!stop_now) {
		host_tick(a);
		/*
		 * After a failed renewal the other calls would only wait out
		 * their timeouts too (a partition: 1 s per member each): the
		 * loop stays short, so the next renewal and fence check come
		 * on time.
		 */
		if (a->ka_sent == a->ok_sent) {
			place_tick(a);
			local_tick(a);
			logs_tick(a);
			net_tick(a);
		}
		if (host_refused(a))
			host_extend_fence(a);
		local_reap(a);
		if (!ready && a->lease != 0) {
			ready = 1;
			if (ready_signal(ready_fd, err, sizeof(err)) == -1)
				diag_warn("%s", err);
		}
		if (!stop_now)
			pause_tick(a);
	}
	watch_stop(a);
	/*
	 * A clean stop leaves the lease and the managers alone: an agent back
	 * within the lease adopts both; one that is not fences the managers
	 * through the deadline they read.
	 */
	diag_warn("%s: stopping (placer writes: %lu)", a->host, a->writes);
	return 0;
}

static const struct option longopts[] = {
	{ "ready-fd",	required_argument,	NULL, 'R' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct conf conf;
	struct agent a;
	int c, check = 0, ready_fd = -1, rc;
	char err[256];
	const char *cmd;

	diag_start(argc, argv);
	while ((c = getopt_long(argc, argv, "nvh", longopts, NULL)) != -1)
		switch (c) {
		case 'n': check = 1; break;
		case 'v': diag_verbosity++; break;
		case 'R':
			if (ready_parse(optarg, &ready_fd, err, sizeof(err)) == -1)
				diag_die(EXIT_USAGE, "%s", err);
			break;
		case 'h': help();
		default: usage();
		}
	if (optind >= argc)
		usage();
	cmd = argv[optind++];
	if (!strcmp(cmd, "run") ? optind != argc : !strcmp(cmd, "hosts") ?
	    optind != argc : (strcmp(cmd, "drain") && strcmp(cmd, "undrain")) ||
	    optind + 1 != argc)
		usage();
	if (strcmp(cmd, "run") && (check || ready_fd != -1))
		usage();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	load_conf(&conf, &a);
	if (check)
		rc = 0;
	else if (!strcmp(cmd, "run"))
		rc = run(&a, ready_fd);
	else if (!strcmp(cmd, "hosts"))
		rc = cmd_hosts(&conf, a.etcd);
	else
		rc = cmd_drain(&conf, a.etcd, argv[optind], !strcmp(cmd, "drain"));
	etcd_close(a.etcd);
	return rc;
}
