/* SPDX-License-Identifier: ISC */
/* dyno-slugd: read one GET or HEAD, answer with a stored slug or an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "diag.h"
#include "evloop.h"
#include "slugstore.h"

#include "dyno-slugd.h"

#define PREFIX		"/slugs/"

/*
 * Every connection carries one request and gets one answer, then is
 * closed ("Connection: close"): a slug is big, keep-alive buys nothing,
 * and a client cannot hold a slot by pipelining.  The request head must
 * arrive whole within SLUGD_HEAD_MS; an answer that makes no progress for
 * SLUGD_IDLE_MS is dropped.
 */
struct sconn {
	struct sconn	*next, *prev;
	struct slugd	*s;
	int		 fd, file;	/* file: the slug, or -1 */
	int		 head;		/* HEAD: no body */
	struct evtimer	*timer;
	off_t		 off, size;	/* body sent, body size */
	size_t		 inlen, outoff, outlen;
	char		 in[SLUGD_HEAD_MAX];
	char		 out[512];
};

static void	on_conn(struct evloop *, int, uint32_t, void *);

static void
conn_free(struct sconn *c)
{
	struct slugd *s = c->s;

	if (c->timer != NULL)
		evloop_timer_cancel(s->ev, c->timer);
	evloop_del_fd(s->ev, c->fd);
	close(c->fd);
	if (c->file != -1)
		close(c->file);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

static void
on_timeout(struct evloop *ev, void *arg)
{
	struct sconn *c = arg;

	(void)ev;
	c->timer = NULL;
	c->s->timeouts++;
	conn_free(c);
}

static void
arm(struct sconn *c, uint64_t ms)
{
	if (c->timer != NULL)
		evloop_timer_cancel(c->s->ev, c->timer);
	c->timer = evloop_timer(c->s->ev, ms, on_timeout, c);
}

/* Queue a status line and headers; body follows when file != -1. */
static void
answer(struct sconn *c, int code, const char *reason, const char *extra)
{
	int n;

	if (code != 200) {
		c->s->refused++;
		if (c->file != -1)
			close(c->file);
		c->file = -1;
		c->size = 0;
	}
	n = snprintf(c->out, sizeof(c->out), "HTTP/1.1 %d %s\r\n"
	    "Content-Length: %lld\r\nContent-Type: %s\r\n%s"
	    "Connection: close\r\n\r\n", code, reason, (long long)c->size,
	    code == 200 ? "application/gzip" : "text/plain",
	    extra != NULL ? extra : "");
	c->outlen = n > 0 && (size_t)n < sizeof(c->out) ? (size_t)n : 0;
	c->outoff = 0;
	evloop_mod_fd(c->s->ev, c->fd, EPOLLOUT);
	arm(c, SLUGD_IDLE_MS);
}

/*
 * Open the slug the target names: exactly /slugs/sha256-<hex>.tgz, so no
 * "..", no NUL, no second slash can reach the file system; beneath_open
 * keeps even that name inside the folder, and only a regular file is
 * served.
 */
static int
open_slug(struct sconn *c, const char *target, size_t len)
{
	struct stat st;
	char name[SLUGSTORE_NAME_LEN + 1];
	size_t plen = strlen(PREFIX);

	if (len <= plen || memcmp(target, PREFIX, plen) != 0 ||
	    !slugstore_name_parse(target + plen, len - plen, NULL))
		return -1;
	memcpy(name, target + plen, len - plen);
	name[len - plen] = '\0';
	if ((c->file = beneath_open(c->s->dirfd, name, O_RDONLY |
	    O_NONBLOCK)) == -1)
		return -1;
	if (fstat(c->file, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(c->file);
		c->file = -1;
		return -1;
	}
	c->size = st.st_size;
	return 0;
}

/* The head is whole (in[0..len) ends in CRLFCRLF): judge the request line. */
static void
request(struct sconn *c, size_t len)
{
	const char *p = c->in, *sp1, *sp2, *eol;

	if (memchr(p, '\0', len) != NULL ||
	    (eol = memchr(p, '\r', len)) == NULL ||
	    (sp1 = memchr(p, ' ', (size_t)(eol - p))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0))
		return answer(c, 400, "Bad Request", NULL);
	if (sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0)
		c->head = 1;
	else if (!(sp1 - p == 3 && memcmp(p, "GET", 3) == 0))
		return answer(c, 405, "Method Not Allowed",
		    "Allow: GET, HEAD\r\n");
	if (open_slug(c, sp1 + 1, (size_t)(sp2 - sp1 - 1)) == -1)
		return answer(c, 404, "Not Found", NULL);
	c->s->served++;
	answer(c, 200, "OK", NULL);
}

static void
read_head(struct sconn *c)
{
	ssize_t n;
	char *end;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		return conn_free(c);
	c->inlen += (size_t)n;
	if ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4)) != NULL)
		return request(c, (size_t)(end - c->in) + 4);
	if (c->inlen == sizeof(c->in))
		answer(c, 431, "Request Header Fields Too Large", NULL);
}

/* Head, then the body with sendfile(2); -1 when done or broken. */
static int
write_out(struct sconn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
	}
	if (c->head || c->file == -1)
		return -1;
	while (c->off < c->size) {
		n = sendfile(c->fd, c->file, &c->off, (size_t)(c->size - c->off));
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)	/* the file shrank: the length we said is wrong */
			return -1;
	}
	return -1;
}

/* Read and drop what is waiting, at most 64 KiB, without blocking. */
static void
discard_input(int fd)
{
	char buf[8192];
	int i;

	for (i = 0; i < 8; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

static void
on_conn(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct sconn *c = arg;

	(void)ev;
	(void)fd;
	if (c->outlen == 0) {
		if (events & (EPOLLERR | EPOLLHUP))
			return conn_free(c);
		return read_head(c);
	}
	if (events & EPOLLERR)
		return conn_free(c);
	if (write_out(c) == -1) {
		/*
		 * Half-close, then read what the client still sent (an over-
		 * long head): closing with unread bytes would reset the
		 * connection and could take the answer with it.
		 */
		shutdown(c->fd, SHUT_WR);
		discard_input(c->fd);
		return conn_free(c);
	}
	arm(c, SLUGD_IDLE_MS);	/* progress: the idle clock starts again */
}

void
sconn_accept(struct slugd *s, int cfd)
{
	struct sconn *c;

	/* Past twice the bound, not even a 503: no memory for a flood. */
	if (s->nconns >= 2 * SLUGD_CONN_MAX || (c = calloc(1,
	    sizeof(*c))) == NULL) {
		s->busy++;
		close(cfd);
		return;
	}
	c->s = s;
	c->fd = cfd;
	c->file = -1;
	if (evloop_add_fd(s->ev, cfd, EPOLLIN, on_conn, c) == -1) {
		close(cfd);
		free(c);
		return;
	}
	if ((c->next = s->conns) != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	arm(c, SLUGD_HEAD_MS);
	if (s->nconns > SLUGD_CONN_MAX) {
		s->busy++;
		answer(c, 503, "Service Unavailable", "Retry-After: 1\r\n");
	}
}

void
sconn_close_all(struct slugd *s)
{
	while (s->conns != NULL)
		conn_free(s->conns);
}
