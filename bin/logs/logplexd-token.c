/* SPDX-License-Identifier: ISC */
/* Input tokens: who may send an app's lines over --listen, and as what. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "logplexd.h"
#include "logtokens.h"
#include "names.h"
#include "state.h"

/*
 * A TCP frame names no app: it carries a token, as Logplex's input does,
 * and the token says which app and which source (app or heroku) its lines
 * belong to.  Tokens live in DYNO_ROOT/apps/APP/log-tokens, so only who
 * can write the app's folder can mint one, and an app removed takes its
 * tokens with it at the next reload.
 */
#define BUCKETS		1024

struct tokens {
	struct token	*b[BUCKETS];
	size_t		 n;
};

static size_t
bucket(const char *p, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h % BUCKETS;
}

/* Equal, in a time that does not depend on where they differ. */
static int
same(const char *a, const char *b, size_t len)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int
add(struct tokens *ts, const char *app, const struct logtoken *lt)
{
	struct token *t;
	size_t b = bucket(lt->token, LOGTOKENS_LEN);

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	memcpy(t->token, lt->token, sizeof(lt->token));
	memcpy(t->source, lt->source, sizeof(lt->source));
	memcpy(t->app, app, strlen(app) + 1);
	t->next = ts->b[b];
	ts->b[b] = t;
	ts->n++;
	return 0;
}

/* Read one app's tokens into ts; a bad file adds none of them. */
static void
load_app(struct lpd *l, struct tokens *ts, const char *app)
{
	struct logtoken lt[LOGTOKENS_MAX];
	char path[PATH_MAX], err[128], *text;
	int i, n;

	if (strlen(app) >= sizeof(((struct token *)0)->app) ||
	    state_pathf(path, sizeof(path), "%s/apps/%s/" LOGTOKENS_FILE,
	    l->conf.root, app) == -1)
		return;
	if (state_read(path, LOGTOKENS_FILE_MAX, &text, NULL) == -1) {
		if (errno != ENOENT)
			diag_warn_errno("%s", path);
		return;
	}
	if ((n = logtokens_parse(text, lt, LOGTOKENS_MAX, err,
	    sizeof(err))) == -1)
		diag_warn("%s:%s; none of its tokens is taken", path, err);
	for (i = 0; i < n; i++)
		if (add(ts, app, &lt[i]) == -1)
			diag_warn_errno("%s", path);
	free(text);
}

static void
free_table(struct tokens *ts)
{
	struct token *t;
	size_t i;

	if (ts == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		while ((t = ts->b[i]) != NULL) {
			ts->b[i] = t->next;
			free(t);
		}
	free(ts);
}

int
tokens_reload(struct lpd *l)
{
	char path[PATH_MAX];
	struct tokens *ts;
	struct dirent *de;
	DIR *dir;

	if (state_pathf(path, sizeof(path), "%s/apps", l->conf.root) == -1 ||
	    (ts = calloc(1, sizeof(*ts))) == NULL)
		return -1;
	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (names_check_app(de->d_name) == NULL)
				load_app(l, ts, de->d_name);
		closedir(dir);
	} else if (errno != ENOENT) {
		/* Keep the tokens we have rather than refuse every sender. */
		diag_warn_errno("%s", path);
		free_table(ts);
		return -1;
	}
	free_table(l->tokens);
	l->tokens = ts;
	diag_verbose("%zu input tokens", ts->n);
	return 0;
}

const struct token *
tokens_find(const struct lpd *l, const char *p, size_t len)
{
	const struct token *t;

	if (l->tokens == NULL || !logtokens_valid(p, len))
		return NULL;
	for (t = l->tokens->b[bucket(p, len)]; t != NULL; t = t->next)
		if (same(t->token, p, LOGTOKENS_LEN))
			return t;
	return NULL;
}

void
tokens_free(struct lpd *l)
{
	free_table(l->tokens);
	l->tokens = NULL;
}
