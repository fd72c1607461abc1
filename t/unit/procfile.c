/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/procfile: the grammar foreman and Heroku users hit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfile.h"
#include "tap.h"

static int nwarn;
static void load_beneath(void);
static char lastwarn[512];

static void
warn(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static int
parse(const char *text, struct procfile *pf, char *err)
{
	nwarn = 0;
	lastwarn[0] = '\0';
	return procfile_parse("Procfile", text, strlen(text), pf, warn, NULL,
	    err, 512);
}

int
main(void)
{
	struct procfile pf;
	char err[512];

	ok(parse("web: python3 app.py\nworker: sh w.sh\n", &pf, err) == 0,
	    "two types parse");
	is_int(pf.n, 2, "two entries");
	is_str(pf.entries[0].type, "web", "first type");
	is_str(pf.entries[0].command, "python3 app.py", "first command");
	is_int(pf.entries[1].line, 2, "line numbers kept");
	procfile_free(&pf);

	ok(parse("# comment\n  # indented comment\n\r\nweb: a\r\n", &pf, err) == 0,
	    "comments, blank lines, CRLF");
	is_str(pf.entries[0].command, "a", "CR stripped from command");
	is_int(nwarn, 0, "no warning for comments");
	procfile_free(&pf);

	ok(parse("   web:    bundle exec puma -p $PORT   \n", &pf, err) == 0,
	    "leading spaces");
	is_str(pf.entries[0].command, "bundle exec puma -p $PORT",
	    "command trimmed, $PORT kept literally");
	procfile_free(&pf);

	ok(parse("web:cmd\n", &pf, err) == 0 && strcmp(pf.entries[0].command,
	    "cmd") == 0, "web:cmd without a space (foreman)");
	procfile_free(&pf);

	ok(parse("clock: echo a:b:c http://x:80/\n", &pf, err) == 0, "colons");
	is_str(pf.entries[0].command, "echo a:b:c http://x:80/",
	    "colons inside the command kept");
	procfile_free(&pf);

	ok(parse("urgent-worker_2: x\nWeb: y\n", &pf, err) == 0 && pf.n == 2,
	    "hyphen, underscore, digits, uppercase in names");
	procfile_free(&pf);

	ok(parse("web: a\nthis is junk\nworker: b\n", &pf, err) == 0, "junk line");
	is_int(nwarn, 1, "one warning for the junk line");
	is_str(lastwarn, "Procfile:2: not a \"type: command\" line, ignored",
	    "warning names the line");
	is_int(pf.n, 2, "the other lines still count");
	procfile_free(&pf);

	ok(parse("web: a\nweb: b\n", &pf, err) == -1 && errno == EINVAL,
	    "duplicate type is an error");
	is_str(err, "Procfile:2: duplicate process type \"web\"", "duplicate message");

	ok(parse("web: a\nworker:   \n", &pf, err) == -1, "missing command");
	is_str(err, "Procfile:2: missing command after \"worker:\"",
	    "missing command message");

	ok(parse("# only a comment\n\n", &pf, err) == -1, "no types is an error");
	is_str(err, "Procfile: no process types declared", "empty message");

	ok(parse("web.1: a\n", &pf, err) == -1 && nwarn == 1,
	    "a dot is not a name character");

	{
		char big[200];
		memset(big, 'a', 64);
		strcpy(big + 64, ": x\n");
		ok(parse(big, &pf, err) == -1 && strstr(err, "longer than 63"),
		    "64-character type refused");
	}

	ok(parse("web: no newline at end", &pf, err) == 0 &&
	    strcmp(pf.entries[0].command, "no newline at end") == 0,
	    "last line without newline");
	ok(procfile_find(&pf, "web") != NULL && procfile_find(&pf, "x") == NULL,
	    "procfile_find");
	is_int(procfile_index(&pf, "web"), 0, "procfile_index");
	procfile_free(&pf);

	ok(procfile_load("/nonexistent/Procfile", &pf, warn, NULL, err,
	    sizeof(err)) == -1 && errno == ENOENT, "missing file: ENOENT");
	is_str(err, "/nonexistent/Procfile: No such file or directory",
	    "missing file message");
	load_beneath();
	return done_testing();
}

/* A slug's Procfile: read beneath the slug, a regular file only. */
static void
load_beneath(void)
{
	char top[] = "/tmp/dynotest-procfile-XXXXXX", slug[128], p[192];
	char err[512], want[512];
	struct procfile pf;
	FILE *f;

	if (mkdtemp(top) == NULL)
		return;
	snprintf(p, sizeof(p), "%s/Procfile", top);
	if ((f = fopen(p, "w")) != NULL) {
		fputs("web: outside\n", f);
		fclose(f);
	}
	snprintf(slug, sizeof(slug), "%s/slug", top);
	mkdir(slug, 0755);
	snprintf(p, sizeof(p), "%s/Procfile", slug);
	(void)!symlink("../Procfile", p);
	ok(procfile_load_beneath(slug, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1 && errno == EXDEV && pf.n == 0,
	    "a link out of the slug: EXDEV");
	snprintf(want, sizeof(want), "%s: leads outside the slug", p);
	is_str(err, want, "its message");
	unlink(p);
	mkfifo(p, 0644);
	ok(procfile_load_beneath(slug, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1 && errno == ENXIO, "a FIFO: ENXIO, no hang");
	unlink(p);
	(void)!symlink("a/../../slug/Procfile.real", p);
	snprintf(want, sizeof(want), "%s/a", slug);
	mkdir(want, 0755);
	snprintf(want, sizeof(want), "%s/Procfile.real", slug);
	if ((f = fopen(want, "w")) != NULL) {
		fputs("web: inside\n", f);
		fclose(f);
	}
	ok(procfile_load_beneath(slug, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == -1 && errno == EXDEV,
	    "\"..\" above the slug, even back into it: EXDEV");
	unlink(p);
	(void)!symlink("a/../Procfile.real", p);
	ok(procfile_load_beneath(slug, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == 0 && pf.n == 1 &&
	    strcmp(pf.entries[0].command, "inside") == 0,
	    "a link inside the slug is followed");
	procfile_free(&pf);
	snprintf(p, sizeof(p), "rm -rf '%s'", top);
	(void)!system(p);
}
