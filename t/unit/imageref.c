/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/imageref: the sha256:HEX files naming images. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imageref.h"
#include "tap.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
dir_of(const char *text, char *dir, size_t len)
{
	char path[] = "/tmp/dynotest-imageref-XXXXXX";
	int fd, rc;

	if ((fd = mkstemp(path)) == -1)
		return -2;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rc = -2;
	else
		rc = imageref_dir("/r", path, dir, len);
	close(fd);
	unlink(path);
	return rc;
}

int
main(void)
{
	char dir[256];

	ok(imageref_valid("sha256:" HEX), "a reference");
	ok(imageref_valid("sha256:" HEX "\n"), "with its newline");
	ok(!imageref_valid("sha256:" HEX "\n\n"), "two newlines");
	ok(!imageref_valid("sha256:" HEX "0"), "65 digits");
	ok(!imageref_valid("sha512:" HEX), "another algorithm");
	ok(!imageref_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"),
	    "upper case");
	ok(!imageref_valid("sha256:../../../../etc/passwd/0123456789abcdef0123456789abcdef0123456"),
	    "a path");
	is_int(dir_of("sha256:" HEX "\n", dir, sizeof(dir)), 0, "read");
	is_str(dir, "/r/images/sha256-" HEX, "its folder");
	is_int(dir_of("sha256:" HEX "/x\n", dir, sizeof(dir)), -1, "refused");
	is_int(errno, EINVAL, "EINVAL");
	is_int(dir_of("sha256:" HEX "\n", dir, 20), -1, "too long");
	is_int(imageref_dir("/r", "/nonexistent/dynotest", dir, sizeof(dir)),
	    -1, "missing");
	is_int(errno, ENOENT, "ENOENT");
	return done_testing();
}
