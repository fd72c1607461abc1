/* SPDX-License-Identifier: ISC */
/* Host name lookups for drains, off the event loop. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "logplexd.h"

/*
 * getaddrinfo(3) blocks for as long as the resolver takes, which would
 * stall ingest and every tail.  Each lookup of a name therefore runs in a
 * short-lived helper thread that only calls getaddrinfo and hands the
 * result back over a socketpair the loop watches; the loop alone touches
 * drains.  Numeric addresses need no thread.  The helper inherits the
 * loop's blocked signal mask, so signals still reach the signalfd.
 */
#define RESOLVE_MAX	8	/* helper threads at once */

struct reply {
	int		 rc;	/* getaddrinfo's */
	struct addrinfo	*res;	/* whoever receives this owns it */
};

/* The helper's own copy: the loop may forget the lookup at any time. */
struct job {
	int		 fd;
	char		 host[DRAINS_HOST_MAX];
	char		 port[8];
};

struct resolve {
	struct evloop	*ev;
	int		 fd;
	resolve_fn	*fn;
	void		*arg;
};

static atomic_int running;

static void
hints_init(struct addrinfo *h, int flags)
{
	memset(h, 0, sizeof(*h));
	h->ai_socktype = SOCK_STREAM;
	h->ai_flags = AI_NUMERICSERV | flags;
}

static void *
job_run(void *arg)
{
	struct job *j = arg;
	struct addrinfo hints;
	struct reply r;

	hints_init(&hints, 0);
	r.res = NULL;
	r.rc = getaddrinfo(j->host, j->port, &hints, &r.res);
	/* A forgotten lookup's socket is shut for reading: EPIPE, we free. */
	if (send(j->fd, &r, sizeof(r), MSG_NOSIGNAL) != (ssize_t)sizeof(r) &&
	    r.rc == 0)
		freeaddrinfo(r.res);
	close(j->fd);
	free(j);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static void
on_reply(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct resolve *r = arg;
	struct reply rep;

	(void)events;
	if (recv(fd, &rep, sizeof(rep), MSG_DONTWAIT) != (ssize_t)sizeof(rep)) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		rep.rc = EAI_SYSTEM;
		rep.res = NULL;
	}
	evloop_del_fd(ev, fd);
	close(fd);
	r->fn(r->arg, rep.rc, rep.res);
	free(r);
}

static int
job_start(struct job *j)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if ((rc = pthread_attr_init(&attr)) != 0)
		return rc;
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, job_run, j);
	pthread_attr_destroy(&attr);
	return rc;
}

int
resolve_numeric(const char *host, unsigned port, struct addrinfo **res)
{
	struct addrinfo hints;
	char p[8];

	hints_init(&hints, AI_NUMERICHOST);
	snprintf(p, sizeof(p), "%u", port);
	return getaddrinfo(host, p, &hints, res);
}

struct resolve *
resolve_start(struct evloop *ev, const char *host, unsigned port,
    resolve_fn *fn, void *arg)
{
	struct resolve *r = NULL;
	struct job *j = NULL;
	int sv[2] = { -1, -1 }, rc;

	if (atomic_fetch_add(&running, 1) >= RESOLVE_MAX) {
		errno = EAGAIN;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		goto out;
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%u", port);
	j->fd = sv[1];
	*r = (struct resolve){ ev, sv[0], fn, arg };
	if (evloop_add_fd(ev, sv[0], EPOLLIN, on_reply, r) == -1)
		goto out;
	if ((rc = job_start(j)) == 0)
		return r;	/* j and sv[1] are the helper's now */
	evloop_del_fd(ev, sv[0]);
	errno = rc;
out:
	rc = errno;
	if (sv[0] != -1) {
		close(sv[0]);
		close(sv[1]);
	}
	free(j);
	free(r);
	atomic_fetch_sub(&running, 1);
	errno = rc;
	return NULL;
}

void
resolve_cancel(struct resolve *r)
{
	struct reply rep;

	if (r == NULL)
		return;
	/*
	 * After SHUT_RD the helper's send fails (it frees its result), so
	 * only a reply already queued can be left here, and it is freed.
	 */
	(void)shutdown(r->fd, SHUT_RD);
	if (recv(r->fd, &rep, sizeof(rep), MSG_DONTWAIT) == (ssize_t)sizeof(rep) &&
	    rep.rc == 0)
		freeaddrinfo(rep.res);
	evloop_del_fd(r->ev, r->fd);
	close(r->fd);
	free(r);
}
