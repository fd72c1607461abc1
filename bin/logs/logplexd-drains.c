/* SPDX-License-Identifier: ISC */
/* The drains files: which drains each app has, kept in step on reload. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "logplexd.h"
#include "names.h"
#include "state.h"

static struct drain *
drain_new(struct lpd *l, struct app *a, const struct drain_entry *e)
{
	struct drain *d;
	const char *why;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->app = a;
	d->lpd = l;
	d->ent = *e;
	if (drains_parse_url(e->url, &d->url, &why) == -1 ||
	    lring_init(&d->queue, l->conf.drain_buffer) == -1) {
		free(d);
		return NULL;
	}
	d->ops = d->url.kind == DRAIN_HTTP || d->url.kind == DRAIN_HTTPS ?
	    &http_ops : &syslog_ops;
	if (d->ops->start(d) == -1) {
		lring_free(&d->queue);
		free(d);
		return NULL;
	}
	if (diag_verbosity > 0) {
		char url[DRAINS_URL_MAX];

		drains_redact_url(url, sizeof(url), e->url);
		diag_verbose("%s: drain %s added: %s", a->name, e->token, url);
	}
	return d;
}

static struct drain *
find(struct app *a, const struct drain_entry *e)
{
	struct drain *d;

	for (d = a->drains; d != NULL; d = d->next)
		if (strcmp(d->ent.token, e->token) == 0 &&
		    strcmp(d->ent.url, e->url) == 0)
			return d;
	return NULL;
}

/* Keep the drains still listed (queues and connections intact). */
static void
apply(struct lpd *l, struct app *a, const struct drain_entry *e, int n)
{
	struct drain *d, **pp;
	int i;

	for (d = a->drains; d != NULL; d = d->next)
		d->mark = 0;
	for (i = 0; i < n; i++) {
		if ((d = find(a, &e[i])) == NULL &&
		    (d = drain_new(l, a, &e[i])) != NULL) {
			d->next = a->drains;
			a->drains = d;
		}
		if (d != NULL)
			d->mark = 1;
	}
	for (pp = &a->drains; (d = *pp) != NULL;) {
		if (d->mark) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		diag_verbose("%s: drain %s removed", a->name, d->ent.token);
		drain_free(d);
	}
}

/* One app's drains file; a bad file keeps the drains already running. */
static void
load_app(struct lpd *l, const char *name)
{
	struct drain_entry *e;
	char path[PATH_MAX], err[256], *text = NULL;
	struct app *a;
	int n;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/drains", l->conf.root,
	    name) == -1 || (a = app_get(l, name, strlen(name), 1)) == NULL)
		return;
	a->mark = 1;
	a->seen_ms = evloop_now_ms();
	owner_load(l, a);
	if (state_read(path, DRAINS_FILE_MAX, &text, NULL) == -1) {
		if (errno != ENOENT)
			diag_warn_errno("%s", path);
		if (errno == ENOENT)
			apply(l, a, NULL, 0);
		return;
	}
	if ((e = calloc(l->conf.max_drains + 1, sizeof(*e))) != NULL) {
		n = drains_parse(text, e, l->conf.max_drains, err, sizeof(err));
		if (n == -1)
			diag_warn("%s:%s; keeping its drains as they were",
			    path, err);
		else
			apply(l, a, e, n);
	}
	free(e);
	free(text);
}

int
drains_reload(struct lpd *l)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct app *a;
	DIR *dir;
	size_t i;

	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next)
			a->mark = 0;
	if (state_pathf(path, sizeof(path), "%s/apps", l->conf.root) == -1)
		return -1;
	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (names_check_app(de->d_name) == NULL)
				load_app(l, de->d_name);
		closedir(dir);
	} else if (errno != ENOENT) {
		/* Unreadable: keep every stream rather than drop them all. */
		diag_warn_errno("%s", path);
		return -1;
	}
	/* An app folder that went away takes its stream with it. */
	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next)
			if (!a->mark)
				app_forget(l, a);
	return 0;
}

int
drains_busy(struct lpd *l)
{
	struct app *a;
	struct drain *d;
	size_t i;

	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next) {
			if (a->forward != NULL && a->forward->ops->busy(a->forward))
				return 1;
			for (d = a->drains; d != NULL; d = d->next)
				if (d->ops->busy(d))
					return 1;
		}
	return 0;
}

void
drains_dump(struct lpd *l, FILE *fp)
{
	char url[DRAINS_URL_MAX];
	struct app *a;
	struct drain *d;
	size_t i;

	for (i = 0; i < l->nbuckets; i++)
		for (a = l->apps[i]; a != NULL; a = a->next) {
			fprintf(fp, "app %s history=%zu\n", a->name,
			    a->history.len);
			if ((d = a->forward) != NULL)
				fprintf(fp, "forward %s state=%s queued=%zu "
				    "buffer=%zu sent=%llu lost=%llu "
				    "no_token=%llu\n", d->ent.url,
				    d->ops->state(d), d->queue.len,
				    d->queue.cap, d->sent, d->lost, d->no_token);
			for (d = a->drains; d != NULL; d = d->next) {
				/* Dumps end up in logs: no passwords there. */
				drains_redact_url(url, sizeof(url), d->ent.url);
				fprintf(fp, "drain %s %s state=%s queued=%zu "
				    "buffer=%zu sent=%llu lost=%llu\n",
				    d->ent.token, url, d->ops->state(d),
				    d->queue.len, d->queue.cap, d->sent, d->lost);
			}
		}
}
