/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/dynostate: golden state folders, natural order, routes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dynostate.h"
#include "state.h"
#include "tap.h"

#define GOLDEN	"t/data/dynostate"
#define APPDIR	GOLDEN "/app"

/* want == the file GOLDEN/name, byte for byte. */
static void
is_golden(const char *got, const char *name)
{
	char path[PATH_MAX], *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN, name);
	if (state_read(path, 1 << 20, &want, NULL) == -1) {
		ok(0, "read %s", path);
		return;
	}
	if (!ok(strcmp(got, want) == 0, "golden %s", name))
		printf("# got:\n%s", got);
	free(want);
}

/* The listing of APPDIR's dynos (of one type) as text, one per line. */
static void
test_list(const char *type, const char *golden)
{
	struct dynostate ds[32];
	char *out = NULL;
	size_t n, i, len;
	FILE *f = open_memstream(&out, &len);

	n = dynostate_list(APPDIR, type, ds, 32);
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s %ld %s %s %lld\n", ds[i].name, ds[i].state,
		    ds[i].pid, ds[i].release[0] ? ds[i].release : "-",
		    ds[i].addr[0] ? ds[i].addr : "-", ds[i].started);
	fclose(f);
	is_golden(out, golden);
	free(out);
	ok(dynostate_list(APPDIR, "web", ds, 2) == 2, "at most max");
	ok(dynostate_list(GOLDEN "/nowhere", NULL, ds, 32) == 0, "no folder");
}

static void
test_cmp(void)
{
	ok(dynostate_cmp("web.2", "web.10") < 0, "web.2 before web.10");
	ok(dynostate_cmp("web.10", "web.2") > 0, "web.10 after web.2");
	ok(dynostate_cmp("web.1", "web.1") == 0, "equal");
	ok(dynostate_cmp("web.9", "worker.1") < 0, "by type first");
	ok(dynostate_cmp("w.5", "web.1") < 0, "shorter type first");
	ok(dynostate_cmp("web.99999", "webb.1") < 0, "type ends at the dot");
}

static void
test_read(void)
{
	struct dynostate d;

	ok(dynostate_read(APPDIR, "web.3", &d) == -1 && errno == ENOENT,
	    "no state file: not there");
	ok(dynostate_read(APPDIR, "web.0", &d) == -1 && errno == EINVAL,
	    "not a dyno name");
	ok(dynostate_read(APPDIR, "../app/dynos/web.1", &d) == -1 &&
	    errno == EINVAL, "a path is not a name");
	ok(dynostate_read(APPDIR, "web.4", &d) == 0 &&
	    strcmp(d.state, "up") == 0 && d.pid == 0, "trailing blanks, CRLF");
}

/* Each file written == the golden folder's, after reading it back. */
static void
test_write(const char *tmp, const char *name)
{
	static const char *files[] = { "state", "pid", "release", "addr",
	    "started" };
	char a[PATH_MAX], b[PATH_MAX], err[PATH_MAX], *x, *y;
	struct dynostate d;
	size_t i, xl, yl;
	int same = 1;

	if (!ok(dynostate_read(APPDIR, name, &d) == 0, "read %s", name) ||
	    !ok(dynostate_write(tmp, &d, err, sizeof(err)) == 0, "write %s",
	    name))
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(a, sizeof(a), "%s/dynos/%s/%s", APPDIR, name, files[i]);
		snprintf(b, sizeof(b), "%s/dynos/%s/%s", tmp, name, files[i]);
		if (state_read(a, 4096, &x, &xl) == -1 ||
		    state_read(b, 4096, &y, &yl) == -1) {
			same = 0;
			continue;
		}
		if (xl != yl || memcmp(x, y, xl) != 0) {
			printf("# %s: got \"%s\", want \"%s\"\n", b, y, x);
			same = 0;
		}
		free(x);
		free(y);
	}
	ok(same, "%s written as the golden files", name);
}

static void
test_write_refused(const char *tmp)
{
	struct dynostate d = { .name = "../x.1", .state = "up" };
	char err[PATH_MAX];

	ok(dynostate_write(tmp, &d, err, sizeof(err)) == -1 && errno == EINVAL,
	    "a bad name is not written");
}

/* Inode of TMP/dynos/web.7/FILE: a rename gives the file a new one. */
static ino_t
inode(const char *tmp, const char *file)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/dynos/web.7/%s", tmp, file);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * dynostate_update: what a reader sees is what dynostate_write would
 * have left; only the files whose value changed are replaced.
 */
