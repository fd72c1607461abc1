/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/appconf: the policy, the edits and golden files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appconf.h"
#include "golden.h"
#include "state.h"
#include "tap.h"

#define GOLDEN	"t/data/appconf"

static void
collect(void *arg, const char *msg)
{
	FILE *f = arg;

	fprintf(f, "warning: %s\n", msg);
}

static int
parse(const char *text, struct appconf *ac, char *err)
{
	return appconf_parse("app.conf", text, strlen(text), ac, NULL, NULL,
	    err, 256);
}

/* Refused, and the message is exactly want. */
static void
refused(const char *text, const char *want)
{
	struct appconf ac;
	char err[256] = "";

	ok(parse(text, &ac, err) == -1 && errno == EINVAL,
	    "refused: %s", want);
	is_str(err, want, "  says where and why");
}

static void
test_policy(void)
{
	struct appconf ac;
	char err[256], big[APPCONF_LINE_MAX + 32];
	size_t i;

	ok(parse("[app]\r\n  size = standard-2x \r\n; c\n# c\n\nspace=\n"
	    "maintenance=on\nhostnames=a.example, B.example\tc\n", &ac, err)
	    == 0, "CRLF, blanks, comments, empty values");
	is_str(ac.size, "standard-2x", "blanks trimmed");
	ok(ac.maintenance == 1 && ac.preboot == 0, "flags");
	is_str(ac.hostnames, "a.example, B.example\tc", "hostnames as written");
	ok(parse("[app]\npreboot=\n", &ac, err) == 0 && ac.preboot == 0,
	    "an empty flag is its default");
	ok(parse("", &ac, err) == 0 && ac.id[0] == '\0', "empty file");

	refused("[app]\nsize\n", "app.conf:2: expected key=value, a [section] "
	    "or a comment");
	refused("[app\n", "app.conf:1: expected [section] with a name of "
	    "letters, digits, '-', '_' and '.'");
	refused("[app]\nsp ace=x\n", "app.conf:2: a key is letters, digits, "
	    "'-', '_' and '.'");
	refused("[app]\npreboot=maybe\n", "app.conf:2: preboot=: not true or "
	    "false");
	refused("[app]\nsize=a\nsize=b\n", "app.conf:3: size= again (first on "
	    "line 2)");
	refused("[app]\nspace=Bad_Space\n", "app.conf:2: space=: space names "
	    "use lowercase letters, digits and single inner dashes");
	refused("[app]\nsize=0123456789012345678901234567890123\n",
	    "app.conf:2: size=: too long");
	refused("[app]\nstack=../x\n", "app.conf:2: stack=: app names start "
	    "with a lowercase letter");
	ok(appconf_parse("app.conf", "[app]\nstack=bookworm\n", 21, &ac, NULL,
	    NULL, err, sizeof(err)) == 0 && strcmp(ac.stack, "bookworm") == 0,
	    "stack=NAME");
	refused("[app]\nid=not an id\n", "app.conf:2: id=: an id is hex digits "
	    "and dashes");
	refused("[app]\nhostnames=a.example b/c\n", "app.conf:2: hostnames=: "
	    "a host name is letters, digits, '-', '_' and '.'");
	refused("[app]\nhostnames=a\x1b[2Jb\n", "app.conf:2: control character");
	ok(appconf_parse("app.conf", "[app]\nid=a\0b\n", 12, &ac, NULL, NULL,
	    err, sizeof(err)) == -1, "a NUL byte is refused");
	is_str(err, "app.conf:2: NUL byte", "  where");

	/* Host names of 99 bytes, one blank between them. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i % 100 == 99 ? ' ' : 'a';
	memcpy(big, "[app]\nhostnames=", 16);
	big[sizeof(big) - 1] = '\0';
	refused(big, "app.conf:2: line too long");
	big[16 + APPCONF_HOSTS_MAX] = '\0';
	refused(big, "app.conf:2: hostnames=: too long");
	/* Too long is never cut short: the longest value that fits is whole. */
	big[16 + APPCONF_HOSTS_MAX - 1] = '\0';
	ok(parse(big, &ac, err) == 0 && strlen(ac.hostnames) ==
	    APPCONF_HOSTS_MAX - 1, "the longest hostnames= fits whole");
}

