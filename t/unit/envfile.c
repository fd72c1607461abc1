/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/envfile and lib/env: .env parsing and the round-trip. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "envfile.h"
#include "golden.h"
#include "state.h"
#include "tap.h"

#define GOLDEN	"t/data/envfile"

static int
dotenv(const char *text, struct env *e, char *err)
{
	env_init(e);
	return envfile_parse_dotenv(".env", text, strlen(text), e, NULL, NULL,
	    err, 512);
}

/* Collects warnings, one per line, for the golden outputs. */
static void
collect(void *arg, const char *msg)
{
	FILE *f = arg;

	fprintf(f, "warning: %s\n", msg);
}

static void
test_dotenv(void)
{
	struct env e;
	char err[512];

	ok(dotenv("A=1\nexport B=two\n# c\n\nC=\n", &e, err) == 0, "basic");
	is_str(env_get(&e, "A"), "1", "A");
	is_str(env_get(&e, "B"), "two", "export prefix");
	is_str(env_get(&e, "C"), "", "empty value");
	env_free(&e);

	ok(dotenv("S='it''s $HOME \\n'\n", &e, err) == 0 &&
	    env_get(&e, "S") == NULL, "text after a closing quote: line skipped");
	env_free(&e);
	ok(dotenv("S='a $HOME \\n #x'\n", &e, err) == 0, "single quotes");
	is_str(env_get(&e, "S"), "a $HOME \\n #x", "single quotes are literal");
	env_free(&e);

	ok(dotenv("D=\"a\\nb\\t\\\"q\\\" \\\\ \\$X\"\n", &e, err) == 0,
	    "double quotes");
	is_str(env_get(&e, "D"), "a\nb\t\"q\" \\ $X", "escapes in double quotes");
	env_free(&e);

	ok(dotenv("M=\"line1\nline2\"\nN=after\n", &e, err) == 0, "multi-line");
	is_str(env_get(&e, "M"), "line1\nline2", "newline inside quotes");
	is_str(env_get(&e, "N"), "after", "next key after a multi-line value");
	env_free(&e);

	ok(dotenv("U=value # comment\nV=a#b\nW=\"x\" # c\n", &e, err) == 0,
	    "comments after values");
	is_str(env_get(&e, "U"), "value", "inline comment cut, space trimmed");
	is_str(env_get(&e, "V"), "a#b", "# without a space before is kept");
	is_str(env_get(&e, "W"), "x", "comment after quoted value");
	env_free(&e);

	ok(dotenv("URL=postgres://u:p@h:5432/db?x=1&y=2\r\n", &e, err) == 0 &&
	    strcmp(env_get(&e, "URL"), "postgres://u:p@h:5432/db?x=1&y=2") == 0,
	    "= and : in a bare value, CRLF");
	env_free(&e);

	ok(dotenv("  K = spaced  \n", &e, err) == 0 &&
	    strcmp(env_get(&e, "K"), "spaced") == 0, "spaces around =");
	env_free(&e);

	ok(dotenv("A=1\nA=2\n", &e, err) == 0 && strcmp(env_get(&e, "A"), "2")
	    == 0 && e.n == 1, "later line wins");
	env_free(&e);

	ok(dotenv("A=1\nnot a line\nB=2\n", &e, err) == 0 && e.n == 2,
	    "junk is skipped, the lines after it read");
	env_free(&e);

	ok(dotenv("A=1\nB=\"open\n\n", &e, err) == -1, "unterminated quote");
	is_str(err, ".env:2: unterminated double quote", "names the opening line");
	env_free(&e);

	ok(dotenv("1A=x\n", &e, err) == 0 && env_get(&e, "1A") != NULL,
	    "key starting with a digit (foreman, dotenv)");
	env_free(&e);
}

/* What a parse of `path` gives: the variables in release form, warnings, error. */
static char *
golden_run(const char *dir, const char *file, size_t *len)
{
	char path[512], err[512], *text, *out = NULL, *vars;
	size_t tlen;
	struct env e;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (state_read(path, 1 << 20, &text, &tlen) == -1 ||
	    (f = open_memstream(&out, len)) == NULL)
		return NULL;
	env_init(&e);
	if (envfile_parse_dotenv(file, text, tlen, &e, collect, f, err,
	    sizeof(err)) == -1)
		fprintf(f, "error: %s\n", err);
	else if ((vars = envfile_format_release(&e, NULL)) != NULL) {
		fputs(vars, f);
		free(vars);
	}
	fclose(f);
	env_free(&e);
	free(text);
	return out;
}

/* t/data/envfile/CASE.env parses to exactly CASE.out. */
static void
test_golden(void)
{
	int n = golden_each(GOLDEN, ".env", golden_run);

	ok(n >= 5, "%d golden cases", n);
}

static void
test_release_roundtrip(void)
{
	static const char *values[] = {
		"plain", "", "with\nnewline\r\nand\ttab", "quotes ' \" ` ",
		"a=b=c", "$HOME ${X} $(rm -rf /)", "back\\slash\\n",
		"unicode: h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80",
		"ctrl \x01\x1f\x7f end", "trailing space ", "#hash",
	};
	struct env e, back;
	char key[16], err[512], *text;
	size_t i, len;
	int same = 1;

	env_init(&e);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "K%zu", i);
		env_set(&e, key, values[i]);
	}
	text = envfile_format_release(&e, &len);
	ok(text != NULL, "release env formatted");
	ok(strchr(text, '\r') == NULL && strchr(text, '\t') == NULL,
	    "no raw control characters in the file");
	env_init(&back);
	ok(envfile_parse_release("env", text, len, &back, err, sizeof(err)) == 0,
	    "release env parses back");
	is_int(back.n, e.n, "same number of variables");
	for (i = 0; i < e.n; i++)
		if (env_get(&back, e.vars[i].key) == NULL ||
		    strcmp(env_get(&back, e.vars[i].key), e.vars[i].value) != 0)
			same = 0;
	ok(same, "every awkward value round-trips byte for byte");
	free(text);
	env_free(&back);
	env_free(&e);

	env_init(&back);
	ok(envfile_parse_release("env", "A=\\q\n", 5, &back, err, sizeof(err))
	    == -1, "bad escape refused");
	ok(envfile_parse_release("env", "novalue\n", 8, &back, err, sizeof(err))
	    == -1, "line without = refused");
	env_free(&back);
}

static void
test_env(void)
{
	struct env e;
	char **envp, *q;

	env_init(&e);
	env_set(&e, "B", "2");
	env_set(&e, "A", "1");
	env_set(&e, "B", "3");
	is_int(e.n, 2, "set replaces");
	is_int(env_total_size(&e), 4, "total size counts keys and values");
	env_sort(&e);
	is_str(e.vars[0].key, "A", "sorted");
	envp = env_to_envp(&e);
	ok(envp && strcmp(envp[0], "A=1") == 0 && strcmp(envp[1], "B=3") == 0 &&
	    envp[2] == NULL, "envp");
	free(envp);
	is_int(env_unset(&e, "A"), 1, "unset present");
	is_int(env_unset(&e, "A"), 0, "unset absent");
	env_free(&e);
	q = envfile_shell_quote("it's $x");
	is_str(q, "'it'\\''s $x'", "shell quoting");
	free(q);
}

int
main(void)
{
	test_dotenv();
	test_golden();
	test_release_roundtrip();
	test_env();
	return done_testing();
}
