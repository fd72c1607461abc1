/* SPDX-License-Identifier: ISC */
/* logplexd's private interfaces: messages, apps, tails, drains. */
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

/*
 * One log message, shared by reference between an app's history, tail
 * queues and drain queues: it is never copied after ingest and never
 * changed.  data holds TS, SOURCE, DYNO and MSG back to back.
 */
struct lmsg {
	unsigned	refs;
	int		pri;
	uint16_t	tslen, srclen, dynolen;
	uint32_t	msglen;
	char		data[];
};

/* A bounded FIFO of message references; pushing onto a full one drops
 * (and unrefs) the oldest. */
struct lring {
	struct lmsg	**v;
	size_t		cap, head, len;
};

struct tail;
struct drain;

struct app {
	struct app	*next;		/* hash chain */
	struct lring	 history;
	struct tail	*tails;		/* following sessions */
	struct drain	*drains;
	int		 mark;		/* reload: still listed */
	uint64_t	 seen_ms;	/* its folder was last seen then */
	char		 name[];
};

/* What a drain transport does; the drain core owns the queue. */
struct drain_ops {
	int	(*start)(struct drain *);	/* 0, or -1 and a warning said */
	void	(*kick)(struct drain *);	/* the queue has new messages */
	int	(*busy)(const struct drain *);	/* a batch is in flight */
	void	(*stop)(struct drain *);	/* free transport state */
	const char *(*state)(const struct drain *);
};

struct drain {
	struct drain		*next;
	struct app		*app;
	struct lpd		*lpd;
	struct drain_entry	 ent;
	struct drainurl		 url;
	struct lring		 queue;
	unsigned long long	 dropped;	/* since the last L10 */
	time_t			 drop_since;
	unsigned long long	 sent, lost;	/* totals, for SIGUSR1 */
	const struct drain_ops	*ops;
	void			*impl;
	int			 mark;
	int			 degraded;	/* buffer cut to DRAIN_DEGRADED */
};

#define DRAIN_DEGRADED	10	/* messages a degraded drain keeps */

struct lpd {
	struct conf	 conf;
	struct evloop	*ev;
	struct app	**apps;		/* hash buckets */
	size_t		 nbuckets, napps;
	int		 dgram_fd, tail_fd, listen_fd;
	char		 listen_addr[300];
	struct tail	*pending;	/* sessions not yet attached to an app */
	struct tail	*dirty;		/* sessions with output to push */
	unsigned long long received, malformed, tails_open;
	unsigned long long unknown_app;	/* lines for apps without a folder */
	unsigned long long unauthenticated; /* TCP frames without a good token */
	unsigned long long bad_ts;	/* timestamps replaced by the clock */
	struct tokens	*tokens;	/* --listen's input tokens */
	int		 stopping;
	uint64_t	 stop_deadline;
	struct lpd_http	*http;
	struct lpd_tls	*tls;
};

/* logplexd-store.c: messages, rings, apps, delivery. */
struct lmsg *lmsg_new(int pri, const struct logfield *ts,
	    const struct logfield *source, const struct logfield *dyno,
	    const char *msg, size_t msglen);
/* A message from logplexd itself: "heroku[logplex]: TEXT", time now. */
struct lmsg *lmsg_platform(int pri, const char *text);
void	lmsg_unref(struct lmsg *m);
static inline struct lmsg *
lmsg_ref(struct lmsg *m)
{
	m->refs++;
	return m;
}
void	lmsg_view(const struct lmsg *m, struct logmsg *out);
int	lring_init(struct lring *r, size_t cap);
void	lring_free(struct lring *r);
int	lring_push(struct lring *r, struct lmsg *m);	/* 1: dropped one */
struct lmsg *lring_pop(struct lring *r);
struct lmsg *lring_at(const struct lring *r, size_t i);	/* 0 = oldest */
int	lring_resize(struct lring *r, size_t cap);
struct app *app_get(struct lpd *l, const char *name, size_t len, int create);
/* Forget an app: its tails end, its drains and history are freed. */
void	app_remove(struct lpd *l, struct app *a);
/* Store m in app's history and hand it to its tails and drains. */
void	lpd_deliver(struct lpd *l, struct app *a, struct lmsg *m);
void	lpd_free_apps(struct lpd *l);

/* logplexd-known.c: which app names have a folder under DYNO_ROOT/apps. */
/*
 * The app called name (len bytes, not NUL-terminated), made on first use,
 * when DYNO_ROOT/apps/NAME is a folder; NULL otherwise, with errno EINVAL
 * (not an app name), ENOENT (no such folder) or ENOMEM.  Answers are
 * cached: a known app's folder is looked at again after KNOWN_RECHECK_MS
 * (the app is removed when it is gone), a missing one after KNOWN_NEG_MS.
 */
struct app *app_known(struct lpd *l, const char *name, size_t len);

/* logplexd-token.c: input tokens for --listen, from apps' log-tokens. */
struct token {
	struct token	*next;
	char		 token[40];	/* "t.<uuid>" */
	char		 source[8];	/* "app" or "heroku" */
	char		 app[32];
};
/* Re-read every app's log-tokens file; a bad file is said and skipped. */
int	tokens_reload(struct lpd *l);
/* The token spelt by p (len bytes), or NULL. */
const struct token *tokens_find(const struct lpd *l, const char *p,
	    size_t len);
void	tokens_free(struct lpd *l);

/* logplexd-ingest.c */
int	ingest_open(struct lpd *l);
int	ingest_listen(struct lpd *l, const char *addr);
void	ingest_close(struct lpd *l);
/* Parse one RFC 5424 message and deliver it (split if long). */
void	ingest_message(struct lpd *l, const char *buf, size_t len);

/* logplexd-tail.c */
int	tail_open(struct lpd *l);
void	tail_close_all(struct lpd *l);
void	tail_push(struct tail *t, struct lmsg *m);	/* filters, queues */
struct tail *tail_next(const struct tail *t);
void	tail_flush_dirty(struct lpd *l);
void	tail_dump(struct lpd *l, FILE *fp);
/* End every session following a (its app is being removed). */
void	tail_end_app(struct app *a);

/* logplexd-drain.c: the drain core and the syslog transports. */
int	drains_reload(struct lpd *l);	/* 0, or -1 and a warning said */
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
int	drains_busy(struct lpd *l);
void	drains_dump(struct lpd *l, FILE *fp);
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
