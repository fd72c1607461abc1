/* SPDX-License-Identifier: ISC */
/* Only apps with a folder get a stream: a bounded cache in front of stat(2). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "logplexd.h"
#include "names.h"
#include "state.h"

/*
 * Any local producer may name any app, and every name that got a stream
 * used to stay for good (20,000 bogus names: 350 MB).  Streams now exist
 * only for apps that `release` created, so memory follows the real apps.
 * The check costs one stat(2) per app every KNOWN_RECHECK_MS; a name
 * without a folder is remembered for KNOWN_NEG_MS in a fixed table, so a
 * flood of one bogus name costs no system call per line, and a flood of
 * distinct ones costs one stat(2) each and no memory.
 */
#define KNOWN_RECHECK_MS	30000
#define KNOWN_NEG_MS		1000
/* lpd.neg: KNOWN_NEG_SLOTS, direct-mapped: a clash only re-stats. */

static size_t
slot(const char *name, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h % KNOWN_NEG_SLOTS;
}

static int
neg_has(const struct lpd *l, const char *name, size_t len, uint64_t now)
{
	size_t s = slot(name, len);

	return l->neg[s].until > now && strcmp(l->neg[s].name, name) == 0;
}

static void
neg_add(struct lpd *l, const char *name, size_t len, uint64_t now)
{
	size_t s = slot(name, len);

	memcpy(l->neg[s].name, name, len + 1);
	l->neg[s].until = now + KNOWN_NEG_MS;
}

/* 1 when DYNO_ROOT/apps/NAME is a folder. */
static int
has_folder(const struct lpd *l, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (state_pathf(path, sizeof(path), "%s/apps/%s", l->conf.root,
	    name) == -1)
		return 0;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct app *
app_known(struct lpd *l, const char *name, size_t len)
{
	char nm[KNOWN_NAME_MAX + 1];
	uint64_t now = evloop_now_ms();
	struct app *a;

	/* The rule `release` creates apps by: no "..", no '/', no oddities. */
	if (len > KNOWN_NAME_MAX || (memcpy(nm, name, len), nm[len] = '\0',
	    names_check_app(nm) != NULL)) {
		errno = EINVAL;
		return NULL;
	}
	a = app_get(l, nm, len, 0);
	/* One forgotten this round is looked at again, not taken as is. */
	if (a != NULL && !a->gone && now - a->seen_ms < KNOWN_RECHECK_MS)
		return a;
	if (a == NULL && neg_has(l, nm, len, now)) {
		errno = ENOENT;
		return NULL;
	}
	if (!has_folder(l, nm)) {
		if (a != NULL)
			app_forget(l, a);	/* removed before the next wait */
		neg_add(l, nm, len, now);
		errno = ENOENT;
		return NULL;
	}
	if ((a = app_get(l, nm, len, 1)) == NULL) {	/* new, or back */
		errno = ENOMEM;
		return NULL;
	}
	a->seen_ms = now;
	return a;
}
