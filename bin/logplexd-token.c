/* SPDX-License-Identifier: ISC */
/* Input tokens: who may send an app's lines over --listen, and as what. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "logplexd.h"
#include "names.h"
#include "state.h"

/*
 * A TCP frame names no app: it carries a token, as Logplex's input does,
 * and the token says which app and which source (app or heroku) its lines
 * belong to.  Tokens live in DYNO_ROOT/apps/APP/log-tokens, so only who
 * can write the app's folder can mint one, and an app removed takes its
 * tokens with it at the next reload.
 */
#define TOKENS_FILE	"log-tokens"
#define TOKENS_FILE_MAX	4096
#define TOKENS_PER_APP	16
#define TOKEN_LEN	38	/* "t." and a lowercase UUID */
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

/* "t." then 8-4-4-4-12 lowercase hex digits. */
static int
token_valid(const char *p, size_t len)
{
	size_t i;

	if (len != TOKEN_LEN || p[0] != 't' || p[1] != '.')
		return 0;
	for (i = 2; i < len; i++) {
		if (i == 10 || i == 15 || i == 20 || i == 25) {
			if (p[i] != '-')
				return 0;
		} else if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	}
	return 1;
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

/* One "t.<uuid> SOURCE" line into t; -1 when it is not that. */
static int
parse_line(const char *p, size_t len, struct token *t)
{
	const char *sp = memchr(p, ' ', len);
	size_t slen;

	if (sp == NULL || !token_valid(p, (size_t)(sp - p)))
		return -1;
	slen = len - (size_t)(sp + 1 - p);
	if (!((slen == 3 && memcmp(sp + 1, "app", 3) == 0) ||
	    (slen == 6 && memcmp(sp + 1, "heroku", 6) == 0)))
		return -1;
	memcpy(t->token, p, TOKEN_LEN);
	t->token[TOKEN_LEN] = '\0';
	memcpy(t->source, sp + 1, slen);
	t->source[slen] = '\0';
	return 0;
}

static int
add(struct tokens *ts, const struct token *proto)
{
	struct token *t;
	size_t b = bucket(proto->token, TOKEN_LEN);

	if ((t = malloc(sizeof(*t))) == NULL)
		return -1;
	*t = *proto;
	t->next = ts->b[b];
	ts->b[b] = t;
	ts->n++;
	return 0;
}

/* Parse text (an app's file); the line number of the first bad line. */
static int
parse_file(struct tokens *ts, const char *app, char *text)
{
	struct token t;
	char *line, *save = NULL;
	int lineno = 0, n = 0;

	memset(&t, 0, sizeof(t));
	if (strlen(app) >= sizeof(t.app))	/* names_check_app: never */
		return 1;
	memcpy(t.app, app, strlen(app) + 1);
	for (line = text; line != NULL; line = save) {
		if ((save = strchr(line, '\n')) != NULL)
			*save++ = '\0';
		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		if (++n > TOKENS_PER_APP || parse_line(line, strlen(line),
		    &t) == -1 || add(ts, &t) == -1)
			return lineno;
	}
	return 0;
}

/* Read one app's tokens into ts; a bad file adds none of them. */
static void
load_app(struct lpd *l, struct tokens *ts, const char *app)
{
	char path[PATH_MAX], *text;
	struct tokens one;
	struct token *t;
	size_t i;
	int bad;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/" TOKENS_FILE,
	    l->conf.root, app) == -1)
		return;
	if (state_read(path, TOKENS_FILE_MAX, &text, NULL) == -1) {
		if (errno != ENOENT)
			diag_warn_errno("%s", path);
		return;
	}
	memset(&one, 0, sizeof(one));
	if ((bad = parse_file(&one, app, text)) != 0)
		diag_warn("%s:%d: expected \"t.<uuid> app|heroku\" (at most %d);"
		    " none of its tokens is taken", path, bad, TOKENS_PER_APP);
	for (i = 0; i < BUCKETS; i++)
		while ((t = one.b[i]) != NULL) {
			one.b[i] = t->next;
			if (bad != 0) {
				free(t);
				continue;
			}
			t->next = ts->b[i];	/* same token, same bucket */
			ts->b[i] = t;
			ts->n++;
		}
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

	if (l->tokens == NULL || !token_valid(p, len))
		return NULL;
	for (t = l->tokens->b[bucket(p, len)]; t != NULL; t = t->next)
		if (same(t->token, p, TOKEN_LEN))
			return t;
	return NULL;
}

void
tokens_free(struct lpd *l)
{
	free_table(l->tokens);
	l->tokens = NULL;
}
