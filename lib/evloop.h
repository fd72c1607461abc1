/* SPDX-License-Identifier: ISC */
/* One thread, one loop: epoll for fds, a timer heap, signalfd for signals. */
#ifndef DYNO_EVLOOP_H
#define DYNO_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct evtimer;

typedef void evloop_fd_fn(struct evloop *ev, int fd, uint32_t events, void *arg);
typedef void evloop_timer_fn(struct evloop *ev, void *arg);
typedef void evloop_signal_fn(struct evloop *ev, int signo, void *arg);

/* NULL with errno on failure. */
struct evloop *evloop_new(void);
/* Frees the loop and its pending timers; fds are the caller's to close. */
void	evloop_free(struct evloop *ev);

/* Watch fd for EPOLLIN/EPOLLOUT/...; one watcher per fd.  0 or -1/errno. */
int	evloop_add_fd(struct evloop *ev, int fd, uint32_t events,
	    evloop_fd_fn *fn, void *arg);
int	evloop_mod_fd(struct evloop *ev, int fd, uint32_t events);
/* Safe to call from inside a callback, for any fd, even the current one. */
int	evloop_del_fd(struct evloop *ev, int fd);

/*
 * Block `signo` for the process and deliver it through a signalfd to fn.
 * Call before starting threads or children (children get the default mask
 * back through evloop_child_sigreset()).  0 or -1/errno.
 */
int	evloop_add_signal(struct evloop *ev, int signo, evloop_signal_fn *fn,
	    void *arg);

/* In a forked child: unblock every signal and restore default handlers. */
void	evloop_child_sigreset(void);

/*
 * One-shot timer `ms` from now.  Returns a handle valid until the timer
 * fires or is cancelled; NULL on ENOMEM.
 */
struct evtimer *evloop_timer(struct evloop *ev, uint64_t ms,
	    evloop_timer_fn *fn, void *arg);
void	evloop_timer_cancel(struct evloop *ev, struct evtimer *t);

/*
 * fn runs once per round of the loop, after the due timers and before it
 * waits for events: for work that is cheaper batched than done per event
 * (logplexd writes its tail sessions' output there).  One hook per loop; a
 * new call replaces it, NULL removes it.  A timer fn starts that is due at
 * once fires without waiting.
 */
void	evloop_before_wait(struct evloop *ev, evloop_timer_fn *fn, void *arg);

/* Run until evloop_stop(); returns 0, or -1 with errno if epoll fails. */
int	evloop_run(struct evloop *ev);
void	evloop_stop(struct evloop *ev);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t evloop_now_ms(void);

#endif
