/* SPDX-License-Identifier: ISC */
/* --ready-fd N: how a daemon tells whoever started it that it is ready. */
#ifndef DYNO_READY_H
#define DYNO_READY_H

#include <stddef.h>

/*
 * The contract every daemon (logplexd, dyno-route, dyno-manager) keeps:
 * `--ready-fd N` names a descriptor the caller opened for writing (a pipe
 * or a fifo, most often).  Once the daemon is listening and configured it
 * writes exactly one newline to N and closes it; at the same moment it
 * sends READY=1 to systemd's $NOTIFY_SOCKET, if set.  A bad N is a usage
 * error found while parsing options, before any work is done; a failed
 * write later is only a warning: the daemon is ready and keeps running.
 */

/*
 * Parse the option value `s` (decimal, 0 included) and check that it
 * names a descriptor open for writing.  Its flags are left alone: the
 * manager re-executes itself under systemd-run and must keep it open.
 * 0 and *fd set; -1 with errno (EINVAL not a number, ERANGE too large,
 * EBADF not open, EACCES open read-only) and a one-line reason in err
 * ("--ready-fd 9: Bad file descriptor").  *fd is untouched on failure.
 */
int	ready_parse(const char *s, int *fd, char *err, size_t errlen);

/*
 * Say READY=1 to $NOTIFY_SOCKET and write one newline to fd (fd < 0: no
 * --ready-fd was given), then close fd.  Both are always tried.  0 when
 * both went through; -1 with errno of the first failure, and err holding
 * one line per failure, "; "-separated (errlen must be above 0).
 */
int	ready_signal(int fd, char *err, size_t errlen);

#endif
