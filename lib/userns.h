/* SPDX-License-Identifier: ISC */
/* Each app's own range of host ids for its user namespaces. */
#ifndef DYNO_USERNS_H
#define DYNO_USERNS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * The app's range of host ids under a user namespace: the ids
 * 0..size-1 of each of its dynos (dyno-run) and build dynos (dyno-build,
 * which gives the build folder to them) are the host's base and up.
 * Made on first use from dyno.conf's userns_base, userns_size and
 * userns_ranges, under a lock, and kept in DYNO_ROOT/userns/APP; no two
 * apps share one, none overlaps /etc/subuid or /etc/subgid.  0, or -1
 * with errno (ENOSPC: every range is taken; ERANGE: the pool passes the
 * last host id) and err filled.
 */
int	userns_app_range(const struct conf *c, const char *app, uint32_t *base,
	    uint32_t *size, char *err, size_t errlen);

/* 1 when the kernel makes user namespaces, else 0. */
int	userns_usable(void);

#endif
