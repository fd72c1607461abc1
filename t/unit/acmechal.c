/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/acmechal: token rules and the challenge store. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acmechal.h"
#include "state.h"
#include "tap.h"

static void
test_tokens(void)
{
	char big[ACMECHAL_TOKEN_MAX + 2];

	ok(acmechal_token_valid("abcDEF012_-", 11), "base64url token");
	ok(!acmechal_token_valid("", 0), "empty token refused");
	ok(!acmechal_token_valid("..", 2), "\"..\" refused");
	ok(!acmechal_token_valid("a/b", 3), "slash refused");
	ok(!acmechal_token_valid("%2e%2e", 6), "percent refused");
	ok(!acmechal_token_valid("a\0b", 3), "NUL refused");
	ok(!acmechal_token_valid("a.b", 3), "dot refused");
	memset(big, 'a', sizeof(big));
	ok(acmechal_token_valid(big, ACMECHAL_TOKEN_MAX), "128 accepted");
	ok(!acmechal_token_valid(big, ACMECHAL_TOKEN_MAX + 1), "129 refused");
	ok(acmechal_auth_valid("tok", "tok.thumb_-9"), "key authorization");
	ok(!acmechal_auth_valid("tok", "tok."), "empty thumbprint refused");
	ok(!acmechal_auth_valid("tok", "other.thumb"), "other token refused");
	ok(!acmechal_auth_valid("tok", "tok.a\nb"), "newline refused");
	ok(!acmechal_auth_valid("../x", "../x.a"), "bad token refused");
}

static void
test_store(void)
{
	char dir[] = "/tmp/dynotest-acmechal-XXXXXX", path[PATH_MAX], *d;
	size_t len;
	struct stat st;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	is_int(acmechal_put(dir, "tok", "tok.abc"), 0, "put");
	is_int(acmechal_read(dir, "tok", 3, &d, &len), 0, "read");
	is_str(d, "tok.abc", "the answer");
	is_int(len, 7, "its length");
	free(d);
	snprintf(path, sizeof(path), "%s/%s/tok", dir, ACMECHAL_DIR);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode 0644");
	is_int(acmechal_put(dir, "tok", "tok.a/b"), -1, "bad answer refused");
	is_int(acmechal_put(dir, "../tok", "../tok.a"), -1,
	    "bad token refused");
	is_int(acmechal_read(dir, "nope", 4, &d, &len), -1, "missing token");
	is_int(errno, ENOENT, "ENOENT");
	is_int(acmechal_read(dir, "..", 2, &d, &len), -1,
	    "\"..\" read refused");
	is_int(errno, EINVAL, "EINVAL");
	/* A link planted in the store never leads out of it. */
	snprintf(path, sizeof(path), "%s/%s/link", dir, ACMECHAL_DIR);
	ok(symlink("/etc/passwd", path) == 0, "symlink planted");
	is_int(acmechal_read(dir, "link", 4, &d, &len), -1, "link refused");
	is_int(errno, EXDEV, "EXDEV");
	unlink(path);
	is_int(acmechal_remove(dir, "tok"), 0, "remove");
	is_int(acmechal_remove(dir, "tok"), 0, "remove again");
	is_int(acmechal_read(dir, "tok", 3, &d, &len), -1, "gone");
	state_remove_tree(dir);
}

int
main(void)
{
	test_tokens();
	test_store();
	return done_testing();
}
