/* SPDX-License-Identifier: ISC */
/* dyno-agent: one etcd watch on /dyno/ kept as a copy the rounds read. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "diag.h"
#include "dyno-agent.h"
#include "logtokens.h"

/*
 * The rounds read etcd through this copy instead of ranging every prefix
 * each 500 ms: a thread holds one watch on /dyno/ (its own client: a curl
 * handle is one thread's), applies each event to a sorted array and wakes
 * the loop through an eventfd.  One watch and not one per prefix: every
 * prefix the agent reads (hosts, drain, apps, assign, status, placer) is
 * then seen at one revision, so the placer never pairs the hosts of one
 * moment with the assignments of another.  lib/etcd resumes a broken
 * stream from the last revision + 1 and ranges again after a compaction
 * (a RESET, whose keys fill a fresh copy swapped in whole); a watch that
 * gives up is started again with a backoff of 0.25 s doubling to 5 s.
 * Memory: one event is at most lib/etcd's 2 MiB line; the copy at most
 * WATCH_MAX_BYTES, past which it is out of sync (the rounds wait) rather
 * than partial.  The copy holds only what the rounds act on (agent_keeps):
 * an app's release records, whose config vars are secrets and which only
 * release follow reads (the one it needs, from etcd), are dropped as they
 * come, so 50 apps of 20 releases with 4 KiB of config each cost the
 * copy 4.4 MB less and every round's ranges nothing.
 */
#define WATCH_MAX_BYTES	(64UL << 20)
#define WATCH_MAX_KEYS	200000

struct wkv {
	char		*key;
	char		*value;
	size_t		 vlen;
	int64_t		 create_rev, mod_rev, lease;
};

struct wtable {
	struct wkv	*v;
	size_t		 n, cap, bytes;
};

struct watcher {
	struct agent	*a;
	struct etcd	*etcd;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	volatile int	 stop;
	int		 wakefd;
	struct wtable	 t;		/* what the rounds read */
	struct wtable	 fresh;		/* a RESET's range, being filled */
	size_t		 expect;	/* PUTs of the range still to come */
	int		 filling;
	int		 synced;	/* t is etcd's at `rev` */
	int		 full;		/* over the bounds: out of sync */
	int		 midbatch;	/* a response half applied */
	int64_t		 rev;
	unsigned long	 events, resets;
};

/* Under apps/<app>/, the leaves the rounds read; all else is kept. */
static const char *const app_leaves[] = {
	"formation", "current", "loghost", LOGTOKENS_FILE, "drains"
};

int
agent_keeps(const char *key)
{
	const char *leaf;
	size_t i;

	if (strncmp(key, AGENT_PREFIX "apps/", strlen(AGENT_PREFIX "apps/")))
		return 1;
	if ((leaf = strchr(key + strlen(AGENT_PREFIX "apps/"), '/')) == NULL)
		return 0;
	for (i = 0; i < sizeof(app_leaves) / sizeof(app_leaves[0]); i++)
		if (strcmp(leaf + 1, app_leaves[i]) == 0)
			return 1;
	return 0;
}

static void
wkv_free(struct wkv *k)
{
	free(k->key);
	free(k->value);
}