static void
test_update(const char *tmp)
{
	struct dynostate d = { .name = "web.7", .state = "starting",
	    .pid = 42, .release = "v3", .started = 1700000000 }, last, back;
	char err[PATH_MAX], sub[PATH_MAX];
	ino_t pid, rel, st;

	memset(&last, 0, sizeof(last));
	/* a fresh app folder: dynos/ does not exist yet */
	snprintf(sub, sizeof(sub), "%s/fresh", tmp);
	ok(dynostate_update(sub, &d, &last, err, sizeof(err)) == 0 &&
	    dynostate_read(sub, "web.7", &back) == 0 && back.pid == 42 &&
	    strcmp(back.state, "starting") == 0 && back.started == 1700000000,
	    "first update: the folders made, every file written");
	ok(strcmp(last.name, "web.7") == 0 && last.pid == 42,
	    "last holds what was written");
	pid = inode(sub, "pid");
	rel = inode(sub, "release");
	st = inode(sub, "state");
	snprintf(d.state, sizeof(d.state), "up");
	snprintf(d.addr, sizeof(d.addr), "10.1.2.3:5000");
	ok(dynostate_update(sub, &d, &last, err, sizeof(err)) == 0 &&
	    dynostate_read(sub, "web.7", &back) == 0 &&
	    strcmp(back.state, "up") == 0 &&
	    strcmp(back.addr, "10.1.2.3:5000") == 0, "state and addr changed");
	ok(inode(sub, "pid") == pid && inode(sub, "release") == rel &&
	    inode(sub, "state") != st, "unchanged files not rewritten");
	d.pid = 43;
	ok(dynostate_update(sub, &d, &last, err, sizeof(err)) == 0 &&
	    dynostate_read(sub, "web.7", &back) == 0 && back.pid == 43,
	    "a new pid alone");
	/* a manager that restarts knows nothing: every file again */
	memset(&last, 0, sizeof(last));
	st = inode(sub, "state");
	ok(dynostate_update(sub, &d, &last, err, sizeof(err)) == 0 &&
	    inode(sub, "state") != st, "zeroed last: everything rewritten");
	/* the folder gone under it: made again, every file written */
	snprintf(sub, sizeof(sub), "%s/fresh/dynos", tmp);
	state_remove_tree(sub);
	snprintf(sub, sizeof(sub), "%s/fresh", tmp);
	d.pid = 44;
	ok(dynostate_update(sub, &d, &last, err, sizeof(err)) == 0 &&
	    dynostate_read(sub, "web.7", &back) == 0 && back.pid == 44 &&
	    strcmp(back.release, "v3") == 0 && back.started == 1700000000 &&
	    strcmp(back.addr, "10.1.2.3:5000") == 0,
	    "folder removed: made again, every file written");
	snprintf(d.name, sizeof(d.name), "../x.1");
	ok(dynostate_update(tmp, &d, &last, err, sizeof(err)) == -1 &&
	    errno == EINVAL && last.name[0] == '\0',
	    "a failed update zeroes last");
}

/* dynostate_routes_update: the file replaced only when its text changes. */
static void
test_routes_update(const char *tmp)
{
	struct dynoroute r[2] = { { "web.1", "10.0.0.1:5000" },
	    { "web.2", "10.0.0.2:5000" } };
	char path[PATH_MAX], *last = NULL, *back = NULL;
	struct stat a, b;
	size_t lastlen = 0, len;

	snprintf(path, sizeof(path), "%s/routes", tmp);
	ok(dynostate_routes_update(tmp, r, 0, &last, &lastlen) == 1 &&
	    stat(path, &a) == 0 && a.st_size == 0, "first: an empty file");
	ok(dynostate_routes_update(tmp, r, 0, &last, &lastlen) == 0 &&
	    stat(path, &b) == 0 && a.st_ino == b.st_ino, "same text: no write");
	ok(dynostate_routes_update(tmp, r, 2, &last, &lastlen) == 1 &&
	    state_read(path, 4096, &back, &len) == 0 && len == lastlen &&
	    strcmp(back, "web.1 10.0.0.1:5000\nweb.2 10.0.0.2:5000\n") == 0,
	    "new text written");
	free(back);
	ok(dynostate_routes_update(tmp, r, 1, &last, &lastlen) == 1 &&
	    lastlen == strlen("web.1 10.0.0.1:5000\n"), "one route fewer");
	free(last);
}

/* APPDIR/routes: each line parsed, the good ones written back. */
static void
test_routes(const char *tmp)
{
	char path[PATH_MAX], *text, *line, *save, *out = NULL, *back = NULL;
	struct dynoroute r[16];
	size_t n = 0, len;
	FILE *f = open_memstream(&out, &len);

	if (state_read(APPDIR "/routes", 1 << 20, &text, NULL) == -1) {
		ok(0, "read routes");
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (n < 16 && dynostate_route_parse(line, &r[n]) == 0) {
			fprintf(f, "ok %s %s\n", r[n].dyno, r[n].addr);
			n++;
		} else
			fprintf(f, "bad %.20s\n", line);
	fclose(f);
	free(text);
	is_golden(out, "routes.parsed");
	free(out);
	snprintf(path, sizeof(path), "%s/routes", tmp);
	if (ok(dynostate_routes_write(tmp, r, n) == 0 &&
	    state_read(path, 1 << 20, &back, NULL) == 0, "routes written"))
		is_golden(back, "routes.written");
	free(back);
	back = NULL;
	ok(dynostate_routes_write(tmp, r, 0) == 0 &&
	    state_read(path, 1 << 20, &back, &len) == 0 && len == 0,
	    "no routes: an empty file");
	free(back);
}

int
main(void)
{
	char tmp[] = "/tmp/dynotest-dynostate-XXXXXX";

	if (mkdtemp(tmp) == NULL) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_cmp();
	test_list(NULL, "list.out");
	test_list("web", "list-web.out");
	test_read();
	test_write(tmp, "web.1");
	test_write(tmp, "web.2");
	test_write(tmp, "web.10");
	test_write(tmp, "worker.1");
	test_write_refused(tmp);
	test_update(tmp);
	test_routes(tmp);
	test_routes_update(tmp);
	state_remove_tree(tmp);
	return done_testing();
}
