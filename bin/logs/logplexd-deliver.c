/* SPDX-License-Identifier: ISC */
/* Delivery: each message to its app's tails, drains and history, in that order. */
#include <stdlib.h>

#include "logplexd.h"

/*
 * The one file that knows both tails and drains.  Data flows one way:
 * ingest -> here -> {history, tails, drains -> transports}, and the
 * message store is a leaf everyone uses.  What flows back is only data:
 * a transport's notice (L14) waits in lpd.notices, an app that lost its
 * folder is marked gone, a tail with output is marked dirty; this file
 * acts on all three once per round of the loop, before it waits.
 */

void
deliver_msg(struct lpd *l, struct app *a, struct lmsg *m)
{
	struct tail *t;
	struct drain *d;

	(void)l;
	/* Another host keeps this app's log: the line goes there only. */
	if (a->forward != NULL) {
		drain_push(a->forward, m);
		lmsg_unref(m);
		return;
	}
	for (t = a->tails; t != NULL; t = tail_next(t))
		tail_push(t, m);
	for (d = a->drains; d != NULL; d = d->next)
		drain_push(d, m);
	/* The history takes over the caller's reference. */
	lring_push(&a->history, m);
}

/* End a's tails, free its drains, then the app itself. */
static void
remove_app(struct lpd *l, struct app *a)
{
	struct drain *d;

	tail_end_app(a);
	if (a->forward != NULL)
		drain_free(a->forward);
	a->forward = NULL;
	while ((d = a->drains) != NULL) {
		a->drains = d->next;
		drain_free(d);
	}
	app_destroy(l, a);
}

/* Transports' notices, in the order they were made, into their apps. */
static void
deliver_notices(struct lpd *l)
{
	struct lnotice *n;
	unsigned i;

	for (i = 0; i < l->nnotices; i++) {
		n = &l->notices[i];
		if (n->app->gone)
			lmsg_unref(n->m);
		else
			deliver_msg(l, n->app, n->m);
	}
	l->nnotices = 0;
}

/* Apps forgotten this round (no folder, no longer listed) go now. */
static void
reap(struct lpd *l)
{
	struct app *a, *next;
	size_t i;

	for (i = 0; i < l->nbuckets && l->ngone > 0; i++)
		for (a = l->apps[i]; a != NULL; a = next) {
			next = a->next;
			if (a->gone)
				remove_app(l, a);
		}
}

static void
before_wait(struct evloop *ev, void *arg)
{
	struct lpd *l = arg;

	(void)ev;
	deliver_notices(l);	/* before reap: a notice holds its app */
	reap(l);
	tail_flush_dirty(l);	/* one write per session per round */
}

void
deliver_start(struct lpd *l)
{
	evloop_before_wait(l->ev, before_wait, l);
}

void
deliver_free(struct lpd *l)
{
	struct app *a, *next;
	size_t i;

	while (l->nnotices > 0)
		lmsg_unref(l->notices[--l->nnotices].m);
	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = next) {
			next = a->next;
			remove_app(l, a);
		}
	apps_free(l);
}
