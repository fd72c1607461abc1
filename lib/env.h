/* SPDX-License-Identifier: ISC */
/* An ordered set of environment variables (config vars, .env, a dyno's env). */
#ifndef DYNO_ENV_H
#define DYNO_ENV_H

#include <stddef.h>

struct envvar {
	char	*key;
	char	*value;
};

struct env {
	struct envvar *vars;	/* insertion order, keys unique */
	size_t	 n, cap;
};

void	env_init(struct env *e);
void	env_free(struct env *e);

/* Set key to value (both copied); replaces in place.  0 or -1 (ENOMEM). */
int	env_set(struct env *e, const char *key, const char *value);

/* Remove key: 1 if it was there, 0 if not. */
int	env_unset(struct env *e, const char *key);

/* The value of key (owned by e), or NULL. */
const char *env_get(const struct env *e, const char *key);

/* Copy every variable of src into dst (src wins).  0 or -1 (ENOMEM). */
int	env_merge(struct env *dst, const struct env *src);

/* Sort by key (byte order), for stable output. */
void	env_sort(struct env *e);

/* Bytes of all keys and values, as heroku.md section 6 counts them. */
size_t	env_total_size(const struct env *e);

/*
 * A NULL-terminated "KEY=VALUE" array for execve(2), malloc'd in one
 * block the caller frees with free().  NULL on ENOMEM.
 */
char  **env_to_envp(const struct env *e);

#endif
