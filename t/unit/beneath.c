/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/beneath: no path, link or chain of links leaves the root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "beneath.h"
#include "tap.h"

static char top[] = "/tmp/dynotest-beneath-XXXXXX";

static void
put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
link_(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (symlink(target, p) == -1)
		perror(p);
}

static void
dir_(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	mkdir(p, 0755);
}

/* A socket file at rel (bound, then closed: the file stays). */
static void
sock_(const char *rel)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", top, rel);
	if (s != -1 && bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		perror("bind");
	close(s);
}

static void
build(void)
{
	char p[512];

	dir_("out");
	put("out/secret", "SECRET\n");
	dir_("root");
	put("root/file", "hello\n");
	dir_("root/dir");
	put("root/dir/inner", "in\n");
	dir_("root/a");
	link_("..", "root/a/b");
	/* The attack of issue 15: the text never climbs above its depth. */
	link_("a/b/a/b/../out/secret", "root/chain");
	link_("a/b/a/b/dir/inner", "root/inside");
	link_("/etc/passwd", "root/abs");
	link_("../out/secret", "root/dotdot");
	link_("../../out/secret", "root/dir/esc");
	link_("../file", "root/dir/up");
	link_("dir", "root/dirlink");
	link_("loop2", "root/loop1");
	link_("loop1", "root/loop2");
	link_("self", "root/self");
	link_("missing", "root/dangling");
	link_("fifo", "root/fifolink");
	snprintf(p, sizeof(p), "%s/root/fifo", top);
	mkfifo(p, 0644);
	sock_("root/sock");
	snprintf(p, sizeof(p), "%s/root/dev", top);
	if (getuid() == 0)
		mknod(p, S_IFCHR | 0644, makedev(1, 3));
	snprintf(p, sizeof(p), "%s/root/big", top);
	put("root/big", "");
	(void)!truncate(p, 10 << 20);
	put("root/ten", "0123456789");
}

struct kase {
	const char	*path;
	int		 open_err;	/* O_PATH open: 0 or errno */
	int		 read_err;	/* beneath_read: 0 or errno */
	const char	*text;		/* what it reads */
};

static const struct kase cases[] = {
	{ "file", 0, 0, "hello\n" },
	{ "./dir//inner", 0, 0, "in\n" },
	{ "dir/../file", 0, 0, "hello\n" },
	{ "inside", 0, 0, "in\n" },
	{ "dirlink/inner", 0, 0, "in\n" },
	{ "dir/up", 0, 0, "hello\n" },
	{ "a/b/a/b/file", 0, 0, "hello\n" },
	{ "chain", EXDEV, EXDEV, NULL },
	{ "a/b/a/b/../out/secret", EXDEV, EXDEV, NULL },
	{ "abs", EXDEV, EXDEV, NULL },
	{ "/etc/passwd", EXDEV, EXDEV, NULL },
	{ "dotdot", EXDEV, EXDEV, NULL },
	{ "dir/esc", EXDEV, EXDEV, NULL },
	{ "..", EXDEV, EXDEV, NULL },
	{ "loop1", ELOOP, ELOOP, NULL },
	{ "self", ELOOP, ELOOP, NULL },
	{ "dangling", ENOENT, ENOENT, NULL },
	{ "", ENOENT, ENOENT, NULL },
	{ "file/x", ENOTDIR, ENOTDIR, NULL },
	{ "dir", 0, EISDIR, NULL },
	{ "dir/", 0, EISDIR, NULL },
	{ ".", 0, EISDIR, NULL },
	{ "fifo", 0, ENXIO, NULL },
	{ "fifolink", 0, ENXIO, NULL },
	{ "sock", 0, ENXIO, NULL },
	{ "big", 0, EFBIG, NULL },
};

