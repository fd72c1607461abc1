/* SPDX-License-Identifier: ISC */
/* One drain's core: its bounded queue, losses and L10, degrading, notices. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "diag.h"
#include "logframe.h"
#include "logplexd.h"

void
drain_free(struct drain *d)
{
	d->ops->stop(d);
	lring_free(&d->queue);
	free(d);
}

void
drain_push(struct drain *d, struct lmsg *m)
{
	/* Full: the oldest goes, and the next delivery says so (L10). */
	if (lring_push(&d->queue, lmsg_ref(m)))
		drain_lost(d, 1);
	d->ops->kick(d);
}

void
drain_lost(struct drain *d, unsigned long long n)
{
	if (n == 0)
		return;
	if (d->dropped == 0)
		d->drop_since = time(NULL);
	d->dropped += n;
	d->lost += n;
}

void
drain_degrade(struct drain *d)
{
	size_t over;

	if (d->degraded)
		return;
	/* The messages that no longer fit are losses like any other (L10). */
	over = d->queue.len > DRAIN_DEGRADED ? d->queue.len - DRAIN_DEGRADED : 0;
	if (lring_resize(&d->queue, DRAIN_DEGRADED) == -1)
		return;
	drain_lost(d, over);
	d->degraded = 1;
	diag_warn("%s: drain %s: no delivery for a while; buffer cut to %d "
	    "messages", d->app->name, d->ent.token, DRAIN_DEGRADED);
}

void
drain_restore(struct drain *d)
{
	if (!d->degraded ||
	    lring_resize(&d->queue, d->lpd->conf.drain_buffer) == -1)
		return;
	d->degraded = 0;
	diag_verbose("%s: drain %s: delivering again; buffer back to %u",
	    d->app->name, d->ent.token, d->lpd->conf.drain_buffer);
}

uint64_t
drain_fuzz_ms(uint64_t base)
{
	uint64_t span = base / 8 < 15000 ? base / 8 : 15000;
	uint32_t r = 0;

	/*
	 * Spread the closes of drains started together (a reload, a boot);
	 * the cap keeps short test settings nearly exact.
	 */
	if (span == 0 || getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		return base;
	return base + r % (span + 1);
}

struct lmsg *
drain_take_l10(struct drain *d)
{
	char text[160], ts[LOGFRAME_TS_SEC_LEN + 1];
	struct logfield fts = { ts, LOGFRAME_TS_SEC_LEN };
	struct logfield src = { "heroku", 6 }, dyno = { "logplex", 7 };
	struct lmsg *m;

	if (d->dropped == 0)
		return NULL;
	logframe_l10(text, sizeof(text), d->dropped, d->drop_since);
	/* logplex stamps L10 with whole seconds (logplex_syslog_utils). */
	logframe_ts_seconds(ts, time(NULL));
	if ((m = lmsg_new(LOGFRAME_PRI_L10, &fts, &src, &dyno, text,
	    strlen(text))) != NULL)
		d->dropped = 0;
	return m;
}

void
drain_notice(struct drain *d, const char *text)
{
	struct lpd *l = d->lpd;
	struct lmsg *m;

	/*
	 * Delivered before the loop next waits (deliver.c): a transport
	 * never calls back into delivery, and its own queue gets the line
	 * like every other drain of the app.  A full table drops it: these
	 * come one per failed connection, behind a backoff.
	 */
	if (l->nnotices >= LPD_NOTICES || (m = lmsg_platform(172, text)) == NULL)
		return;
	l->notices[l->nnotices].app = d->app;
	l->notices[l->nnotices++].m = m;
}
