/* SPDX-License-Identifier: ISC */
/* dyno-certs: private interfaces between its source files. */
#ifndef DYNO_CERTS_H
#define DYNO_CERTS_H

#include "conf.h"

/* ---- dyno-certs-acm.c: Automated Certificate Management (uacme) ---- */

/*
 * dyno-certs APP auto on|off|refresh: turn ACM on (every domain Waiting),
 * off (states forgotten, installed certificates kept), or ask again for
 * every domain (Failed and Failing ones become Waiting).  Each logs an
 * app[api] line.  Returns an exit code.
 */
int	acm_auto(const struct conf *c, const char *app, const char *verb);

/*
 * dyno-certs APP auto: whether ACM is on, each domain's status, the last
 * error and the next attempt.  With always 0 (after dyno-certs APP's own
 * table) nothing is printed while ACM is off.  Returns an exit code.
 */
int	acm_show(const struct conf *c, const char *app, int always);

/*
 * dyno-certs --acm-run [APP ...]: one pass over the named apps, or every
 * app with ACM on: issue, renew, retry what is due (uacme and
 * dyno-acm-hook), record each domain's state.  Returns an exit code: 0
 * when every attempt made succeeded, 1 when one failed, 75 when an app's
 * run was already under way elsewhere.
 */
int	acm_run(const struct conf *c, int argc, char **argv);

#endif
