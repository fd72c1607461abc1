/* SPDX-License-Identifier: ISC */
/* Test producer for logplexd: lines from stdin, or -n generated ones, as
 * datagrams on DYNO_RUNDIR/logplexd.sock (blocking: nothing is lost) or as
 * octet-counted frames on TCP (-T host:port) or on DYNO_RUNDIR/logplexd.stream
 * (-S).  -r sends stdin lines raw. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logmsg.h"

static int fd, tcp;
static char out[1 << 16];
static size_t outlen;

static void
flush_out(void)
{
	size_t off = 0;
	ssize_t n;

	while (off < outlen) {
		if ((n = write(fd, out + off, outlen - off)) == -1) {
			perror("logplex-send: write");
			exit(71);
		}
		off += (size_t)n;
	}
	outlen = 0;
}

static void
send_one(const char *p, size_t len)
{
	int n;

	if (!tcp) {
		while (send(fd, p, len, 0) == -1) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			perror("logplex-send: send");
			exit(71);
		}
		return;
	}
	if (outlen + len + 16 > sizeof(out))
		flush_out();
	n = snprintf(out + outlen, 16, "%zu ", len);
	memcpy(out + outlen + n, p, len);
	outlen += (size_t)n + len;
}

static void
open_unix(int stream)
{
	struct sockaddr_un sa;
	const char *rundir = getenv("DYNO_RUNDIR");

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/logplexd.%s",
	    rundir ? rundir : "/run/dyno", stream ? "stream" : "sock");
	/* A stream carries frames as TCP does. */
	tcp = stream;
	fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC,
	    0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("logplex-send: connect");
		exit(69);
	}
}

static void
open_tcp(char *addr)
{
	struct addrinfo hints, *res;
	char *colon = strrchr(addr, ':');

	if (colon == NULL)
		exit(64);
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(addr, colon + 1, &hints, &res) != 0)
		exit(69);
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		perror("logplex-send: connect");
		exit(69);
	}
	tcp = 1;
	freeaddrinfo(res);
}

int
main(int argc, char *argv[])
{
	char ts[LOGMSG_TS_LEN + 1], buf[LOGMSG_MAX * 8], *line = NULL;
	const char *app, *src, *dyno;
	size_t cap = 0, len;
	ssize_t n;
	unsigned long i, count = 0;
	int ch, raw = 0, stream = 0;

	while ((ch = getopt(argc, argv, "n:rST:")) != -1) {
		if (ch == 'n')
			count = strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			raw = 1;
		else if (ch == 'S')
			stream = 1;
		else if (ch == 'T')
			open_tcp(optarg);
		else
			return 64;
	}
	if (!tcp)
		open_unix(stream);
	if (raw) {
		while ((n = getline(&line, &cap, stdin)) > 0)
			send_one(line, (size_t)n - (line[n - 1] == '\n'));
		flush_out();
		free(line);
		return 0;
	}
	if (argc - optind != 3)
		return 64;
	app = argv[optind];
	src = argv[optind + 1];
	dyno = argv[optind + 2];
	logmsg_timestamp(ts, NULL);
	for (i = 1; count > 0 && i <= count; i++) {
		char msg[64];
		int m = snprintf(msg, sizeof(msg), "line %lu", i);
		len = logmsg_format(buf, sizeof(buf), logmsg_pri(src, dyno), ts,
		    app, src, dyno, msg, (size_t)m);
		send_one(buf, len);
	}
	while (count == 0 && (n = getline(&line, &cap, stdin)) > 0) {
		logmsg_timestamp(ts, NULL);
		len = logmsg_format(buf, sizeof(buf), logmsg_pri(src, dyno), ts,
		    app, src, dyno, line, (size_t)n - (line[n - 1] == '\n'));
		send_one(buf, len < sizeof(buf) ? len : sizeof(buf) - 1);
	}
	flush_out();
	free(line);
	return 0;
}
