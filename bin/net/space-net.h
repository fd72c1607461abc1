/* SPDX-License-Identifier: ISC */
/* space-net's private interfaces: other hosts' parts of a space. */
#ifndef SPACE_NET_H
#define SPACE_NET_H

#include "space.h"

/* space-net-peer.c: other hosts' parts of a space (routes, checks). */
int	peer_add(struct nl_sock *sk, struct space *sp, const struct leases *ls,
	    char **argv);
int	peer_del(struct nl_sock *sk, struct space *sp, const struct leases *ls,
	    const char *host);
int	peer_unroute_all(struct nl_sock *sk, const struct space *sp);
int	peer_list(const char *root, const char *only);

#endif
