/* SPDX-License-Identifier: ISC */
/* app.conf: one schema, one strict parser, and the writer release uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appconf.h"
#include "names.h"
#include "num.h"
#include "state.h"

enum type {
	T_ID,		/* letters, digits, dashes: a UUID as release makes it */
	T_SPACE,	/* a space name (names_check_space) */
	T_SIZE,		/* a dyno size name: letters, digits, . _ - */
	T_HOSTS,	/* DNS names separated by blanks or commas */
	T_STACK,	/* a stack name, ruled as an app's (dyno-image stack) */
	T_BOOL,		/* num_parse_bool */
	T_PACKS,	/* buildpack folders and URLs: printable, no quote */
	T_BRANCH,	/* a git branch name */
};

#define FIELD(f)	offsetof(struct appconf, f), \
			sizeof(((struct appconf *)NULL)->f)

/* The [app] keys; `always`: in every app.conf release writes. */
static const struct key {
	const char	*name;
	enum type	 type;
	size_t		 off, size;
	int		 always;
} keys[] = {
	{ "id", T_ID, FIELD(id), 1 },
	{ "space", T_SPACE, FIELD(space), 1 },
	{ "size", T_SIZE, FIELD(size), 1 },
	{ "hostnames", T_HOSTS, FIELD(hostnames), 1 },
	{ "preboot", T_BOOL, FIELD(preboot), 1 },
	{ "maintenance", T_BOOL, FIELD(maintenance), 0 },
	{ "runtime-dyno-metadata", T_BOOL, FIELD(metadata), 0 },
	{ "log-runtime-metrics", T_BOOL, FIELD(metrics), 0 },
	{ "buildpacks", T_PACKS, FIELD(buildpacks), 0 },
	{ "deploy_branch", T_BRANCH, FIELD(deploy_branch), 0 },
	{ "stack", T_STACK, FIELD(stack), 0 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* One line, split: a section header or a key and its value. */
struct line {
	enum { L_BLANK, L_SECTION, L_KEY } kind;
	const char	*name, *value;
	size_t		 namelen, valuelen;
};

void
appconf_init(struct appconf *ac)
{
	memset(ac, 0, sizeof(*ac));
}

static const struct key *
key_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len &&
		    memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_namechar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Trim blanks off both ends of p[0..*len). */
static const char *
trim(const char *p, size_t *len)
{
	while (*len > 0 && is_blank(p[0])) {
		p++;
		(*len)--;
	}
	while (*len > 0 && is_blank(p[*len - 1]))
		(*len)--;
	return p;
}

static int
all_namechars(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_namechar((unsigned char)p[i]))
			return 0;
	return len > 0;
}

/* Split one line (no newline, no CR); -1 with *why when it is none. */
static int
scan_line(const char *p, size_t len, struct line *l, const char **why)
{
	const char *eq;
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') ||
		    p[i] == 0x7f) {
			*why = p[i] == '\0' ? "NUL byte" : "control character";
			return -1;
		}
	p = trim(p, &len);
	if (len == 0 || p[0] == '#' || p[0] == ';')
		return 0;
	if (p[0] == '[') {
		l->kind = L_SECTION;
		*why = "expected [section] with a name of letters, digits, "
		    "'-', '_' and '.'";
		if (p[len - 1] != ']')
			return -1;
		l->namelen = len - 2;
		l->name = trim(p + 1, &l->namelen);
		return all_namechars(l->name, l->namelen) ? 0 : -1;
	}
	l->kind = L_KEY;
	*why = "expected key=value, a [section] or a comment";
	if ((eq = memchr(p, '=', len)) == NULL)
		return -1;
	l->namelen = (size_t)(eq - p);
	l->name = trim(p, &l->namelen);
	l->valuelen = (size_t)(p + len - (eq + 1));
	l->value = trim(eq + 1, &l->valuelen);
	*why = "a key is letters, digits, '-', '_' and '.'";
	return all_namechars(l->name, l->namelen) ? 0 : -1;
}

/* Host names of [A-Za-z0-9._-] separated by blanks or commas. */
static const char *
check_hosts(const char *v)
{
	size_t n;

	for (v += strspn(v, " \t,"); *v != '\0'; v += strspn(v, " \t,")) {
		n = strcspn(v, " \t,");
		if (n > APPCONF_HOST_MAX)
			return "a host name over 253 bytes";
		if (!all_namechars(v, n))
			return "a host name is letters, digits, '-', '_' and '.'";
		v += n;
	}
	return NULL;
}

