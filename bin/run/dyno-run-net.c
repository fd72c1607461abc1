/* SPDX-License-Identifier: ISC */
/* dyno-run: the dyno's network (none's namespace; a space's attach). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "conf.h"
#include "diag.h"
#include "dyno-run.h"
#include "space.h"

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

/* What the space functions need of dyno.conf, set once by net_init. */
static const char *root, *common_range;

static void
warned(const char *msg)
{
	diag_warn("%s", msg);
}

void
net_init(const struct conf *c)
{
	root = c->root;
	common_range = c->common_range;
	space_root(c->root);
	space_host_index(c->cluster_index);
	space_on_warning(warned);
}

/* The pid the attach was given, for the matching detach. */
static pid_t attached_pid;

/*
 * The dyno on its space's bridge, done here rather than by running
 * space-net: its process start cost a scale-up more than the attach.
 */
int
net_attach(struct dyno *d, pid_t pid, char *err, size_t errlen)
{
	struct space_dyno w;
	uint32_t addr;

	memset(&w, 0, sizeof(w));
	w.root = root;
	w.common_range = common_range;
	w.space = d->space;
	w.app = d->app;
	w.dyno = d->name;
	w.pid = pid;
	w.port = d->port;
	attached_pid = pid;
	if (space_attach_dyno(&w, &addr) != 0) {
		snprintf(err, errlen, "--net=space:%s: %s", d->space,
		    space_error());
		return -1;
	}
	addr_format(addr, d->addr, sizeof(d->addr));
	return 0;
}

void
net_detach_lease(const char *space, const char *name, const char *app,
    pid_t pid)
{
	struct space_dyno w;

	memset(&w, 0, sizeof(w));
	w.root = root;
	w.common_range = common_range;
	w.space = space;
	w.app = app;
	w.dyno = name;
	/* Only this lease: a replacement of the dyno may hold another. */
	w.pid = pid;
	if (pid > 0 && space_detach_dyno(&w) != 0)
		diag_warn("--net=space:%s: detach %s: %s", space, name,
		    space_error());
}

void
net_detach(struct dyno *d)
{
	net_detach_lease(d->space, d->name, d->app, attached_pid);
}
