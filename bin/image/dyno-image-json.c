/* SPDX-License-Identifier: ISC */
/* A small, strict JSON reader for image indexes, manifests and configs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dyno-image.h"

#define JSON_MAXDEPTH	64
#define JSON_MAXNODES	200000

struct jp {
	const char	*p, *end;
	const char	*why;
	unsigned	 nodes;
};

static struct json *parse_value(struct jp *, int depth);

static void
skip_ws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 when they are not. */
static long
read_u4(struct jp *jp)
{
	long v = 0;
	int i, h;

	if (jp->end - jp->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)jp->p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	jp->p += 4;
	return v;
}

static size_t
put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* An escape after '\'; appends to o, returns bytes or 0 when bad. */
static size_t
parse_escape(struct jp *jp, char *o)
{
	long cp, lo;
	char c = *jp->p++;

	switch (c) {
	case '"': case '\\': case '/': *o = c; return 1;
	case 'b': *o = '\b'; return 1;
	case 'f': *o = '\f'; return 1;
	case 'n': *o = '\n'; return 1;
	case 'r': *o = '\r'; return 1;
	case 't': *o = '\t'; return 1;
	case 'u': break;
	default: return 0;
	}
	if ((cp = read_u4(jp)) <= 0)	/* \u0000 would cut a C string */
		return 0;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return 0;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
			return 0;
		jp->p += 2;
		if ((lo = read_u4(jp)) < 0xdc00 || lo > 0xdfff)
			return 0;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return put_utf8(o, (unsigned long)cp);
}

/* A string after its opening quote, into a malloc'd buffer. */
static char *
parse_string(struct jp *jp)
{
	const char *s = jp->p;
	char *out, *o;
	size_t n;

	/* The decoded string is never longer than the encoded one. */
	while (s < jp->end && *s != '"')
		s += *s == '\\' && s + 1 < jp->end ? 2 : 1;
	if (s >= jp->end || (out = malloc((size_t)(s - jp->p) + 1)) == NULL) {
		jp->why = s >= jp->end ? "unterminated string" : "out of memory";
		return NULL;
	}
	for (o = out; *jp->p != '"';) {
		unsigned char c = (unsigned char)*jp->p;

		if (c < 0x20) {
			jp->why = "control character in a string";
			goto bad;
		}
		if (c != '\\') {
			*o++ = (char)c;
			jp->p++;
			continue;
		}
		jp->p++;
		if ((n = parse_escape(jp, o)) == 0) {
			jp->why = "bad escape in a string";
			goto bad;
		}
		o += n;
	}
	jp->p++;
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static struct json *
new_node(struct jp *jp, enum json_type t)
{
	struct json *j;

	if (++jp->nodes > JSON_MAXNODES) {
		jp->why = "too many values";
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		jp->why = "out of memory";
	else
		j->type = t;
	return j;
}

static int
parse_number(struct jp *jp, struct json *j)
{
	char buf[64], *e;
	size_t n = strspn(jp->p, "0123456789+-.eE");

	if (n == 0 || n >= sizeof(buf) || jp->p + n > jp->end)
		return -1;
	memcpy(buf, jp->p, n);
	buf[n] = '\0';
	errno = 0;
	j->num = strtod(buf, &e);
	if (*e != '\0' || errno != 0)
		return -1;
	jp->p += n;
	return 0;
}

static int
match_word(struct jp *jp, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n) != 0)
		return 0;
	jp->p += n;
	return 1;
}

/* Array elements or object members, after the opening bracket. */
static int
parse_children(struct jp *jp, struct json *j, int depth)
{
	struct json **tail = &j->child, *c;
	char close = j->type == JSON_ARR ? ']' : '}';
	char *key = NULL;

	skip_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		skip_ws(jp);
		if (j->type == JSON_OBJ) {
			if (jp->p >= jp->end || *jp->p++ != '"' ||
			    (key = parse_string(jp)) == NULL)
				goto bad;
			skip_ws(jp);
			if (jp->p >= jp->end || *jp->p++ != ':')
				goto bad;
		}
		if ((c = parse_value(jp, depth + 1)) == NULL)
			goto bad;
		c->key = key;
		key = NULL;
		*tail = c;
		tail = &c->next;
		skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p++ == close)
			return 0;
		goto bad;
	}
bad:
	free(key);
	if (jp->why == NULL)
		jp->why = "malformed array or object";
	return -1;
}

static struct json *
parse_value(struct jp *jp, int depth)
{
	struct json *j = NULL;
	char c;

	skip_ws(jp);
	if (depth > JSON_MAXDEPTH) {
		jp->why = "nested too deeply";
		return NULL;
	}
	if (jp->p >= jp->end) {
		jp->why = "unexpected end";
		return NULL;
	}
	c = *jp->p;
	if (c == '{' || c == '[') {
		if ((j = new_node(jp, c == '{' ? JSON_OBJ : JSON_ARR)) == NULL)
			return NULL;
		jp->p++;
		if (parse_children(jp, j, depth) == -1)
			goto bad;
	} else if (c == '"') {
		if ((j = new_node(jp, JSON_STR)) == NULL)
			return NULL;
		jp->p++;
		if ((j->str = parse_string(jp)) == NULL)
			goto bad;
	} else if ((j = new_node(jp, JSON_NULL)) == NULL) {
		return NULL;
	} else if (match_word(jp, "true")) {
		j->type = JSON_BOOL, j->num = 1;
	} else if (match_word(jp, "false")) {
		j->type = JSON_BOOL;
	} else if (!match_word(jp, "null")) {
		j->type = JSON_NUM;
		if (parse_number(jp, j) == -1) {
			jp->why = "not a JSON value";
			goto bad;
		}
	}
	return j;
bad:
	json_free(j);
	return NULL;
}

struct json *
json_parse(const char *text, size_t len, const char **why)
{
	struct jp jp = { text, text + len, NULL, 0 };
	struct json *j;

	if (memchr(text, '\0', len) != NULL) {
		*why = "a NUL byte in JSON";
		return NULL;
	}
	if ((j = parse_value(&jp, 0)) == NULL) {
		*why = jp.why;
		return NULL;
	}
	skip_ws(&jp);
	if (jp.p != jp.end) {
		json_free(j);
		*why = "trailing data after JSON";
		return NULL;
	}
	return j;
}

void
json_free(struct json *j)
{
	struct json *next;

	/* Siblings iteratively, children recursively (depth is bounded). */
	for (; j != NULL; j = next) {
		next = j->next;
		json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
	}
}

const struct json *
json_get(const struct json *o, const char *key)
{
	const struct json *c;

	if (o == NULL || o->type != JSON_OBJ)
		return NULL;
	for (c = o->child; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *
json_str(const struct json *o, const char *key)
{
	const struct json *c = json_get(o, key);

	return c != NULL && c->type == JSON_STR ? c->str : NULL;
}
