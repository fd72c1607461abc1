/* SPDX-License-Identifier: ISC */
/* logplexd's private interfaces, file by file: each function under its file. */
#ifndef LOGPLEXD_H
#define LOGPLEXD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "conf.h"
#include "drains.h"
#include "evloop.h"
#include "logmsg.h"
#include "tailproto.h"
#include "logplexd-model.h"

/* logplexd-store.c: messages, rings, the apps table (a leaf). */
struct lmsg *lmsg_new(int pri, const struct logfield *ts,
	    const struct logfield *source, const struct logfield *dyno,
	    const char *msg, size_t msglen);
/* A message from logplexd itself: "heroku[logplex]: TEXT", time now. */
struct lmsg *lmsg_platform(int pri, const char *text);
void	lmsg_unref(struct lmsg *m);
void	lmsg_view(const struct lmsg *m, struct logmsg *out);
int	lring_init(struct lring *r, size_t cap);
void	lring_free(struct lring *r);
int	lring_push(struct lring *r, struct lmsg *m);	/* 1: dropped one */
struct lmsg *lring_pop(struct lring *r);
struct lmsg *lring_at(const struct lring *r, size_t i);	/* 0 = oldest */
int	lring_resize(struct lring *r, size_t cap);
/*
 * The app called name (len bytes), or NULL; with create, made when
 * missing (NULL on ENOMEM) and brought back when marked gone.
 */
struct app *app_get(struct lpd *l, const char *name, size_t len, int create);
/* Mark a gone: deliver.c removes it, tails, drains and all, before the
 * loop next waits.  Idempotent. */
void	app_forget(struct lpd *l, struct app *a);
/* Free a and its history; its tails and drains must be gone already. */
void	app_destroy(struct lpd *l, struct app *a);
/* Free every app's history and the table (shutdown, after deliver_free). */
void	apps_free(struct lpd *l);

/* logplexd-deliver.c: the only file that knows both tails and drains. */
/* Hand m to a's tails and drains, then store it in its history (which
 * takes over the caller's reference). */
void	deliver_msg(struct lpd *l, struct app *a, struct lmsg *m);
/* Once per loop round, before the wait: deliver the transports' notices,
 * remove the apps marked gone, write the tails' output. */
void	deliver_start(struct lpd *l);
/* Shutdown: every app removed, tails, drains, history and all. */
void	deliver_free(struct lpd *l);

/* logplexd-known.c: which app names have a folder under DYNO_ROOT/apps. */
/*
 * The app called name (len bytes, not NUL-terminated), made on first use,
 * when DYNO_ROOT/apps/NAME is a folder; NULL otherwise, with errno EINVAL
 * (not an app name), ENOENT (no such folder) or ENOMEM.  Answers are
 * cached: a known app's folder is looked at again after KNOWN_RECHECK_MS
 * (the app is forgotten when it is gone), a missing one after KNOWN_NEG_MS.
 */
struct app *app_known(struct lpd *l, const char *name, size_t len);

/* logplexd-token.c: input tokens for --listen, from apps' log-tokens. */
/* Re-read every app's log-tokens file; a bad file is said and skipped. */
int	tokens_reload(struct lpd *l);
/* The token spelt by p (len bytes), or NULL. */
const struct token *tokens_find(const struct lpd *l, const char *p,
	    size_t len);
void	tokens_free(struct lpd *l);

/* logplexd-ingest.c: the datagram socket and the TCP syslog listener. */
int	ingest_open(struct lpd *l);
int	ingest_listen(struct lpd *l, const char *addr);
void	ingest_close(struct lpd *l);
/* Parse one RFC 5424 message and deliver it (split if long). */
void	ingest_message(struct lpd *l, const char *buf, size_t len);
/* Count a message dropped as malformed, and say why (rate-limited). */
void	ingest_malformed(struct lpd *l, const char *why);

