/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/conf: defaults, every kind of key, errors with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

static char path[] = "/tmp/dynotest-conf-XXXXXX";

static int
load_text(struct conf *c, const char *text, char *err)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	conf_defaults(c);
	return conf_load_file(c, path, err, 512);
}

int
main(void)
{
	struct conf c;
	const struct dyno_size *s;
	char err[512], want[600];
	int fd = mkstemp(path);

	close(fd);
	conf_defaults(&c);
	is_int(c.grace_ms, 30000, "default grace 30 s");
	is_int(c.boot_timeout_ms, 60000, "default boot timeout 60 s");
	is_int(c.history_lines, 1500, "default history 1500");
	is_int(c.metrics_interval_ms, 20000,
	    "default log-runtime-metrics every 20 s (heroku.md)");
	is_int(c.nbackoff, 6, "default backoff schedule has 6 steps");
	is_int(c.backoff_ms[5], 320 * 60000, "last cool-off 320 min");
	s = conf_size(&c, "Standard-2X");
	ok(s && s->memory == 1ULL << 30 && s->pids == 512, "standard-2x size");
	s = conf_size(&c, "performance-l");
	ok(s && s->memory == 14ULL << 30 && s->pids == 32768, "performance-l size");

	ok(load_text(&c, "[dyno]\ngrace = 5s\nuser = dyno\n[router]\nmax_tries = 3\n"
	    "[manager]\nrestart_backoff = 0, 2s, 4s\n[logs]\nhistory=10\n", err) == 0,
	    "a file with every kind of key");
	is_int(c.grace_ms, 5000, "duration");
	is_str(c.user, "dyno", "string");
	is_int(c.max_tries, 3, "integer");
	is_int(c.nbackoff, 3, "backoff list length");
	is_int(c.backoff_ms[2], 4000, "backoff list value");
	is_int(c.history_lines, 10, "history");
	is_int(c.response_timeout_ms, 30000, "untouched keys keep defaults");

	ok(load_text(&c, "[dyno]\nuserns = yes\n", err) == 0 && c.userns == 1,
	    "a boolean");
	ok(load_text(&c, "[dyno]\nuserns = perhaps\n", err) == -1,
	    "a bad boolean refused");
	ok(load_text(&c, "[dyno]\nuserns = auto\n", err) == 0 && c.userns == -1,
	    "userns = auto");
	ok(load_text(&c, "[dyno]\nuserns_base = 1000\n", err) == -1,
	    "userns_base below 65536 refused");
	ok(load_text(&c, "[size tiny]\nmemory = 32M\nmemory_max = 64M\npids = 20\n",
	    err) == 0, "a new size");
	s = conf_size(&c, "tiny");
	ok(s && s->memory == 32ULL << 20 && s->memory_max == 64ULL << 20 &&
	    s->pids == 20 && s->cpu_weight == 100, "new size values");

	ok(load_text(&c, "[dyno]\ngrace = 5s\nbogus = 1\n", err) == -1,
	    "unknown key refused");
	snprintf(want, sizeof(want), "%s:3: unknown key \"bogus\" in [dyno]", path);
	is_str(err, want, "unknown key names file:line");

	ok(load_text(&c, "[router]\n\nmax_tries = many\n", err) == -1,
	    "bad value refused");
	snprintf(want, sizeof(want), "%s:3: bad value \"many\" for max_tries in [router]",
	    path);
	is_str(err, want, "bad value names file:line");

	ok(load_text(&c, "[nosuch]\nx = 1\n", err) == -1, "unknown section refused");
	ok(load_text(&c, "[size x]\ncolour = red\n", err) == -1,
	    "unknown size key refused");
	ok(load_text(&c, "not ini at all\n", err) == -1, "syntax error refused");

	setenv("DYNO_CONF", path, 1);
	setenv("DYNO_ROOT", "/tmp/dynotest-root", 1);
	load_text(&c, "[dyno]\nsize = standard-2x\n", err);
	ok(conf_load(&c, err, sizeof(err)) == 0, "conf_load with DYNO_CONF");
	is_str(c.root, "/tmp/dynotest-root", "DYNO_ROOT wins");
	is_str(c.size, "standard-2x", "file read through DYNO_CONF");
	load_text(&c, "[dyno]\nsize = huge\n", err);
	ok(conf_load(&c, err, sizeof(err)) == -1 && strstr(err, "unknown size"),
	    "an unknown default size is a config error");
	setenv("DYNO_ROOT", "relative", 1);
	load_text(&c, "", err);
	ok(conf_load(&c, err, sizeof(err)) == -1, "relative DYNO_ROOT refused");
	setenv("DYNO_CONF", "/nonexistent/dyno.conf", 1);
	unsetenv("DYNO_ROOT");
	ok(conf_load(&c, err, sizeof(err)) == -1, "a missing DYNO_CONF is an error");
	unlink(path);
	return done_testing();
}