/* Why the text value v does not fit a key of type t, or NULL. */
static const char *
check_text(enum type t, const char *v)
{
	switch (t) {
	case T_ID:
		return strspn(v, "0123456789abcdefABCDEF-") != strlen(v) ?
		    "an id is hex digits and dashes" : NULL;
	case T_SPACE:
		return names_check_space(v);
	case T_SIZE:
		return all_namechars(v, strlen(v)) ? NULL :
		    "a size name is letters, digits, '-', '_' and '.'";
	case T_PACKS:
		return strpbrk(v, "\"'\\") != NULL ?
		    "buildpacks are URLs or folders, without quotes" : NULL;
	case T_BRANCH:
		return v[0] == '-' || v[0] == '/' || strstr(v, "..") != NULL ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_./") != strlen(v) ?
		    "a branch is letters, digits, '-', '_', '.' and '/'" : NULL;
	case T_STACK:
		return names_check_app(v);
	default:
		return check_hosts(v);
	}
}

/*
 * The value v for key k into ac; NULL, or why it does not fit.  Empty is
 * the key's default, for every key.
 */
static const char *
set_value(struct appconf *ac, const struct key *k, const char *v)
{
	char *field = (char *)ac + k->off;
	int *flag = (int *)(void *)field;
	const char *why;

	if (k->type == T_BOOL) {
		*flag = 0;
		return v[0] != '\0' && num_parse_bool(v, flag) == -1 ?
		    "not true or false" : NULL;
	}
	if (strlen(v) >= k->size)
		return "too long";
	if (v[0] != '\0' && (why = check_text(k->type, v)) != NULL)
		return why;
	memcpy(field, v, strlen(v) + 1);
	return NULL;
}

/* At most 64 bytes of a name in a message. */
#define SHOWN(n)	((int)((n) > 64 ? 64 : (n)))

/* Parsing state: the section we are in, the keys seen and where. */
struct parse {
	const char	*name;
	struct appconf	*ac;
	appconf_warn_fn	*warn;
	void		*arg;
	unsigned	 lineno, seen[NKEYS];
	int		 in_app, in_other;
};

static void __attribute__((format(printf, 2, 3)))
warnf(struct parse *ps, const char *fmt, ...)
{
	char msg[512], what[256];
	va_list ap;

	if (ps->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%u: %s", ps->name, ps->lineno, what);
	ps->warn(ps->arg, msg);
}

/* One scanned line; NULL, or why it is an error (*buf may hold it). */
static const char *
take_line(struct parse *ps, const struct line *l, char *buf, size_t size)
{
	const struct key *k;
	char v[APPCONF_LINE_MAX + 1];
	const char *why;

	if (l->kind == L_SECTION) {
		ps->in_app = l->namelen == 3 && memcmp(l->name, "app", 3) == 0;
		ps->in_other = !ps->in_app;
		if (ps->in_other)
			warnf(ps, "unknown section [%.*s], ignored",
			    SHOWN(l->namelen), l->name);
		return NULL;
	}
	if (l->kind != L_KEY || ps->in_other)
		return NULL;
	if (!ps->in_app) {
		warnf(ps, "%.*s= outside [app], ignored", SHOWN(l->namelen),
		    l->name);
		return NULL;
	}
	if ((k = key_find(l->name, l->namelen)) == NULL) {
		warnf(ps, "unknown key \"%.*s\" in [app], ignored",
		    SHOWN(l->namelen), l->name);
		return NULL;
	}
	if (ps->seen[k - keys] != 0) {
		snprintf(buf, size, "%s= again (first on line %u)", k->name,
		    ps->seen[k - keys]);
		return buf;
	}
	ps->seen[k - keys] = ps->lineno;
	memcpy(v, l->value, l->valuelen);
	v[l->valuelen] = '\0';
	if ((why = set_value(ps->ac, k, v)) == NULL)
		return NULL;
	snprintf(buf, size, "%s=: %s", k->name, why);
	return buf;
}

/* The next line of text[0..end) from *p: its bytes, without CR or LF. */
static const char *
next_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

	*len = (size_t)((nl != NULL ? nl : end) - s);
	*p = nl != NULL ? nl + 1 : end;
	if (*len > 0 && s[*len - 1] == '\r')
		(*len)--;
	return s;
}

int
appconf_parse(const char *name, const char *text, size_t len,
    struct appconf *ac, appconf_warn_fn *warn, void *arg, char *err,
    size_t errlen)
{
	struct parse ps = { name, ac, warn, arg, 0, { 0 }, 0, 0 };
	const char *p = text, *end = text + len, *s, *why = NULL;
	char buf[128];
	struct line l;
	size_t n;

	appconf_init(ac);
	while (p < end && why == NULL) {
		s = next_line(&p, end, &n);
		ps.lineno++;
		if (n > APPCONF_LINE_MAX)
			why = "line too long";
		else if (scan_line(s, n, &l, &why) == 0)
			why = take_line(&ps, &l, buf, sizeof(buf));
	}
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "%s:%u: %s", name, ps.lineno, why);
	errno = EINVAL;
	return -1;
}

