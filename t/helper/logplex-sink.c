/* SPDX-License-Identifier: ISC */
/* Benchmark sink: count octet-counted frames on 127.0.0.1:PORT; write the
 * count to FILE every second (atomically) until SIGTERM, and to FILE.order
 * how many frames ending in "line N" did not follow "line N-1" (one
 * producer's numbered burst arrives whole and in order when that is 0). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "logframe.h"

#define CONNS	16

struct conn {
	int	fd;
	size_t	len;
	char	buf[1 << 17];
};

static volatile sig_atomic_t stop;
static unsigned long long count, disorder, lastline;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
save_one(const char *path, const char *suffix, unsigned long long n)
{
	char tmp[4200], final[4096];
	FILE *f;

	snprintf(final, sizeof(final), "%s%s", path, suffix);
	snprintf(tmp, sizeof(tmp), "%s.tmp", final);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "%llu\n", n);
	fclose(f);
	rename(tmp, final);
}

static void
save(const char *path)
{
	save_one(path, ".order", disorder);
	save_one(path, "", count);
}

/* A message ending in "line N": N must be one more than the last one. */
static void
check_order(const char *msg, size_t len)
{
	static const char word[] = "line ";
	unsigned long long n = 0, scale = 1;
	size_t i = len;

	while (i > 0 && msg[i - 1] >= '0' && msg[i - 1] <= '9' && scale <
	    10000000000ULL) {
		n += (unsigned long long)(msg[i - 1] - '0') * scale;
		scale *= 10;
		i--;
	}
	if (i == len || i < sizeof(word) - 1 ||
	    memcmp(msg + i - (sizeof(word) - 1), word, sizeof(word) - 1) != 0)
		return;
	if (n != lastline + 1)
		disorder++;
	lastline = n;
}

static int
drain(struct conn *c)
{
	const char *msg;
	size_t mlen, off = 0;
	ssize_t n, used;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	while ((used = logframe_unframe(c->buf + off, c->len - off, 65536, &msg,
	    &mlen)) > 0) {
		off += (size_t)used;
		count++;
		check_order(msg, mlen);
	}
	if (used == -1)
		return -1;
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct conn conns[CONNS];
	struct pollfd pfd[CONNS + 1];
	struct sockaddr_in sa;
	int lfd, i, on = 1;
	time_t last = 0;

	if (argc != 3)
		return 64;
	signal(SIGTERM, on_term);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 16) == -1) {
		perror("logplex-sink");
		return 71;
	}
	for (i = 0; i < CONNS; i++)
		conns[i].fd = -1;
	save(argv[2]);
	while (!stop) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < CONNS; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, CONNS + 1, 100) > 0) {
			if (pfd[0].revents & POLLIN) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				for (i = 0; fd != -1 && i < CONNS; i++)
					if (conns[i].fd == -1) {
						conns[i].fd = fd;
						conns[i].len = 0;
						fd = -1;
					}
				if (fd != -1)
					close(fd);
			}
			for (i = 0; i < CONNS; i++)
				if (conns[i].fd != -1 && pfd[i + 1].revents &&
				    drain(&conns[i]) == -1) {
					close(conns[i].fd);
					conns[i].fd = -1;
				}
		}
		if (time(NULL) != last) {
			last = time(NULL);
			save(argv[2]);
		}
	}
	save(argv[2]);
	return 0;
}
