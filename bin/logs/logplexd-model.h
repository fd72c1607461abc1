/* SPDX-License-Identifier: ISC */
/*
 * logplexd's data model: messages, rings, apps, drains and the daemon's
 * state, types only: every file uses them, none owns them.
 */
#ifndef LOGPLEXD_MODEL_H
#define LOGPLEXD_MODEL_H

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
	struct drain	*forward;	/* another host owns the log: to it */
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
	/*
	 * A forward (app.forward, not in app.drains): the app's lines go as
	 * input frames to the log owner, with the token of their source.
	 */
	int			 forward;
	char			 fwd_host[64];	/* the owner's host name */
	char			 fwd_token[2][40];	/* app, heroku; "" none */
	unsigned long long	 no_token;	/* lines without a token */
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
struct lpd_stream;

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
	struct lpd_stream *stream;	/* logplexd.stream and its producers */
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
 * logplexd.c -> most; stream -> ingest; ingest -> known, token, deliver, store; deliver ->
 * tail, drain, store; tail -> known, store; drains -> drain, http and
 * syslog (their ops), store; http -> drain, store; syslog -> drain,
 * resolve, store; known -> store; drain -> store; store, token, resolve
 * -> none.
 */

/* logplexd-token.c's table: one input token of an app. */
struct token {
	struct token	*next;
	char		 token[40];	/* "t.<uuid>" */
	char		 source[8];	/* "app" or "heroku" */
	char		 app[32];
};

/* One more holder of m (a history, a tail or a drain queue). */
static inline struct lmsg *
lmsg_ref(struct lmsg *m)
{
	m->refs++;
	return m;
}

#endif