static void
table_clear(struct wtable *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		wkv_free(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Index of key, or where it goes (*found 0). */
static size_t
table_find(const struct wtable *t, const char *key, int *found)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(t->v[mid].key, key)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* key = kv's value, within the bounds.  0, or -1 (out of memory, full). */
static int
table_put(struct wtable *t, const struct etcd_kv *kv)
{
	struct wkv k = { NULL, NULL, kv->vlen, kv->create_rev, kv->mod_rev,
	    kv->lease }, *nv;
	size_t i, klen = strlen(kv->key);
	int found;

	if (!agent_keeps(kv->key))
		return 0;
	i = table_find(t, kv->key, &found);
	if (t->bytes + klen + kv->vlen > WATCH_MAX_BYTES || (!found &&
	    t->n >= WATCH_MAX_KEYS))
		return -1;
	if ((k.key = strdup(kv->key)) == NULL ||
	    (k.value = malloc(kv->vlen + 1)) == NULL) {
		wkv_free(&k);
		return -1;
	}
	memcpy(k.value, kv->value, kv->vlen + 1);
	if (found) {
		t->bytes -= strlen(t->v[i].key) + t->v[i].vlen;
		wkv_free(&t->v[i]);
	} else {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			if ((nv = realloc(t->v, t->cap * sizeof(*nv))) == NULL) {
				wkv_free(&k);
				return -1;
			}
			t->v = nv;
		}
		memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
		t->n++;
	}
	t->v[i] = k;
	t->bytes += klen + kv->vlen;
	return 0;
}

static void
table_del(struct wtable *t, const char *key)
{
	size_t i;
	int found;

	i = table_find(t, key, &found);
	if (!found)
		return;
	t->bytes -= strlen(t->v[i].key) + t->v[i].vlen;
	wkv_free(&t->v[i]);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

static void
wake(struct watcher *w)
{
	uint64_t one = 1;

	(void)!write(w->wakefd, &one, sizeof(one));
}

/* The RESET's copy is whole: it becomes what the rounds read. */
static void
swap_in(struct watcher *w)
{
	table_clear(&w->t);
	w->t = w->fresh;
	memset(&w->fresh, 0, sizeof(w->fresh));
	w->filling = 0;
	w->synced = !w->full;
	diag_verbose("%s: watch: copy of %zu keys, %zu bytes at revision %"
	    PRId64, w->a->host, w->t.n, w->t.bytes, w->rev);
}

static void
on_reset(struct watcher *w, const struct etcd_event *ev)
{
	/* the revision we were at is gone: what changed meanwhile is read whole */
	if (ev->compacted > 0)
		diag_warn("%s: watch: etcd compacted its history to revision "
		    "%" PRId64 ", past ours (%" PRId64 "): all of " AGENT_PREFIX
		    " read again at revision %" PRId64, w->a->host, ev->compacted,
		    w->rev, ev->revision);
	w->midbatch = 0;
	table_clear(&w->fresh);
	w->full = 0;
	w->filling = 1;
	w->expect = ev->count;
	w->rev = ev->revision;
	w->resets++;
	if (w->expect == 0)
		swap_in(w);
}

static int
on_event(void *arg, const struct etcd_event *ev)
{
	struct watcher *w = arg;
	struct wtable *t;

	pthread_mutex_lock(&w->mu);
	if (ev->type == ETCD_EV_RESET)
		on_reset(w, ev);
	else {
		t = w->filling ? &w->fresh : &w->t;
		if (ev->type == ETCD_EV_DELETE)
			table_del(t, ev->kv->key);
		else if (table_put(t, ev->kv) == -1) {
			/* partial is worse than none: wait for the next RESET */
			w->full = 1;
			w->synced = 0;
		}
		if (ev->revision > w->rev)
			w->rev = ev->revision;
		w->events++;
		if (w->filling && --w->expect == 0)
			swap_in(w);
		else if (!w->filling)
			w->midbatch = ev->left > 0;
	}
	pthread_mutex_unlock(&w->mu);
	if (!w->filling && !w->midbatch)
		wake(w);
	/* over the bounds: this watch ends, the next one ranges afresh */
	return w->full;
}

static void
backoff_sleep(struct watcher *w, long ms)
{
	struct timespec t = { 0, 50 * 1000000L };
	long slept;

	for (slept = 0; slept < ms && !w->stop; slept += 50)
		nanosleep(&t, NULL);
}

static void *
watch_main(void *arg)
{
	struct watcher *w = arg;
	char err[256];
	long pause = 250;
	unsigned long seen = 0;

	while (!w->stop) {
		/* a watch that carried events before it broke: short pause */
		if (w->events + w->resets != seen)
			pause = 250;
		seen = w->events + w->resets;
		if (etcd_watch(w->etcd, AGENT_PREFIX, 1, on_event, w, &w->stop,
		    3, err, sizeof(err)) == 0) {
			if (w->stop)
				break;
			snprintf(err, sizeof(err), "more than %lu MiB or %d keys "
			    "under " AGENT_PREFIX, WATCH_MAX_BYTES >> 20,
			    WATCH_MAX_KEYS);
		}
		pthread_mutex_lock(&w->mu);
		w->synced = 0;
		pthread_mutex_unlock(&w->mu);
		diag_warn_ratelimited(7, 10000, "%s: watch: %s (again in %ld ms)",
		    w->a->host, err, pause);
		backoff_sleep(w, pause);
		pause = pause * 2 > 5000 ? 5000 : pause * 2;
	}
	return NULL;
}

int
watch_start(struct agent *a)
{
	struct watcher *w;
	char err[256];

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->a = a;
	pthread_mutex_init(&w->mu, NULL);
	if ((w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (w->etcd = etcd_open(a->conf->cluster_etcd, err, sizeof(err))) ==
	    NULL || pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		if (w->wakefd != -1)
			close(w->wakefd);
		etcd_close(w->etcd);
		free(w);
		return -1;
	}
	a->watch = w;
	return 0;
}

void
watch_stop(struct agent *a)
{
	struct watcher *w = a->watch;

	if (w == NULL)
		return;
	w->stop = 1;
	pthread_join(w->thread, NULL);
	etcd_close(w->etcd);
	close(w->wakefd);
	table_clear(&w->t);
	table_clear(&w->fresh);
	diag_verbose("%s: watch: %lu events, %lu ranges", a->host, w->events,
	    w->resets);
	free(w);
	a->watch = NULL;
}

int
watch_fd(const struct agent *a)
{
	return a->watch != NULL ? a->watch->wakefd : -1;
}

void
watch_drain_fd(const struct agent *a)
{
	uint64_t n;

	if (a->watch != NULL)
		(void)!read(a->watch->wakefd, &n, sizeof(n));
}

int64_t
watch_revision(const struct agent *a)
{
	struct watcher *w = a->watch;
	int64_t rev;

	pthread_mutex_lock(&w->mu);
	rev = w->synced && !w->midbatch ? w->rev : 0;
	pthread_mutex_unlock(&w->mu);
	return rev;
}

void
watch_size(const struct agent *a, size_t *keys, size_t *bytes)
{
	struct watcher *w = a->watch;

	*keys = *bytes = 0;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	*keys = w->t.n;
	*bytes = w->t.bytes;
	pthread_mutex_unlock(&w->mu);
}

static int
copy_kv(struct etcd_kv *d, const struct wkv *s)
{
	memset(d, 0, sizeof(*d));
	if ((d->key = strdup(s->key)) == NULL ||
	    (d->value = malloc(s->vlen + 1)) == NULL) {
		free(d->key);
		return -1;
	}
	memcpy(d->value, s->value, s->vlen + 1);
	d->vlen = s->vlen;
	d->create_rev = s->create_rev;
	d->mod_rev = s->mod_rev;
	d->lease = s->lease;
	return 0;
}

/* Without a watch: etcd's range, only what agent_keeps (as the copy)
 * and keep. */
static int
range_kept(struct agent *a, const char *key, int prefix,
    int (*keep)(const char *), struct etcd_range *out)
{
	size_t i, n = 0;

	if (etcd_range(a->etcd, key, prefix, out, NULL, 0) == -1)
		return -1;
	for (i = 0; i < out->n; i++) {
		if (agent_keeps(out->kvs[i].key) && keep(out->kvs[i].key))
			out->kvs[n++] = out->kvs[i];
		else {
			free(out->kvs[i].key);
			free(out->kvs[i].value);
		}
	}
	out->n = n;
	return 0;
}

int
agent_range(struct agent *a, const char *key, int prefix,
    struct etcd_range *out)
{
	return agent_range_if(a, key, prefix, agent_keeps, out);
}

int
agent_range_if(struct agent *a, const char *key, int prefix,
    int (*keep)(const char *), struct etcd_range *out)
{
	struct watcher *w = a->watch;
	size_t i, first, kl = strlen(key), n;
	int found, rc = 0;

	memset(out, 0, sizeof(*out));
	if (w == NULL)
		return range_kept(a, key, prefix, keep, out);
	pthread_mutex_lock(&w->mu);
	/* half a txn is no state etcd ever had: the wake comes at its end */
	if (!w->synced || w->midbatch) {
		pthread_mutex_unlock(&w->mu);
		errno = EAGAIN;
		return -1;
	}
	first = table_find(&w->t, key, &found);
	for (i = first; i < w->t.n && (prefix ? strncmp(w->t.v[i].key, key,
	    kl) == 0 : strcmp(w->t.v[i].key, key) == 0); i++)
		;
	for (n = 0, kl = first; kl < i; kl++)
		n += keep(w->t.v[kl].key) != 0;
	if (n > 0 && (out->kvs = calloc(n, sizeof(*out->kvs))) == NULL)
		rc = -1;
	for (; rc == 0 && first < i; first++)
		if (!keep(w->t.v[first].key))
			continue;
		else if (copy_kv(&out->kvs[out->n], &w->t.v[first]) == 0)
			out->n++;
		else
			rc = -1;
	out->revision = w->rev;
	pthread_mutex_unlock(&w->mu);
	if (rc == -1)
		etcd_range_free(out);
	return rc;
}
