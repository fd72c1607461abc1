/* SPDX-License-Identifier: ISC */
/* dyno-run: a message with open fds across a Unix socket (SCM_RIGHTS). */
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dyno-run.h"

#define FDPASS_MAX	4

int
fdpass_send(int sock, const void *data, size_t len, const int *fds,
    int nfds)
{
	union {
		char		buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds < 0 || nfds > FDPASS_MAX)
		return -1;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int
fdpass_recv(int sock, void *data, size_t len, int *fds, int maxfds)
{
	union {
		char		buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec iov = { data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int i, n = 0;

	for (i = 0; i < maxfds; i++)
		fds[i] = -1;
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			for (; n < maxfds && CMSG_LEN((size_t)(n + 1) *
			    sizeof(int)) <= cm->cmsg_len; n++)
				memcpy(&fds[n], CMSG_DATA(cm) + (size_t)n *
				    sizeof(int), sizeof(int));
	return n;
}
