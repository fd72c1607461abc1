/* SPDX-License-Identifier: ISC */
/* An app's log owner: forward its lines to the owner host, or keep them here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "logowner.h"
#include "logplexd.h"
#include "logtokens.h"
#include "state.h"

/*
 * Across hosts an app's history, tails and drains live on one host, its
 * log owner, so a tail or a drain sees each line once.  Every other host
 * forwards the app's lines there, in order, as input frames on the
 * owner's --listen port with the app's token of the line's source (the
 * token says the app and the source, as Logplex's input does).  The
 * forward is a drain of its own: the same bounded queue, the same L10 for
 * lines beyond it (said in-band, so the owner's stream carries it), the
 * same reconnect, only a shorter backoff and no degrading: the owner is
 * ours, not a customer's endpoint.
 */

/* The app's first token of each source; 0 when it has at least one. */
static int
load_tokens(struct lpd *l, const char *app, char tok[2][40])
{
	struct logtoken lt[LOGTOKENS_MAX];
	char path[PATH_MAX], *text;
	int i, n;

	tok[0][0] = tok[1][0] = '\0';
	if (state_pathf(path, sizeof(path), "%s/apps/%s/" LOGTOKENS_FILE,
	    l->conf.root, app) == -1 ||
	    state_read(path, LOGTOKENS_FILE_MAX, &text, NULL) == -1)
		return -1;
	n = logtokens_parse(text, lt, LOGTOKENS_MAX, NULL, 0);
	free(text);
	for (i = 0; i < n; i++) {
		int k = strcmp(lt[i].source, "heroku") == 0;

		if (tok[k][0] == '\0')
			memcpy(tok[k], lt[i].token, sizeof(lt[i].token));
	}
	return tok[0][0] != '\0' || tok[1][0] != '\0' ? 0 : -1;
}

static struct drain *
forward_new(struct lpd *l, struct app *a, const struct logowner *o)
{
	char addr[64];
	struct drain *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->app = a;
	d->lpd = l;
	d->forward = 1;
	d->url.kind = DRAIN_SYSLOG;
	memcpy(d->url.host, o->addr, sizeof(o->addr));
	d->url.port = o->port;
	memcpy(d->fwd_host, o->host, sizeof(o->host));
	logowner_addr(addr, sizeof(addr), o);
	snprintf(d->ent.url, sizeof(d->ent.url), "log-owner %s %s", o->host,
	    addr);
	memcpy(d->ent.token, "-", 2);
	d->ops = &syslog_ops;
	if (lring_init(&d->queue, l->conf.drain_buffer) == -1) {
		free(d);
		return NULL;
	}
	if (d->ops->start(d) == -1) {
		lring_free(&d->queue);
		free(d);
		return NULL;
	}
	return d;
}

/* This host owns the log again: what waited for the old owner stays here. */
static void
take_back(struct lpd *l, struct app *a)
{
	struct drain *d = a->forward;
	struct lmsg *m;

	a->forward = NULL;
	while ((m = lring_pop(&d->queue)) != NULL)
		deliver_msg(l, a, m);
	if ((m = drain_take_l10(d)) != NULL)
		deliver_msg(l, a, m);
	drain_free(d);
	diag_verbose("%s: log kept on this host", a->name);
}

/* A new owner: the queue moves to it, losses and all, in order. */
static void
move_to(struct lpd *l, struct app *a, const struct logowner *o)
{
	struct drain *old = a->forward, *d;
	struct lring tmp;

	if ((d = forward_new(l, a, o)) == NULL) {
		diag_warn_errno("%s: forward to %s", a->name, o->host);
		return;
	}
	if (old != NULL) {
		tmp = d->queue;
		d->queue = old->queue;
		old->queue = tmp;
		d->dropped = old->dropped;
		d->drop_since = old->drop_since;
		old->dropped = 0;
		drain_free(old);
	} else
		tail_end_app(a);	/* its tails follow the owner now */
	a->forward = d;
	diag_verbose("%s: log kept on %s", a->name, d->ent.url);
}

static int
same_owner(const struct drain *d, const struct logowner *o)
{
	return strcmp(d->fwd_host, o->host) == 0 &&
	    strcmp(d->url.host, o->addr) == 0 && d->url.port == o->port;
}

void
owner_load(struct lpd *l, struct app *a)
{
	struct logowner o;
	char tok[2][40];
	const char *why = NULL;
	int rc;

	if ((rc = logowner_read(l->conf.root, a->name, &o, &why)) == -1) {
		diag_warn("%s/apps/%s/" LOGOWNER_FILE ": %s; keeping the log "
		    "where it is", l->conf.root, a->name, why != NULL ? why :
		    strerror(errno));
		return;
	}
	if (rc == 0) {
		if (a->forward != NULL)
			take_back(l, a);
		return;
	}
	if (load_tokens(l, a->name, tok) == -1) {
		/* Kept here rather than lost: the owner would refuse them. */
		diag_warn("%s: no input token in log-tokens to reach the log "
		    "owner %s; lines kept on this host", a->name, o.host);
		if (a->forward != NULL)
			take_back(l, a);
		return;
	}
	if (a->forward == NULL || !same_owner(a->forward, &o))
		move_to(l, a, &o);
	if (a->forward != NULL)
		memcpy(a->forward->fwd_token, tok, sizeof(tok));
}