/* O_PATH through openat2 and through the walk: the same file or errno. */
static void
check_open(int root, const struct kase *k)
{
	struct stat a, b;
	int fk, fw, ek, ew;

	errno = 0;
	fk = beneath_open(root, k->path, O_PATH);
	ek = fk == -1 ? errno : 0;
	errno = 0;
	fw = beneath_walk(root, k->path, O_PATH);
	ew = fw == -1 ? errno : 0;
	is_int(ek, k->open_err, "open \"%s\": %s", k->path, strerror(ek));
	is_int(ew, k->open_err, "walk \"%s\": %s", k->path, strerror(ew));
	if (fk != -1 && fw != -1)
		ok(fstat(fk, &a) == 0 && fstat(fw, &b) == 0 &&
		    a.st_ino == b.st_ino, "open and walk agree on \"%s\"",
		    k->path);
	if (fk != -1)
		close(fk);
	if (fw != -1)
		close(fw);
}

static void
check_read(int root, const struct kase *k)
{
	char *data = NULL;
	int rc, e;

	errno = 0;
	rc = beneath_read(root, k->path, 1 << 20, &data, NULL);
	e = rc == -1 ? errno : 0;
	is_int(e, k->read_err, "read \"%s\": %s", k->path, strerror(e));
	if (k->text != NULL)
		is_str(data, k->text, "content of \"%s\"", k->path);
	free(data);
}

/* The walk opens for reading too: the same bytes, and a folder. */
static void
check_walk_read(int root)
{
	char buf[16] = "";
	int fd;

	fd = beneath_walk(root, "a/b/dir/../inside", O_RDONLY | O_NONBLOCK);
	ok(fd != -1 && read(fd, buf, sizeof(buf) - 1) == 3 &&
	    strcmp(buf, "in\n") == 0, "walk opens a file for reading");
	if (fd != -1)
		close(fd);
	fd = beneath_walk(root, "dirlink", O_RDONLY | O_DIRECTORY);
	ok(fd != -1, "walk opens a folder through a link");
	if (fd != -1)
		close(fd);
	errno = 0;
	ok(beneath_walk(root, "file", O_RDONLY | O_DIRECTORY) == -1 &&
	    errno == ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");
	errno = 0;
	ok(beneath_open(root, "file", O_RDWR) == -1 && errno == EINVAL,
	    "write flags are refused");
}

static void
check_limits(int root)
{
	char *data = NULL;
	size_t len = 0;
	int fd, e;

	ok(beneath_read(root, "ten", 10, &data, &len) == 0 && len == 10,
	    "a file of exactly max bytes");
	free(data);
	errno = 0;
	ok(beneath_read(root, "ten", 9, &data, &len) == -1 && errno == EFBIG,
	    "one byte over max: EFBIG");
	if (getuid() == 0) {
		errno = 0;
		ok(beneath_read(root, "dev", 100, &data, NULL) == -1 &&
		    errno == ENXIO, "a device node: ENXIO");
	} else
		ok(1, "# SKIP device node: needs root");
	/* A magic link in /proc: never followed, by either way. */
	if ((fd = open("/proc/self", O_PATH | O_DIRECTORY)) != -1) {
		errno = 0;
		e = beneath_open(fd, "cwd", O_PATH) == -1 ? errno : 0;
		ok(e == ELOOP || e == EXDEV, "magic link refused: %s",
		    strerror(e));
		errno = 0;
		e = beneath_walk(fd, "cwd", O_PATH) == -1 ? errno : 0;
		ok(e == ELOOP || e == EXDEV, "walk: magic link refused: %s",
		    strerror(e));
		close(fd);
	}
	is_str(beneath_strerror(EXDEV), "leads outside the slug", "EXDEV");
	is_str(beneath_strerror(ENXIO),
	    "not a regular file (a FIFO, device or socket)", "ENXIO");
}

int
main(void)
{
	char p[512];
	size_t i;
	int root;

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	build();
	snprintf(p, sizeof(p), "%s/root", top);
	if ((root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(p);
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_open(root, &cases[i]);
		check_read(root, &cases[i]);
	}
	check_walk_read(root);
	check_limits(root);
	close(root);
	snprintf(p, sizeof(p), "rm -rf '%s'", top);
	(void)!system(p);
	return done_testing();
}
