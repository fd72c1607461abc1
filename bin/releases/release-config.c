/* SPDX-License-Identifier: ISC */
/* release: config vars; every set or unset is a new release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "envfile.h"
#include "names.h"
#include "state.h"

#include "release.h"

/* The config of the release new ones build on; EXIT_NOINPUT if none. */
static int
config_base(struct app *a, struct env *e, unsigned *base)
{
	int rc;

	env_init(e);
	if ((rc = release_base(a, base)) != 0)
		return rc;
	if (*base == 0) {
		diag_error("%s: no releases yet: release create it first",
		    a->name);
		return EXIT_NOINPUT;
	}
	return app_read_env(a, *base, e);
}

int
cmd_config_show(struct app *a, const struct opts *o)
{
	struct env e;
	unsigned base;
	size_t i, w = 0;
	char *q;
	int rc;

	if ((rc = config_base(a, &e, &base)) != 0)
		goto out;
	env_sort(&e);
	if (!o->shell)
		printf("=== %s Config Vars\n\n", a->name);
	for (i = 0; i < e.n; i++)
		w = strlen(e.vars[i].key) > w ? strlen(e.vars[i].key) : w;
	for (i = 0; i < e.n; i++) {
		if (!o->shell) {
			printf("%s:%*s %s\n", e.vars[i].key,
			    (int)(w - strlen(e.vars[i].key)), "",
			    e.vars[i].value);
			continue;
		}
		if ((q = envfile_shell_quote(e.vars[i].value)) == NULL)
			diag_die_errno(EXIT_OSERR, "envfile_shell_quote");
		printf("export %s=%s\n", e.vars[i].key, q);
		free(q);
	}
out:
	env_free(&e);
	return rc;
}

int
cmd_config_get(struct app *a, const char *key)
{
	const char *v;
	struct env e;
	unsigned base;
	int rc;

	if ((rc = config_base(a, &e, &base)) == 0) {
		if ((v = env_get(&e, key)) != NULL)
			printf("%s\n", v);
		else
			rc = EXIT_NO;
	}
	env_free(&e);
	return rc;
}

/* Make the release: base's slug (hard links) with config e. */
static int
config_commit(struct app *a, unsigned base, struct env *e, const char *desc)
{
	struct newrel nr;
	struct relinfo r;
	char from[PATH_MAX], to[PATH_MAX];
	unsigned v;
	int rc;

	if ((rc = app_read_release(a, base, &r)) != 0 ||
	    (rc = newrel_begin(a, &nr)) != 0)
		return rc;
	newrel_describe(&nr, desc, r.slug_sha256, r.commit[0] ? r.commit :
	    NULL);
	nr.logline = desc;
	/* The new release takes over e's variables. */
	nr.env = *e;
	env_init(e);
	if (state_pathf(from, sizeof(from), "%s/releases/v%u/slug", a->dir,
	    base) == -1 || state_pathf(to, sizeof(to), "%s/slug",
	    nr.staging) == -1)
		rc = EXIT_SOFTWARE;
	if (rc == 0 && (rc = slug_link(from, to)) == 0 &&
	    (rc = slug_seal(to)) == 0 && state_pathf(from, sizeof(from),
	    "%s/releases/v%u/images", a->dir, base) == 0 &&
	    (rc = release_images_copy(from, nr.staging)) == 0 &&
	    (rc = app_commit(a, &nr, &v)) == 0)
		printf("v%u\n", v);
	newrel_abort(&nr);
	return rc;
}

/* "Set A, B config vars" (the API log wording, heroku.md 4.8). */
static char *
describe(const char *verb, char **names, int n)
{
	size_t len = strlen(verb) + 32;
	char *s;
	int i;

	for (i = 0; i < n; i++)
		len += strcspn(names[i], "=") + 2;
	if ((s = malloc(len)) == NULL)
		diag_die_errno(EXIT_OSERR, "malloc");
	strcpy(s, verb);
	for (i = 0; i < n; i++) {
		strcat(s, i ? ", " : " ");
		strncat(s, names[i], strcspn(names[i], "="));
	}
	strcat(s, " config vars");
	return s;
}

static int
check_name(const char *name)
{
	const char *why;

	if ((why = names_check_configvar(name)) != NULL) {
		diag_error("%s: bad config var name: %s", name, why);
		return EXIT_DATAERR;
	}
	return 0;
}

static int
check_pairs(char **pairs, int n)
{
	char *eq;
	int i, rc;

	for (i = 0; i < n; i++) {
		if ((eq = strchr(pairs[i], '=')) == NULL) {
			diag_error("%s: expected KEY=VALUE", pairs[i]);
			return EXIT_USAGE;
		}
		*eq = '\0';
		rc = check_name(pairs[i]);
		*eq = '=';
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
check_size(struct app *a, const struct env *e)
{
	size_t total = env_total_size(e);

	if (total > a->conf->config_max) {
		diag_error("%s: config vars would total %zu bytes, over the "
		    "%llu-byte limit", a->name, total,
		    (unsigned long long)a->conf->config_max);
		return EXIT_DATAERR;
	}
	return 0;
}

int
cmd_config_set(struct app *a, char **pairs, int n)
{
	struct env e;
	unsigned base;
	char *eq, *desc = NULL;
	int i, rc;

	env_init(&e);
	if ((rc = check_pairs(pairs, n)) != 0 || (rc = app_lock(a)) != 0 ||
	    (rc = cluster_begin_base(a)) != 0 ||
	    (rc = config_base(a, &e, &base)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		eq = strchr(pairs[i], '=');
		*eq = '\0';
		if (env_set(&e, pairs[i], eq + 1) == -1)
			diag_die_errno(EXIT_OSERR, "env_set");
		*eq = '=';
	}
	if ((rc = check_size(a, &e)) != 0)
		goto out;
	desc = describe("Set", pairs, n);
	rc = config_commit(a, base, &e, desc);
out:
	free(desc);
	env_free(&e);
	return rc;
}

int
cmd_config_unset(struct app *a, char **keys, int n)
{
	struct env e;
	unsigned base;
	char *desc = NULL;
	int i, rc, removed = 0;

	env_init(&e);
	for (i = 0, rc = 0; i < n && rc == 0; i++)
		rc = check_name(keys[i]);
	if (rc != 0 || (rc = app_lock(a)) != 0 ||
	    (rc = cluster_begin_base(a)) != 0 ||
	    (rc = config_base(a, &e, &base)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (env_unset(&e, keys[i]) == 1)
			removed++;
		else
			diag_warn("%s: %s: no such config var", a->name,
			    keys[i]);
	/* Nothing to remove is a "no": no release is made for it. */
	if (removed == 0) {
		rc = EXIT_NO;
		goto out;
	}
	desc = describe("Remove", keys, n);
	rc = config_commit(a, base, &e, desc);
out:
	free(desc);
	env_free(&e);
	return rc;
}
