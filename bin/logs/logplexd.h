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
	int		 gone;		/* forgotten: removed before the next wait */
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

/*
 * A line a transport has to say in its app's log (L14), waiting for
 * delivery before the loop next waits; the app outlives it (apps are
 * removed only there, after the notices).
 */
struct lnotice {
	struct app	*app;
	struct lmsg	*m;
};

#define LPD_NOTICES	64	/* notices in one round; beyond, dropped */
#define KNOWN_NEG_SLOTS	1024	/* logplexd-known.c's negative cache */
#define KNOWN_NAME_MAX	31	/* names_check_app: at most 30 */

struct ingest_conn;

struct lpd {
	struct conf	 conf;
	struct evloop	*ev;
	struct app	**apps;		/* hash buckets */
	size_t		 nbuckets, napps;
	size_t		 ngone;		/* apps marked gone, not yet removed */
	struct lnotice	 notices[LPD_NOTICES];
	unsigned	 nnotices;
	int		 dgram_fd, tail_fd, listen_fd;
	char		 listen_addr[300];
	struct tail	*pending;	/* sessions not yet attached to an app */
	struct tail	*dirty;		/* sessions with output to push */
	unsigned	 ntails;	/* sessions open */
	char		*dgram_bufs;	/* ingest: recvmmsg(2)'s buffers */
	struct ingest_conn *conns;	/* ingest: TCP producers */
	unsigned	 nconns;
	struct {
		uint64_t	until;
		char		name[KNOWN_NAME_MAX + 1];
	}		 neg[KNOWN_NEG_SLOTS];	/* names without a folder */
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

/*
 * Who calls whom (no circle; t/0503 checks it from the objects):
 * logplexd.c -> most; ingest -> known, token, deliver, store; deliver ->
 * tail, drain, store; tail -> known, store; drains -> drain, http and
 * syslog (their ops), store; http -> drain, store; syslog -> drain,
 * resolve, store; known -> store; drain -> store; store, token, resolve
 * -> none.
 */

/* logplexd-store.c: messages, rings, the apps table (a leaf). */
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

/* logplexd-ingest.c: the datagram socket and the TCP syslog listener. */
int	ingest_open(struct lpd *l);
int	ingest_listen(struct lpd *l, const char *addr);
void	ingest_close(struct lpd *l);
/* Parse one RFC 5424 message and deliver it (split if long). */
void	ingest_message(struct lpd *l, const char *buf, size_t len);

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
