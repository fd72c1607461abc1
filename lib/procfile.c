/* SPDX-License-Identifier: ISC */
/* Procfile parsing: one documented grammar, warnings instead of silence. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "procfile.h"
#include "state.h"

#define TYPE_MAX	63

static int
is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t';
}

static int
add_entry(struct procfile *pf, const char *type, size_t tlen,
    const char *cmd, size_t clen, unsigned line)
{
	struct procfile_entry *ne, *e;

	if ((ne = reallocarray(pf->entries, pf->n + 1, sizeof(*ne))) == NULL)
		return -1;
	pf->entries = ne;
	e = &pf->entries[pf->n];
	e->type = strndup(type, tlen);
	e->command = strndup(cmd, clen);
	e->line = line;
	if (e->type == NULL || e->command == NULL) {
		free(e->type);
		free(e->command);
		return -1;
	}
	pf->n++;
	return 0;
}

struct ctx {
	const char	*name;
	struct procfile	*pf;
	procfile_warn_fn *warn;
	void		*arg;
	char		*err;
	size_t		 errlen;
};

static void
warn_line(struct ctx *x, unsigned line, const char *msg)
{
	char buf[512];

	if (x->warn == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s:%u: %s", x->name, line, msg);
	x->warn(x->arg, buf);
}

static int __attribute__((format(printf, 3, 4)))
fail_line(struct ctx *x, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s:%u: %s", x->name, line, msg);
	errno = EINVAL;
	return -1;
}

/* One line without its newline (and '\r'): 0 handled, -1 error. */
static int
parse_line(struct ctx *x, const char *p, size_t len, unsigned line)
{
	const char *end = p + len, *type, *cmd;
	size_t tlen;
	char tbuf[TYPE_MAX + 1];

	while (p < end && is_space(*p))
		p++;
	while (end > p && (is_space(end[-1]) || end[-1] == '\r'))
		end--;
	if (p == end || *p == '#')
		return 0;
	for (type = p; p < end && is_name_char(*p); p++)
		;
	tlen = (size_t)(p - type);
	if (tlen == 0 || p == end || *p != ':') {
		warn_line(x, line, "not a \"type: command\" line, ignored");
		return 0;
	}
	if (tlen > TYPE_MAX)
		return fail_line(x, line, "process type \"%.*s\" is longer than "
		    "63 characters", (int)tlen, type);
	for (cmd = p + 1; cmd < end && is_space(*cmd); cmd++)
		;
	if (cmd == end)
		return fail_line(x, line, "missing command after \"%.*s:\"",
		    (int)tlen, type);
	memcpy(tbuf, type, tlen);
	tbuf[tlen] = '\0';
	if (procfile_find(x->pf, tbuf) != NULL)
		return fail_line(x, line, "duplicate process type \"%.*s\"",
		    (int)tlen, type);
	if (add_entry(x->pf, type, tlen, cmd, (size_t)(end - cmd), line) == -1)
		return fail_line(x, line, "%.*s", 13, "out of memory");
	return 0;
}

int
procfile_parse(const char *name, const char *text, size_t len,
    struct procfile *pf, procfile_warn_fn *warn, void *arg, char *err,
    size_t errlen)
{
	struct ctx x = { name, pf, warn, arg, err, errlen };
	const char *p = text, *end = text + len, *nl;
	unsigned line = 0;

	memset(pf, 0, sizeof(*pf));
	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			fail_line(&x, line, "%.*s", 16, "NUL byte in line");
			goto fail;
		}
		if (parse_line(&x, p, (size_t)(nl - p), line) == -1)
			goto fail;
		p = nl + 1;
	}
	if (pf->n == 0) {
		snprintf(err, errlen, "%s: no process types declared", name);
		errno = EINVAL;
		goto fail;
	}
	return 0;
fail:
	procfile_free(pf);
	return -1;
}

int
procfile_load(const char *path, struct procfile *pf, procfile_warn_fn *warn,
    void *arg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc, saved;

	if (state_read(path, PROCFILE_MAX, &text, &len) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		memset(pf, 0, sizeof(*pf));
		errno = saved;
		return -1;
	}
	rc = procfile_parse(path, text, len, pf, warn, arg, err, errlen);
	saved = errno;
	free(text);
	errno = saved;
	return rc;
}

int
procfile_load_beneath(const char *dir, const char *name,
    struct procfile *pf, procfile_warn_fn *warn, void *arg, char *err,
    size_t errlen)
{
	char shown[PATH_MAX], *text = NULL;
	size_t len;
	int dfd, rc = -1, saved;

	memset(pf, 0, sizeof(*pf));
	snprintf(shown, sizeof(shown), "%s/%s", dir, name);
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    beneath_read(dfd, name, PROCFILE_MAX, &text, &len) == -1) {
		saved = errno;
		if (saved == EFBIG)
			snprintf(err, errlen, "%s: larger than %d bytes", shown,
			    PROCFILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", shown,
			    beneath_strerror(saved));
		goto out;
	}
	rc = procfile_parse(shown, text, len, pf, warn, arg, err, errlen);
	saved = errno;
out:
	if (dfd != -1)
		close(dfd);
	free(text);
	errno = saved;
	return rc;
}

const struct procfile_entry *
procfile_find(const struct procfile *pf, const char *type)
{
	int i = procfile_index(pf, type);

	return i < 0 ? NULL : &pf->entries[i];
}

int
procfile_index(const struct procfile *pf, const char *type)
{
	size_t i;

	for (i = 0; i < pf->n && i < INT_MAX; i++)
		if (strcmp(pf->entries[i].type, type) == 0)
			return (int)i;
	return -1;
}

void
procfile_free(struct procfile *pf)
{
	size_t i;

	for (i = 0; i < pf->n; i++) {
		free(pf->entries[i].type);
		free(pf->entries[i].command);
	}
	free(pf->entries);
	memset(pf, 0, sizeof(*pf));
}