/* logplexd-stream.c: logplexd.stream, octet-counted messages from local
 * producers (dyno-manager); ends connections without losing a line. */
int	stream_open(struct lpd *l);
/* Stop taking lines: no new connection, every open one read to its end. */
void	stream_close(struct lpd *l);
void	stream_free(struct lpd *l);
void	stream_dump(const struct lpd *l, FILE *fp);

/* logplexd-tail.c: tail sessions on logplexd.tail. */
int	tail_open(struct lpd *l);
void	tail_close_all(struct lpd *l);
void	tail_push(struct tail *t, struct lmsg *m);	/* filters, queues */
struct tail *tail_next(const struct tail *t);
/* Write every session's queued output (deliver.c, once per round). */
void	tail_flush_dirty(struct lpd *l);
void	tail_dump(struct lpd *l, FILE *fp);
/* End every session following a (its app is being removed). */
void	tail_end_app(struct app *a);
/* A --listen connection whose first bytes (buf, len) are a tail request:
 * the session takes fd over.  It must carry one of the app's tokens. */
void	tail_adopt(struct lpd *l, int fd, const char *buf, size_t len);

/* logplexd-drain.c: one drain's core, what the transports call. */
void	drain_push(struct drain *d, struct lmsg *m);
void	drain_free(struct drain *d);
/* The L10 notice for d's losses, or NULL when none. */
struct lmsg *drain_take_l10(struct drain *d);
/* Count n messages lost in transit (a dropped batch). */
void	drain_lost(struct drain *d, unsigned long long n);
/* Shrink the queue to DRAIN_DEGRADED (counting what it drops), or
 * restore the configured size after a delivery; both idempotent. */
void	drain_degrade(struct drain *d);
void	drain_restore(struct drain *d);
/* base plus up to min(15 s, base / 8) at random, as logplex's fuzz. */
uint64_t drain_fuzz_ms(uint64_t base);
/* A "heroku[logplex]: TEXT" line (L14) for d's app's log, delivered
 * before the loop next waits. */
void	drain_notice(struct drain *d, const char *text);

/* logplexd-drains.c: the drains files, each app's set of drains. */
int	drains_reload(struct lpd *l);	/* 0, or -1 and a warning said */
int	drains_busy(struct lpd *l);
void	drains_dump(struct lpd *l, FILE *fp);

/* logplexd-owner.c: the app's log owner (DYNO_ROOT/apps/APP/log-owner). */
/*
 * Read a's log-owner and log-tokens: forward its lines to the owner named
 * (a.forward), or, with no file, keep them here (the forward's queue is
 * delivered here first).  A bad file keeps things as they are, said.
 */
void	owner_load(struct lpd *l, struct app *a);

/* logplexd-syslog.c: syslog:// and syslog+tls:// transports. */
int	tls_init(struct lpd *l);
void	tls_free(struct lpd *l);
extern const struct drain_ops syslog_ops;

/* logplexd-resolve.c: name lookups in short-lived helper threads. */
struct addrinfo;
struct resolve;
/* Called in the loop; res (NULL when rc != 0) is the callee's to free. */
typedef void resolve_fn(void *arg, int rc, struct addrinfo *res);
/* getaddrinfo for a numeric host only (never blocks): its return value. */
int	resolve_numeric(const char *host, unsigned port, struct addrinfo **res);
/*
 * Look host up off the loop; fn runs once with the answer.  Returns the
 * lookup, or NULL with errno (EAGAIN: too many lookups running).
 */
struct resolve *resolve_start(struct evloop *ev, const char *host,
	    unsigned port, resolve_fn *fn, void *arg);
/* Forget a lookup (NULL is fine): fn will not run, nothing leaks. */
void	resolve_cancel(struct resolve *r);

/* logplexd-http.c: HTTP(S) drains on libcurl's multi socket interface. */
int	http_init(struct lpd *l);
void	http_free(struct lpd *l);
extern const struct drain_ops http_ops;

#endif
