/* SPDX-License-Identifier: ISC */
/* logplexd's message store: messages, bounded rings, the apps and their history. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logplexd.h"

struct lmsg *
lmsg_new(int pri, const struct logfield *ts, const struct logfield *source,
    const struct logfield *dyno, const char *msg, size_t msglen)
{
	struct lmsg *m;
	char *p;

	if (ts->len > UINT16_MAX || source->len > UINT16_MAX ||
	    dyno->len > UINT16_MAX || msglen > UINT32_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	m = malloc(sizeof(*m) + ts->len + source->len + dyno->len + msglen);
	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->pri = pri;
	m->tslen = (uint16_t)ts->len;
	m->srclen = (uint16_t)source->len;
	m->dynolen = (uint16_t)dyno->len;
	m->msglen = (uint32_t)msglen;
	p = m->data;
	memcpy(p, ts->p, ts->len);
	memcpy(p += ts->len, source->p, source->len);
	memcpy(p += source->len, dyno->p, dyno->len);
	memcpy(p + dyno->len, msg, msglen);
	return m;
}

struct lmsg *
lmsg_platform(int pri, const char *text)
{
	char ts[LOGMSG_TS_LEN + 1];
	struct logfield fts, src = { "heroku", 6 }, dyno = { "logplex", 7 };

	logmsg_timestamp(ts, NULL);
	fts.p = ts;
	fts.len = strlen(ts);
	return lmsg_new(pri, &fts, &src, &dyno, text, strlen(text));
}

void
lmsg_unref(struct lmsg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

void
lmsg_view(const struct lmsg *m, struct logmsg *out)
{
	const char *p = m->data;

	out->pri = m->pri;
	out->ts.p = p;
	out->ts.len = m->tslen;
	out->source.p = p += m->tslen;
	out->source.len = m->srclen;
	out->dyno.p = p += m->srclen;
	out->dyno.len = m->dynolen;
	out->msg.p = p + m->dynolen;
	out->msg.len = m->msglen;
	out->app.p = "";
	out->app.len = 0;
}

int
lring_init(struct lring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if ((r->v = calloc(cap, sizeof(*r->v))) == NULL)
		return -1;
	r->cap = cap;
	return 0;
}

void
lring_free(struct lring *r)
{
	while (r->len > 0)
		lmsg_unref(lring_pop(r));
	free(r->v);
	r->v = NULL;
	r->cap = 0;
}

int
lring_push(struct lring *r, struct lmsg *m)
{
	int dropped = 0;

	if (r->len == r->cap) {
		lmsg_unref(lring_pop(r));
		dropped = 1;
	}
	r->v[(r->head + r->len++) % r->cap] = m;
	return dropped;
}

struct lmsg *
lring_pop(struct lring *r)
{
	struct lmsg *m;

	if (r->len == 0)
		return NULL;
	m = r->v[r->head];
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return m;
}

struct lmsg *
lring_at(const struct lring *r, size_t i)
{
	return i < r->len ? r->v[(r->head + i) % r->cap] : NULL;
}

/* A smaller ring keeps the newest messages. */
int
lring_resize(struct lring *r, size_t cap)
{
	struct lring n;

	if (cap == r->cap)
		return 0;
	if (lring_init(&n, cap) == -1)
		return -1;
	while (r->len > cap)
		lmsg_unref(lring_pop(r));
	while (r->len > 0)
		lring_push(&n, lring_pop(r));
	free(r->v);
	*r = n;
	return 0;
}

static size_t
hash(const char *s, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Double the table when it holds more apps than buckets. */
static void
grow(struct lpd *l)
{
	struct app **nb, *a, *next;
	size_t i, n = l->nbuckets ? l->nbuckets * 2 : 256;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = next) {
			next = a->next;
			a->next = nb[hash(a->name, strlen(a->name)) % n];
			nb[hash(a->name, strlen(a->name)) % n] = a;
		}
	free(l->apps);
	l->apps = nb;
	l->nbuckets = n;
}

struct app *
app_get(struct lpd *l, const char *name, size_t len, int create)
{
	struct app *a;
	size_t b;

	if (l->nbuckets > 0)
		for (a = l->apps[hash(name, len) % l->nbuckets]; a; a = a->next)
			if (strncmp(a->name, name, len) == 0 &&
			    a->name[len] == '\0') {
				if (create && a->gone) {
					a->gone = 0;	/* back before reaped */
					l->ngone--;
				}
				return a;
			}
	if (!create)
		return NULL;
	if (l->napps >= l->nbuckets)
		grow(l);
	if (l->nbuckets == 0 || (a = calloc(1, sizeof(*a) + len + 1)) == NULL)
		return NULL;
	if (lring_init(&a->history, l->conf.history_lines) == -1) {
		free(a);
		return NULL;
	}
	memcpy(a->name, name, len);
	b = hash(name, len) % l->nbuckets;
	a->next = l->apps[b];
	l->apps[b] = a;
	l->napps++;
	return a;
}

void
app_forget(struct lpd *l, struct app *a)
{
	if (a->gone)
		return;
	a->gone = 1;
	l->ngone++;
}

void
app_destroy(struct lpd *l, struct app *a)
{
	struct app **pp;

	for (pp = &l->apps[hash(a->name, strlen(a->name)) % l->nbuckets];
	    *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	if (a->gone)
		l->ngone--;
	lring_free(&a->history);
	free(a);
	l->napps--;
}

void
apps_free(struct lpd *l)
{
	struct app *a, *next;
	size_t i;

	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = next) {
			next = a->next;
			lring_free(&a->history);
			free(a);
		}
	free(l->apps);
	l->apps = NULL;
	l->nbuckets = l->napps = l->ngone = 0;
}
