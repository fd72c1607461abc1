/* SPDX-License-Identifier: ISC */
/* The event loop: epoll, a binary heap of timers, and signals via signalfd. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

/* Events taken per epoll_wait: a busy router has hundreds ready at once. */
#define EVLOOP_BATCH	256

struct watcher {
	evloop_fd_fn	*fn;
	void		*arg;
	uint32_t	 gen;		/* tells a reused fd from a deleted one */
	int		 used;
};

struct evtimer {
	uint64_t	 due;
	uint64_t	 seq;		/* FIFO among equal deadlines */
	size_t		 idx;		/* position in the heap */
	evloop_timer_fn	*fn;
	void		*arg;
};

struct evloop {
	int		 epfd;
	int		 sigfd;
	sigset_t	 sigmask;
	evloop_signal_fn *sigfn[_NSIG];
	void		*sigarg[_NSIG];
	struct watcher	*w;		/* indexed by fd */
	size_t		 nw;
	struct evtimer	**heap;
	size_t		 nheap, capheap;
	uint64_t	 seq;
	int		 stop;
	evloop_timer_fn	*before_wait;
	void		*before_wait_arg;
};

uint64_t
evloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct evloop *
evloop_new(void)
{
	struct evloop *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->sigfd = -1;
	sigemptyset(&ev->sigmask);
	if ((ev->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(ev);
		return NULL;
	}
	return ev;
}

void
evloop_free(struct evloop *ev)
{
	size_t i;

	if (ev == NULL)
		return;
	for (i = 0; i < ev->nheap; i++)
		free(ev->heap[i]);
	free(ev->heap);
	free(ev->w);
	if (ev->sigfd != -1)
		close(ev->sigfd);
	close(ev->epfd);
	free(ev);
}

static int
grow_watchers(struct evloop *ev, int fd)
{
	struct watcher *nw;
	size_t n;

	if ((size_t)fd < ev->nw)
		return 0;
	n = ev->nw ? ev->nw : 64;
	while (n <= (size_t)fd)
		n *= 2;
	if ((nw = reallocarray(ev->w, n, sizeof(*nw))) == NULL)
		return -1;
	memset(nw + ev->nw, 0, (n - ev->nw) * sizeof(*nw));
	ev->w = nw;
	ev->nw = n;
	return 0;
}

int
evloop_add_fd(struct evloop *ev, int fd, uint32_t events, evloop_fd_fn *fn,
    void *arg)
{
	struct epoll_event ee;
	struct watcher *w;

	if (fd < 0 || grow_watchers(ev, fd) == -1)
		return -1;
	w = &ev->w[fd];
	if (w->used) {
		errno = EEXIST;
		return -1;
	}
	w->gen++;
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &ee) == -1)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->used = 1;
	return 0;
}

int
evloop_mod_fd(struct evloop *ev, int fd, uint32_t events)
{
	struct epoll_event ee;

	if (fd < 0 || (size_t)fd >= ev->nw || !ev->w[fd].used) {
		errno = ENOENT;
		return -1;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.u64 = (uint64_t)ev->w[fd].gen << 32 | (uint32_t)fd;
	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &ee);
}

int
evloop_del_fd(struct evloop *ev, int fd)
{
	if (fd < 0 || (size_t)fd >= ev->nw || !ev->w[fd].used) {
		errno = ENOENT;
		return -1;
	}
	ev->w[fd].used = 0;
	ev->w[fd].fn = NULL;
	return epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void
on_signalfd(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	int signo;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		signo = (int)si.ssi_signo;
		if (signo > 0 && signo < _NSIG && ev->sigfn[signo] != NULL)
			ev->sigfn[signo](ev, signo, ev->sigarg[signo]);
	}
}

int
evloop_add_signal(struct evloop *ev, int signo, evloop_signal_fn *fn, void *arg)
{
	int fd;

	if (signo <= 0 || signo >= _NSIG) {
		errno = EINVAL;
		return -1;
	}
	sigaddset(&ev->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &ev->sigmask, NULL) == -1)
		return -1;
	fd = signalfd(ev->sigfd, &ev->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	if (ev->sigfd == -1) {
		ev->sigfd = fd;
		if (evloop_add_fd(ev, fd, EPOLLIN, on_signalfd, NULL) == -1)
			return -1;
	}
	ev->sigfn[signo] = fn;
	ev->sigarg[signo] = arg;
	return 0;
}

