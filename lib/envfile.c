/* SPDX-License-Identifier: ISC */
/* .env (foreman/dotenv) parsing, and the release env format that round-trips. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "state.h"

#define ENVFILE_MAX	(4 * 1024 * 1024)

/* A growing value buffer. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static int
sbuf_add(struct sbuf *b, char c)
{
	char *np;

	if (b->len + 1 >= b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
	return 0;
}

/* A cursor over the text, counting lines for messages. */
struct cur {
	const char	*p, *end;
	unsigned	 line;
	const char	*name;
	char		*err;
	size_t		 errlen;
	envfile_warn_fn	*warn;
	void		*arg;
};

/* A line that is skipped: "NAME:LINE: msg", then past the end of line. */
static void
skip_line(struct cur *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct cur *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct cur *c, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%u: %s", c->name, line, msg);
	errno = EINVAL;
	return -1;
}

static int
at_eol(const struct cur *c)
{
	return c->p == c->end || *c->p == '\n' ||
	    (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n'));
}

static void
skip_blanks(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static void
skip_to_eol(struct cur *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
}

static void
skip_line(struct cur *c, unsigned line, const char *fmt, ...)
{
	char msg[256], buf[512];
	va_list ap;

	skip_to_eol(c);
	if (c->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "%s:%u: %s, line ignored", c->name, line,
	    msg);
	c->warn(c->arg, buf);
}

/* As foreman and dotenv: a key may start with a digit ("1KEY=x"). */
static int
key_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

static int
single_quoted(struct cur *c, struct sbuf *v)
{
	unsigned open = c->line;

	for (c->p++; c->p < c->end && *c->p != '\''; c->p++) {
		if (*c->p == '\n')
			c->line++;
		/* dotenv: \' neither closes nor is unescaped ('it\'s' is it\'s) */
		if (*c->p == '\\' && c->p + 1 < c->end && c->p[1] == '\'' &&
		    sbuf_add(v, *c->p++) == -1)
			return fail(c, c->line, "out of memory");
		if (sbuf_add(v, *c->p) == -1)
			return fail(c, c->line, "out of memory");
	}
	if (c->p == c->end)
		return fail(c, open, "unterminated single quote");
	c->p++;
	return 0;
}

static char
unescape(char ch)
{
	switch (ch) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return ch;	/* \\ \" \$ and the rest: the character itself */
	}
}

static int
double_quoted(struct cur *c, struct sbuf *v)
{
	unsigned open = c->line;
	char ch;

	for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
		ch = *c->p;
		if (ch == '\\' && c->p + 1 < c->end)
			ch = unescape(*++c->p);
		else if (ch == '\n')
			c->line++;
		if (sbuf_add(v, ch) == -1)
			return fail(c, c->line, "out of memory");
	}
	if (c->p == c->end)
		return fail(c, open, "unterminated double quote");
	c->p++;
	return 0;
}

/* Unquoted: up to the end of line or a " #" comment; trailing blanks cut. */
static int
bare(struct cur *c, struct sbuf *v)
{
	size_t keep = 0;

	while (!at_eol(c)) {
		if ((*c->p == ' ' || *c->p == '\t') && c->p + 1 < c->end &&
		    c->p[1] == '#')
			break;
		if (sbuf_add(v, *c->p) == -1)
			return fail(c, c->line, "out of memory");
		if (*c->p != ' ' && *c->p != '\t')
			keep = v->len;
		c->p++;
	}
	v->len = keep;
	if (v->p != NULL)
		v->p[keep] = '\0';
	skip_to_eol(c);
	return 0;
}

/* 0, 1 when the line was skipped, -1 when the file must be refused. */
static int
value(struct cur *c, struct sbuf *v)
{
	unsigned line = c->line;
	int rc;

	if (c->p < c->end && (*c->p == '\'' || *c->p == '"')) {
		rc = *c->p == '\'' ? single_quoted(c, v) : double_quoted(c, v);
		if (rc == -1)
			return -1;
		skip_blanks(c);
		if (c->p < c->end && *c->p == '#')
			skip_to_eol(c);
		if (!at_eol(c)) {
			skip_line(c, line, "unexpected text after the closing quote");
			return 1;
		}
		skip_to_eol(c);
		return 0;
	}
	return bare(c, v);
}

/*
 * One "KEY=VALUE" assignment: 0, 1 when the line was skipped with a
 * warning (what foreman and dotenv ignore), -1 when the file is refused.
 */
static int
assignment(struct cur *c, struct env *out)
{
	const char *k = c->p;
	struct sbuf v = { NULL, 0, 0 };
	unsigned line = c->line;
	char key[256];
	size_t klen;
	int rc;

	while (c->p < c->end && key_char(*c->p))
		c->p++;
	klen = (size_t)(c->p - k);
	skip_blanks(c);
	if (klen == 0 || c->p == c->end || *c->p != '=') {
		skip_line(c, line, "expected KEY=VALUE");
		return 1;
	}
	if (klen >= sizeof(key)) {
		skip_line(c, line, "variable name too long");
		return 1;
	}
	memcpy(key, k, klen);
	key[klen] = '\0';
	c->p++;
	skip_blanks(c);
	if ((rc = value(c, &v)) == 0 && memchr(k, '\0', (size_t)(c->p - k))) {
		skip_line(c, line, "NUL byte in the value of %s", key);
		rc = 1;
	}
	if (rc == 0 && env_set(out, key, v.p ? v.p : "") == -1)
		rc = fail(c, line, "out of memory");
	free(v.p);
	return rc;
}