static void
test_get_format(void)
{
	struct appconf ac, back;
	char buf[64], text[8192], err[256];

	appconf_init(&ac);
	snprintf(ac.id, sizeof(ac.id), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	ac.metrics = 1;
	ok(appconf_get(&ac, "log-runtime-metrics", buf, sizeof(buf)) == 0,
	    "get a flag");
	is_str(buf, "true", "  as the file writes it");
	ok(appconf_get(&ac, "nope", buf, sizeof(buf)) == -1 && errno == EINVAL,
	    "get an unknown key");
	ok(appconf_get(&ac, "id", buf, 8) == -1 && errno == ERANGE,
	    "get into a short buffer");
	ok(appconf_format(text, sizeof(text), &ac) < sizeof(text) &&
	    parse(text, &back, err) == 0 && memcmp(&ac, &back, sizeof(ac))
	    == 0, "format parses back to the same settings");
	is_int(appconf_format(NULL, 0, &ac), strlen(text), "needed length");
}

static void
test_edit(void)
{
	char err[256], *t;

	t = appconf_edit("app.conf", "", 0, "maintenance", "true", err,
	    sizeof(err));
	is_str(t, "[app]\nmaintenance=true\n", "an empty file gets [app]");
	free(t);
	t = appconf_edit("app.conf", "[app]\nsize=x", 12, "size", "y", err,
	    sizeof(err));
	is_str(t, "[app]\nsize=y\n", "a last line without newline");
	free(t);
	ok(appconf_edit("app.conf", "[app]\nsize=x\n", 13, "size", "a b", err,
	    sizeof(err)) == NULL && errno == EINVAL, "a bad value is refused");
	is_str(err, "app.conf: size=: a size name is letters, digits, '-', "
	    "'_' and '.'", "  why");
	ok(appconf_edit("app.conf", "[app]\nx\n", 8, "size", "a", err,
	    sizeof(err)) == NULL, "a broken file is never rewritten");
	is_str(err, "app.conf:2: expected key=value, a [section] or a comment",
	    "  why");
	ok(appconf_edit("app.conf", "", 0, "colour", "a", err, sizeof(err)) ==
	    NULL, "an unknown key is refused");
}

static void
test_files(void)
{
	char dir[] = "/tmp/dynotest-appconf-XXXXXX", path[512], err[512];
	struct appconf ac;
	char *text = NULL;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof(path), "%s/app.conf", dir);
	ok(appconf_load(path, &ac, NULL, NULL, err, sizeof(err)) == 0 &&
	    ac.size[0] == '\0', "a missing file is the defaults");
	ok(appconf_set(path, "preboot", "true", err, sizeof(err)) == 0,
	    "set makes the file");
	ok(appconf_set(path, "size", "performance-m", err, sizeof(err)) == 0 &&
	    appconf_load(path, &ac, NULL, NULL, err, sizeof(err)) == 0 &&
	    ac.preboot && strcmp(ac.size, "performance-m") == 0,
	    "set twice, load back");
	ok(appconf_write(path, &ac, err, sizeof(err)) == 0 &&
	    state_read(path, 4096, &text, NULL) == 0, "write");
	is_str(text, "[app]\nid=\nspace=\nsize=performance-m\nhostnames=\n"
	    "preboot=true\n", "  the whole text");
	free(text);
	ok(state_replace(path, "[app]\nsize=a b\n", 15, 0644, 0) == 0 &&
	    appconf_load(path, &ac, NULL, NULL, err, sizeof(err)) == -1,
	    "a bad file is an error on load");
	ok(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":2: ") !=
	    NULL, "  naming file:line");
	ok(appconf_set(path, "size", "b", err, sizeof(err)) == -1 &&
	    errno == EINVAL, "  and set refuses to rewrite it");
	unlink(path);
	rmdir(dir);
}

/* CASE.in parsed: the warnings, then the error or the settings formatted. */
static char *
run_parse(const char *dir, const char *file, size_t *len)
{
	char path[512], err[512], *text, *out = NULL, *fmt;
	struct appconf ac;
	size_t tlen;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (state_read(path, 1 << 20, &text, &tlen) == -1 ||
	    (f = open_memstream(&out, len)) == NULL)
		return NULL;
	if (appconf_parse(file, text, tlen, &ac, collect, f, err,
	    sizeof(err)) == -1)
		fprintf(f, "error: %s\n", err);
	else if ((fmt = malloc(appconf_format(NULL, 0, &ac) + 1)) != NULL) {
		appconf_format(fmt, appconf_format(NULL, 0, &ac) + 1, &ac);
		fputs(fmt, f);
		free(fmt);
	}
	fclose(f);
	free(text);
	return out;
}

/*
 * CASE.set: a first line naming the starting file ("-" for none, else a
 * CASE.in beside it), then one "key=value" a line, each set in turn as
 * release does; the result is the file's text byte for byte, or the error.
 */
static char *
run_set(const char *dir, const char *file, size_t *len)
{
	char path[512], err[512], *ops, *line, *save, *text, *next;
	size_t tlen;
	char *eq;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (state_read(path, 1 << 20, &ops, NULL) == -1 ||
	    (line = strtok_r(ops, "\n", &save)) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, line);
	if (strcmp(line, "-") == 0)
		text = strdup("");
	else if (state_read(path, 1 << 20, &text, &tlen) == -1)
		text = NULL;
	while (text != NULL && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		if ((eq = strchr(line, '=')) == NULL)
			break;
		*eq = '\0';
		next = appconf_edit("app.conf", text, strlen(text), line,
		    eq + 1, err, sizeof(err));
		free(text);
		if ((text = next) == NULL && asprintf(&text, "error: %s\n",
		    err) == -1)
			text = NULL;
		if (strncmp(text, "error: ", 7) == 0)
			break;
	}
	free(ops);
	if (text != NULL)
		*len = strlen(text);
	return text;
}

int
main(void)
{
	int n;

	test_policy();
	test_get_format();
	test_edit();
	test_files();
	n = golden_each(GOLDEN, ".in", run_parse);
	n += golden_each(GOLDEN, ".set", run_set);
	ok(n >= 6, "%d golden cases", n);
	return done_testing();
}
