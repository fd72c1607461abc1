/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/state: atomic replace, symlinks, locks, pid files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"

int
main(void)
{
	char dir[] = "/tmp/dynotest-state-XXXXXX", p[512], q[512], link[256];
	char *data;
	size_t len;
	struct stat st;
	int fd, fd2, status;
	pid_t pid;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	ok(state_mkdirs(p, 0755) == 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode),
	    "mkdirs");
	ok(state_mkdirs(p, 0755) == 0, "mkdirs again is fine");

	snprintf(p, sizeof(p), "%s/file", dir);
	ok(state_replace(p, "one\n", 4, 0640, STATE_FSYNC) == 0, "replace new");
	ok(state_read(p, 100, &data, &len) == 0 && len == 4 &&
	    strcmp(data, "one\n") == 0, "read back");
	free(data);
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "mode applied");
	ok(state_replace(p, "two", 3, 0644, 0) == 0, "replace existing");
	ok(state_read(p, 100, &data, &len) == 0 && strcmp(data, "two") == 0,
	    "new content");
	free(data);
	ok(state_read(p, 2, &data, &len) == -1 && errno == EFBIG, "size cap");
	ok(state_read(p, 3, &data, &len) == 0 && len == 3, "exactly max is fine");
	free(data);
	ok(state_read(p, 0, &data, &len) == -1 && errno == EFBIG, "max 0");
	ok(state_read(p, (size_t)-1, &data, &len) == -1 && errno == EINVAL,
	    "a max without room for one more byte is refused");
	/* From where the fd stands; the fd stays open. */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && lseek(fd, 1, SEEK_SET) == 1 &&
	    state_read_fd(fd, 100, &data, &len) == 0 && len == 2 &&
	    strcmp(data, "wo") == 0, "read_fd from the offset");
	free(data);
	ok(fcntl(fd, F_GETFD) != -1 && lseek(fd, 0, SEEK_SET) == 0 &&
	    state_read_fd(fd, 1, &data, &len) == -1 && errno == EFBIG,
	    "read_fd: fd still open, size cap");
	close(fd);
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && state_read_fd(fd, 100000, &data, &len) == -1 &&
	    errno == EFBIG, "an endless file stops at max + 1");
	close(fd);

	snprintf(q, sizeof(q), "%s/nodir/file", dir);
	ok(state_replace(q, "x", 1, 0644, 0) == -1 && errno == ENOENT,
	    "replace in a missing folder fails");

	snprintf(q, sizeof(q), "%s/current", dir);
	ok(state_symlink_replace("releases/v1", q) == 0, "symlink new");
	ok(state_symlink_replace("releases/v2", q) == 0, "symlink replace");
	memset(link, 0, sizeof(link));
	ok(readlink(q, link, sizeof(link) - 1) > 0 &&
	    strcmp(link, "releases/v2") == 0, "symlink points at the new target");

	snprintf(q, sizeof(q), "%s/lock", dir);
	fd = state_lock(q, 0);
	ok(fd >= 0, "lock taken");
	pid = fork();
	if (pid == 0) {
		fd2 = state_lock(q, 0);
		_exit(fd2 == -1 && errno == EWOULDBLOCK ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a second locker gets EWOULDBLOCK");
	close(fd);

	snprintf(q, sizeof(q), "%s/pid", dir);
	ok(state_read_pid(q) == 0, "missing pid file: 0");
	ok(state_write_pid(q) == 0 && state_read_pid(q) == getpid(),
	    "our pid file names us");
	state_replace(q, "999999999\n", 10, 0644, 0);
	ok(state_read_pid(q) == 0, "stale pid: 0");
	state_replace(q, "garbage\n", 8, 0644, 0);
	ok(state_read_pid(q) == -1 && errno == EINVAL, "garbage pid: EINVAL");

	snprintf(q, sizeof(q), "%s/x.tmp.", dir);
	ok(state_pathf(p, 8, "%s", dir) == -1 && errno == ENAMETOOLONG,
	    "pathf overflow");
	ok(state_remove_tree(dir) == 0 && stat(dir, &st) == -1, "remove tree");
	return done_testing();
}