int
appconf_load(const char *path, struct appconf *ac, appconf_warn_fn *warn,
    void *arg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	appconf_init(ac);
	if (state_read(path, APPCONF_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = appconf_parse(path, text, len, ac, warn, arg, err, errlen);
	free(text);
	return rc;
}

int
appconf_get(const struct appconf *ac, const char *key, char *buf,
    size_t size)
{
	const struct key *k = key_find(key, strlen(key));
	const char *field;
	int n;

	if (k == NULL) {
		errno = EINVAL;
		return -1;
	}
	field = (const char *)ac + k->off;
	if (k->type == T_BOOL)
		field = *(const int *)(const void *)field ? "true" : "false";
	n = snprintf(buf, size, "%s", field);
	if (n < 0 || (size_t)n >= size) {
		errno = ERANGE;
		return -1;
	}
	return 0;
}

size_t
appconf_format(char *buf, size_t size, const struct appconf *ac)
{
	char v[APPCONF_HOSTS_MAX];
	size_t i, used;
	int n;

	used = (size_t)snprintf(buf, size, "[app]\n");
	for (i = 0; i < NKEYS; i++) {
		(void)appconf_get(ac, keys[i].name, v, sizeof(v));
		if (!keys[i].always && (v[0] == '\0' || strcmp(v, "false") == 0))
			continue;
		n = snprintf(used < size ? buf + used : NULL, used < size ?
		    size - used : 0, "%s=%s\n", keys[i].name, v);
		used += n > 0 ? (size_t)n : 0;
	}
	return used;
}

/*
 * Where the edit goes in text: the [app] line of key (*at, *atend) or,
 * when there is none, the end of the last [app] section (*at == *atend);
 * NULL when there is no [app] section.  The text is known to parse.
 */
static const char *
edit_place(const char *text, size_t len, const char *key, const char **atend)
{
	const char *p = text, *end = text + len, *s, *at = NULL, *why;
	struct line l;
	size_t n;
	int in_app = 0;

	while (p < end) {
		s = next_line(&p, end, &n);
		(void)scan_line(s, n, &l, &why);
		if (l.kind == L_SECTION)
			in_app = l.namelen == 3 && memcmp(l.name, "app", 3) == 0;
		if (!in_app)
			continue;
		if (l.kind == L_KEY && l.namelen == strlen(key) &&
		    memcmp(l.name, key, l.namelen) == 0) {
			*atend = p;
			return s;
		}
		at = *atend = p;
	}
	return at;
}

char *
appconf_edit(const char *name, const char *text, size_t len,
    const char *key, const char *value, char *err, size_t errlen)
{
	const struct key *k = key_find(key, strlen(key));
	const char *at, *atend = NULL, *why;
	struct appconf ac;
	char *out = NULL;
	size_t olen;
	FILE *f;

	if (k == NULL || (why = set_value(&ac, k, value)) != NULL) {
		snprintf(err, errlen, "%s: %s=: %s", name, key, k == NULL ?
		    "no such key" : why);
		errno = EINVAL;
		return NULL;
	}
	if (appconf_parse(name, text, len, &ac, NULL, NULL, err, errlen) == -1 ||
	    (f = open_memstream(&out, &olen)) == NULL)
		return NULL;
	if ((at = edit_place(text, len, key, &atend)) == NULL) {
		at = atend = text + len;
		fprintf(f, "%.*s%s[app]\n", (int)len, text, len > 0 &&
		    text[len - 1] != '\n' ? "\n" : "");
	} else
		fprintf(f, "%.*s%s", (int)(at - text), text, at > text &&
		    at[-1] != '\n' ? "\n" : "");
	fprintf(f, "%s=%s\n%.*s", key, value, (int)(text + len - atend),
	    atend);
	if (fclose(f) == EOF) {
		free(out);
		return NULL;
	}
	return out;
}

int
appconf_set(const char *path, const char *key, const char *value,
    char *err, size_t errlen)
{
	char *old, *text;
	size_t len;
	int rc = -1;

	if (state_read(path, APPCONF_FILE_MAX, &old, &len) == -1) {
		if (errno != ENOENT || (old = strdup("")) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		len = 0;
	}
	if ((text = appconf_edit(path, old, len, key, value, err, errlen)) ==
	    NULL)
		goto out;
	if ((rc = state_replace(path, text, strlen(text), 0644,
	    STATE_FSYNC)) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
out:
	if (rc == -1 && errno == ENOMEM)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(text);
	free(old);
	return rc;
}

int
appconf_write(const char *path, const struct appconf *ac, char *err,
    size_t errlen)
{
	char *text;
	size_t len = appconf_format(NULL, 0, ac);

	if ((text = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	appconf_format(text, len + 1, ac);
	if (state_replace(path, text, len, 0644, STATE_FSYNC) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	free(text);
	return 0;
}