int
envfile_parse_dotenv(const char *name, const char *text, size_t len,
    struct env *out, envfile_warn_fn *warn, void *arg, char *err,
    size_t errlen)
{
	struct cur c = { text, text + len, 1, name, err, errlen, warn, arg };

	while (c.p < c.end) {
		skip_blanks(&c);
		if (c.p < c.end && *c.p == '\r')
			c.p++;
		if (c.p == c.end)
			break;
		if (*c.p == '\n') {
			c.p++;
			c.line++;
			continue;
		}
		if (*c.p == '#') {
			skip_to_eol(&c);
			continue;
		}
		if ((size_t)(c.end - c.p) > 7 && strncmp(c.p, "export", 6) == 0 &&
		    (c.p[6] == ' ' || c.p[6] == '\t')) {
			c.p += 6;
			skip_blanks(&c);
		}
		if (assignment(&c, out) == -1)
			return -1;
	}
	return 0;
}

static int
load(const char *path, int dotenv, struct env *out, envfile_warn_fn *warn,
    void *arg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc, saved;

	if (state_read(path, ENVFILE_MAX, &text, &len) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		errno = saved;
		return -1;
	}
	if (dotenv)
		rc = envfile_parse_dotenv(path, text, len, out, warn, arg, err,
		    errlen);
	else
		rc = envfile_parse_release(path, text, len, out, err, errlen);
	saved = errno;
	free(text);
	errno = saved;
	return rc;
}

int
envfile_load_dotenv(const char *path, struct env *out, envfile_warn_fn *warn,
    void *arg, char *err, size_t errlen)
{
	return load(path, 1, out, warn, arg, err, errlen);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Unescape one release-format value; -1 on a bad escape. */
static int
release_value(const char *p, const char *end, struct sbuf *v)
{
	int hi, lo;
	char ch;

	for (; p < end; p++) {
		ch = *p;
		if (ch == '\\') {
			if (++p == end)
				return -1;
			switch (*p) {
			case '\\': ch = '\\'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'x':
				if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
				    (lo = hexval(p[2])) < 0 || (hi | lo) == 0)
					return -1;
				ch = (char)(hi << 4 | lo);
				p += 2;
				break;
			default:
				return -1;
			}
		}
		if (sbuf_add(v, ch) == -1)
			return -1;
	}
	return 0;
}

int
envfile_parse_release(const char *name, const char *text, size_t len,
    struct env *out, char *err, size_t errlen)
{
	struct cur c = { text, text + len, 0, name, err, errlen, NULL, NULL };
	const char *nl, *eq;
	struct sbuf v;
	char key[256];
	int rc;

	for (; c.p < c.end; c.p = nl + 1) {
		c.line++;
		if ((nl = memchr(c.p, '\n', (size_t)(c.end - c.p))) == NULL)
			nl = c.end;
		if (nl == c.p)
			continue;
		eq = memchr(c.p, '=', (size_t)(nl - c.p));
		if (eq == NULL || eq == c.p || (size_t)(eq - c.p) >= sizeof(key) ||
		    memchr(c.p, '\0', (size_t)(nl - c.p)) != NULL)
			return fail(&c, c.line, "expected KEY=VALUE");
		memcpy(key, c.p, (size_t)(eq - c.p));
		key[eq - c.p] = '\0';
		memset(&v, 0, sizeof(v));
		if (release_value(eq + 1, nl, &v) == -1) {
			free(v.p);
			return fail(&c, c.line, "bad escape in the value of %s", key);
		}
		rc = env_set(out, key, v.p ? v.p : "");
		free(v.p);
		if (rc == -1)
			return fail(&c, c.line, "out of memory");
	}
	return 0;
}

int
envfile_load_release(const char *path, struct env *out, char *err,
    size_t errlen)
{
	return load(path, 0, out, NULL, NULL, err, errlen);
}

/* Append the escaped form of s. */
static int
escape_into(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char ch;
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		ch = (unsigned char)*s;
		if (ch == '\\')
			rc = sbuf_add(b, '\\') | sbuf_add(b, '\\');
		else if (ch == '\n')
			rc = sbuf_add(b, '\\') | sbuf_add(b, 'n');
		else if (ch == '\r')
			rc = sbuf_add(b, '\\') | sbuf_add(b, 'r');
		else if (ch == '\t')
			rc = sbuf_add(b, '\\') | sbuf_add(b, 't');
		else if (ch < 0x20 || ch == 0x7f)
			rc = sbuf_add(b, '\\') | sbuf_add(b, 'x') |
			    sbuf_add(b, hex[ch >> 4]) | sbuf_add(b, hex[ch & 15]);
		else
			rc = sbuf_add(b, (char)ch);
	}
	return rc;
}

char *
envfile_format_release(const struct env *e, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *k;
	size_t i;

	if (sbuf_add(&b, 'x') == -1)
		return NULL;
	b.len = 0;
	b.p[0] = '\0';
	for (i = 0; i < e->n; i++) {
		for (k = e->vars[i].key; *k != '\0'; k++)
			if (sbuf_add(&b, *k) == -1)
				goto fail;
		if (sbuf_add(&b, '=') == -1 || escape_into(&b, e->vars[i].value) ||
		    sbuf_add(&b, '\n') == -1)
			goto fail;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
fail:
	free(b.p);
	errno = ENOMEM;
	return NULL;
}

char *
envfile_shell_quote(const char *value)
{
	struct sbuf b = { NULL, 0, 0 };
	int rc = sbuf_add(&b, '\'');

	for (; *value != '\0' && rc == 0; value++) {
		if (*value == '\'')
			rc = sbuf_add(&b, '\'') | sbuf_add(&b, '\\') |
			    sbuf_add(&b, '\'') | sbuf_add(&b, '\'');
		else
			rc = sbuf_add(&b, *value);
	}
	if (rc == 0)
		rc = sbuf_add(&b, '\'');
	if (rc != 0) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}
