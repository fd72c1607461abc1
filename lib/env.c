/* SPDX-License-Identifier: ISC */
/* An ordered set of environment variables with unique keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

void
env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
}

void
env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->vars[i].key);
		free(e->vars[i].value);
	}
	free(e->vars);
	env_init(e);
}

static struct envvar *
find(const struct env *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->vars[i].key, key) == 0)
			return &e->vars[i];
	return NULL;
}

int
env_set(struct env *e, const char *key, const char *value)
{
	struct envvar *v = find(e, key), *nv;
	char *nvalue, *nkey;

	if ((nvalue = strdup(value)) == NULL)
		return -1;
	if (v != NULL) {
		free(v->value);
		v->value = nvalue;
		return 0;
	}
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 16;
		if ((nv = reallocarray(e->vars, ncap, sizeof(*nv))) == NULL)
			goto fail;
		e->vars = nv;
		e->cap = ncap;
	}
	if ((nkey = strdup(key)) == NULL)
		goto fail;
	e->vars[e->n].key = nkey;
	e->vars[e->n].value = nvalue;
	e->n++;
	return 0;
fail:
	free(nvalue);
	errno = ENOMEM;
	return -1;
}

int
env_unset(struct env *e, const char *key)
{
	struct envvar *v = find(e, key);
	size_t i;

	if (v == NULL)
		return 0;
	i = (size_t)(v - e->vars);
	free(v->key);
	free(v->value);
	memmove(v, v + 1, (e->n - i - 1) * sizeof(*v));
	e->n--;
	return 1;
}

const char *
env_get(const struct env *e, const char *key)
{
	struct envvar *v = find(e, key);

	return v ? v->value : NULL;
}

int
env_merge(struct env *dst, const struct env *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (env_set(dst, src->vars[i].key, src->vars[i].value) == -1)
			return -1;
	return 0;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct envvar *)a)->key,
	    ((const struct envvar *)b)->key);
}

void
env_sort(struct env *e)
{
	if (e->n > 1)
		qsort(e->vars, e->n, sizeof(e->vars[0]), cmp_key);
}

size_t
env_total_size(const struct env *e)
{
	size_t i, total = 0;

	for (i = 0; i < e->n; i++)
		total += strlen(e->vars[i].key) + strlen(e->vars[i].value);
	return total;
}

char **
env_to_envp(const struct env *e)
{
	size_t i, bytes = (e->n + 1) * sizeof(char *);
	char **envp, *p;

	for (i = 0; i < e->n; i++)
		bytes += strlen(e->vars[i].key) + strlen(e->vars[i].value) + 2;
	if ((envp = malloc(bytes)) == NULL)
		return NULL;
	p = (char *)(envp + e->n + 1);
	for (i = 0; i < e->n; i++) {
		envp[i] = p;
		p = stpcpy(p, e->vars[i].key);
		*p++ = '=';
		p = stpcpy(p, e->vars[i].value) + 1;
	}
	envp[e->n] = NULL;
	return envp;
}