void
evloop_child_sigreset(void)
{
	sigset_t all;
	int s;

	for (s = 1; s < _NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static int
timer_less(const struct evtimer *a, const struct evtimer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_set(struct evloop *ev, size_t i, struct evtimer *t)
{
	ev->heap[i] = t;
	t->idx = i;
}

static void
sift_up(struct evloop *ev, size_t i)
{
	struct evtimer *t = ev->heap[i];

	while (i > 0 && timer_less(t, ev->heap[(i - 1) / 2])) {
		heap_set(ev, i, ev->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(ev, i, t);
}

static void
sift_down(struct evloop *ev, size_t i)
{
	struct evtimer *t = ev->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < ev->nheap) {
		if (c + 1 < ev->nheap && timer_less(ev->heap[c + 1], ev->heap[c]))
			c++;
		if (!timer_less(ev->heap[c], t))
			break;
		heap_set(ev, i, ev->heap[c]);
		i = c;
	}
	heap_set(ev, i, t);
}

struct evtimer *
evloop_timer(struct evloop *ev, uint64_t ms, evloop_timer_fn *fn, void *arg)
{
	struct evtimer *t, **nh;

	if (ev->nheap == ev->capheap) {
		size_t ncap = ev->capheap ? ev->capheap * 2 : 64;
		if ((nh = reallocarray(ev->heap, ncap, sizeof(*nh))) == NULL)
			return NULL;
		ev->heap = nh;
		ev->capheap = ncap;
	}
	if ((t = malloc(sizeof(*t))) == NULL)
		return NULL;
	t->due = evloop_now_ms() + ms;
	t->seq = ev->seq++;
	t->fn = fn;
	t->arg = arg;
	heap_set(ev, ev->nheap++, t);
	sift_up(ev, t->idx);
	return t;
}

/* Take t out of the heap without freeing it. */
static void
heap_remove(struct evloop *ev, struct evtimer *t)
{
	size_t i = t->idx;
	struct evtimer *last = ev->heap[--ev->nheap];

	if (i == ev->nheap)
		return;
	heap_set(ev, i, last);
	sift_down(ev, i);
	sift_up(ev, last->idx);
}

void
evloop_timer_cancel(struct evloop *ev, struct evtimer *t)
{
	if (t == NULL)
		return;
	heap_remove(ev, t);
	free(t);
}

/* Fire due timers; return the ms until the next one, or -1 for none. */
static int
run_timers(struct evloop *ev)
{
	struct evtimer *t;
	uint64_t now = evloop_now_ms();

	while (ev->nheap > 0 && !ev->stop) {
		t = ev->heap[0];
		if (t->due > now) {
			uint64_t wait = t->due - now;
			return wait > 60000 ? 60000 : (int)wait;
		}
		heap_remove(ev, t);
		t->fn(ev, t->arg);
		free(t);
		now = evloop_now_ms();
	}
	return -1;
}

/* The ms until the first timer is due (0: now), or -1 for none. */
static int
next_timeout(const struct evloop *ev)
{
	uint64_t now, due;

	if (ev->nheap == 0)
		return -1;
	now = evloop_now_ms();
	due = ev->heap[0]->due;
	if (due <= now)
		return 0;
	return due - now > 60000 ? 60000 : (int)(due - now);
}

static void
dispatch(struct evloop *ev, const struct epoll_event *ee)
{
	int fd = (int)(uint32_t)ee->data.u64;
	uint32_t gen = (uint32_t)(ee->data.u64 >> 32);
	struct watcher *w;

	if ((size_t)fd >= ev->nw)
		return;
	w = &ev->w[fd];
	/* Deleted (or deleted and re-added) by an earlier callback: skip. */
	if (!w->used || w->gen != gen)
		return;
	w->fn(ev, fd, ee->events, w->arg);
}

int
evloop_run(struct evloop *ev)
{
	struct epoll_event events[EVLOOP_BATCH];
	int n, i, timeout;

	ev->stop = 0;
	while (!ev->stop) {
		timeout = run_timers(ev);
		if (ev->stop)
			break;
		if (ev->before_wait != NULL) {
			ev->before_wait(ev, ev->before_wait_arg);
			if (ev->stop)
				break;
			timeout = next_timeout(ev);
		}
		n = epoll_wait(ev->epfd, events, EVLOOP_BATCH, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n && !ev->stop; i++)
			dispatch(ev, &events[i]);
	}
	return 0;
}

void
evloop_before_wait(struct evloop *ev, evloop_timer_fn *fn, void *arg)
{
	ev->before_wait = fn;
	ev->before_wait_arg = arg;
}

void
evloop_stop(struct evloop *ev)
{
	ev->stop = 1;
}
