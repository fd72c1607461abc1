/* SPDX-License-Identifier: ISC */
/* dyno-run: --net=space:NAME through space-net attach and detach. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "dyno-run.h"
#include "evloop.h"

int
net_loopback_up(void)
{
	struct ifreq ifr;
	int s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

/*
 * --net=none: a new network namespace with loopback up, made by the
 * monitor while the dyno builds its root (creating one is the dearest
 * part of a start, about 0.7 ms), then handed to the dyno.  The monitor
 * steps in and back out; its fd of the new namespace is returned.
 */
int
net_new_ns(char *err, size_t errlen)
{
	int host, fd = -1;

	if ((host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "open network namespace: %s",
		    strerror(errno));
		return -1;
	}
	if (unshare(CLONE_NEWNET) == -1)
		snprintf(err, errlen, "new network namespace: %s",
		    strerror(errno));
	else if (net_loopback_up() == -1 || (fd = open("/proc/self/ns/net",
	    O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "bring up loopback: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	/* Back home, or stop: the monitor never stays in the dyno's. */
	if (setns(host, CLONE_NEWNET) == -1) {
		snprintf(err, errlen, "return to the host network: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	close(host);
	return fd;
}

const char *
space_net_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX], *dir, *p, *save = NULL, *copy;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		dir = dirname(self);
		snprintf(path, sizeof(path), "%s/space-net", dir);
		if (access(path, X_OK) == 0)
			return path;
	}
	if ((p = getenv("PATH")) == NULL || (copy = strdup(p)) == NULL)
		return NULL;
	for (p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/space-net", p);
		if (access(path, X_OK) == 0) {
			free(copy);
			return path;
		}
	}
	free(copy);
	return NULL;
}

/* The pid space-net attach was given, for the matching detach. */
static pid_t attached_pid;

/*
 * The vfork child: it shares our memory until the exec, so system calls
 * only.  fds crossing exec: stdout (the pipe), stderr; stdin is null.
 */
static pid_t
spawn(char *const argv[], int outfd)
{
	pid_t pid;
	int null;

	if ((pid = vfork()) != 0)
		return pid;
	evloop_child_sigreset();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null == -1 || dup2(null, 0) == -1 || dup2(outfd, 1) == -1)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

/*
 * Run space-net with argv; its stdout (one line at most) into out.  No
 * fork: copying our page tables cost more than the exec's own setup.
 */
static int
run(char *const argv[], char *out, size_t outlen, int *status)
{
	int fds[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	if ((pid = spawn(argv, fds[1])) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[1]);
	while (len + 1 < outlen && ((n = read(fds[0], out + len,
	    outlen - len - 1)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

int
space_attach(struct dyno *d, pid_t pid, char *err, size_t errlen)
{
	const char *sn = space_net_path();
	char spid[24], out[48], *argv[12];
	struct in_addr ia;
	int st, i = 0;

	if (sn == NULL) {
		snprintf(err, errlen, "--net=space:%s: space-net not found next "
		    "to dyno-run or on PATH", d->space);
		return -1;
	}
	snprintf(spid, sizeof(spid), "%ld", (long)pid);
	attached_pid = pid;
	argv[i++] = (char *)sn;
	argv[i++] = "attach";
	argv[i++] = d->space;
	argv[i++] = d->name;
	argv[i++] = "--pid";
	argv[i++] = spid;
	argv[i++] = "--app";
	argv[i++] = d->app;
	char port[16];
	snprintf(port, sizeof(port), "%u", d->port);
	if (d->port) {
		argv[i++] = "--port";
		argv[i++] = port;
	}
	argv[i] = NULL;
	if (run(argv, out, sizeof(out), &st) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "space-net attach %s %s failed", d->space,
		    d->name);
		return -1;
	}
	out[strcspn(out, "\r\n")] = '\0';
	if (inet_pton(AF_INET, out, &ia) != 1) {
		snprintf(err, errlen, "space-net attach %s %s: no address",
		    d->space, d->name);
		return -1;
	}
	snprintf(d->addr, sizeof(d->addr), "%s", out);
	return 0;
}

void
space_detach_lease(const char *space, const char *name, const char *app,
    pid_t pid)
{
	const char *sn = space_net_path();
	char out[256], spid[24];
	int st;
	/* Only this lease: a replacement of the dyno may hold another. */
	char *argv[] = { (char *)sn, "detach", (char *)space, (char *)name,
	    "--app", (char *)app, "--pid", spid, NULL };

	snprintf(spid, sizeof(spid), "%ld", (long)pid);
	if (sn != NULL)
		(void)run(argv, out, sizeof(out), &st);
}

void
space_detach(struct dyno *d)
{
	space_detach_lease(d->space, d->name, d->app, attached_pid);
}
