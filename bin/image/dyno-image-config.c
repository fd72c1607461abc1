/* SPDX-License-Identifier: ISC */
/* The image config blob: what a dyno of the image runs, and its layers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dyno-image.h"

#define CONFIG_MAXARGS	4096

/* Append the strings of array `a` to *v (NULL-terminated).  0 or -1. */
static int
append_strings(const struct json *a, char ***v, size_t *n)
{
	const struct json *c;
	char **nv;

	if (a == NULL || a->type == JSON_NULL)
		return 0;
	if (a->type != JSON_ARR)
		return -1;
	for (c = a->child; c != NULL; c = c->next) {
		if (c->type != JSON_STR || *n >= CONFIG_MAXARGS)
			return -1;
		if ((nv = reallocarray(*v, *n + 2, sizeof(*nv))) == NULL)
			return -1;
		*v = nv;
		if ((nv[*n] = strdup(c->str)) == NULL)
			return -1;
		nv[++*n] = NULL;
	}
	return 0;
}

/* Cmd alone runs through the shell, as Heroku runs it (config vars expand). */
static int
shell_command(char ***v, size_t *n)
{
	char **cmd = *v, *joined, **nv;
	size_t i, len = 1;

	for (i = 0; i < *n; i++)
		len += strlen(cmd[i]) + 1;
	if ((joined = calloc(1, len)) == NULL)
		return -1;
	for (i = 0; i < *n; i++) {
		if (i > 0)
			strcat(joined, " ");
		strcat(joined, cmd[i]);
		free(cmd[i]);
	}
	free(cmd);
	if ((nv = calloc(4, sizeof(*nv))) == NULL) {
		free(joined);
		return -1;
	}
	nv[0] = strdup("/bin/sh");
	nv[1] = strdup("-c");
	nv[2] = joined;
	*v = nv;
	*n = 3;
	return nv[0] != NULL && nv[1] != NULL ? 0 : -1;
}

static int
parse_diff_ids(const struct json *rootfs, struct image_config *ic,
    const char **why)
{
	const struct json *d = json_get(rootfs, "diff_ids"), *c;
	const char *hex;

	*why = "rootfs.diff_ids is missing or not an array of sha256 digests";
	if (d == NULL || d->type != JSON_ARR)
		return -1;
	for (c = d->child; c != NULL; c = c->next) {
		if (c->type != JSON_STR || (hex = image_digest_hex(c->str)) ==
		    NULL || ic->ndiff >= IMAGE_MAX_LAYERS)
			return -1;
		if ((ic->diff_ids[ic->ndiff++] = strdup(hex)) == NULL)
			return -1;
	}
	return 0;
}

int
image_config_parse(const struct json *j, struct image_config *ic,
    const char **why)
{
	const struct json *cfg = json_get(j, "config");
	const char *s;
	size_t ne = 0;
	char **ep = NULL;

	memset(ic, 0, sizeof(*ic));
	if ((ic->diff_ids = calloc(IMAGE_MAX_LAYERS, sizeof(char *))) == NULL ||
	    parse_diff_ids(json_get(j, "rootfs"), ic, why) == -1)
		return -1;
	*why = "config: Entrypoint, Cmd and Env must be arrays of strings";
	if (append_strings(json_get(cfg, "Entrypoint"), &ep, &ne) == -1 ||
	    append_strings(json_get(cfg, "Env"), &ic->env, &ic->nenv) == -1)
		goto bad;
	if (ne > 0) {
		ic->argv = ep, ic->argc = ne, ep = NULL;
		if (append_strings(json_get(cfg, "Cmd"), &ic->argv,
		    &ic->argc) == -1)
			goto bad;
	} else if (append_strings(json_get(cfg, "Cmd"), &ic->argv,
	    &ic->argc) == -1 || (ic->argc > 0 &&
	    shell_command(&ic->argv, &ic->argc) == -1))
		goto bad;
	s = json_str(cfg, "WorkingDir");
	ic->workdir = strdup(s != NULL && s[0] == '/' ? s : "/");
	s = json_str(cfg, "User");
	ic->user = strdup(s != NULL ? s : "");
	if (ic->workdir == NULL || ic->user == NULL)
		goto bad;
	return 0;
bad:
	free(ep);
	return -1;
}

static void
free_vec(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
image_config_free(struct image_config *ic)
{
	free_vec(ic->argv);
	free_vec(ic->env);
	free_vec(ic->diff_ids);
	free(ic->workdir);
	free(ic->user);
	memset(ic, 0, sizeof(*ic));
}

/* Write `len` bytes to a new file `name` in dfd (temp name, then rename). */
static int
store_file(int dfd, const char *name, const char *data, size_t len)
{
	char tmp[64];
	int fd, rc = -1;
	ssize_t w;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	while (len > 0 && (w = write(fd, data, len)) > 0)
		data += w, len -= (size_t)w;
	if (len == 0 && fsync(fd) == 0 && renameat(dfd, tmp, dfd, name) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* A vector as NUL-terminated strings, one after another. */
static int
store_vec(int dfd, const char *name, char **v, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		fwrite(v[i], 1, strlen(v[i]) + 1, f);
	if (fclose(f) != 0)
		return -1;
	rc = store_file(dfd, name, buf, len);
	free(buf);
	return rc;
}

/*
 * The run settings as files dyno-run reads without a JSON parser: "argv"
 * and "env" hold NUL-terminated strings, "workdir" and "user" one line.
 */
int
image_config_store(int dfd, const struct image_config *ic)
{
	char line[4200];
	int n;

	if (store_vec(dfd, "argv", ic->argv, ic->argc) == -1 ||
	    store_vec(dfd, "env", ic->env, ic->nenv) == -1)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", ic->workdir);
	if (n < 0 || (size_t)n >= sizeof(line) || strchr(ic->workdir, '\n')) {
		errno = EINVAL;
		return -1;
	}
	if (store_file(dfd, "workdir", line, (size_t)n) == -1)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", ic->user);
	if (n < 0 || (size_t)n >= sizeof(line) || strchr(ic->user, '\n')) {
		errno = EINVAL;
		return -1;
	}
	return store_file(dfd, "user", line, (size_t)n);
}
