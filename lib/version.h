/* SPDX-License-Identifier: ISC */
/* The one version string every dyno tool reports. */
#ifndef DYNO_VERSION_H
#define DYNO_VERSION_H

/* "1.2.3" from the VERSION file, or git describe in a checkout (Makefile). */
extern const char dyno_version[];

#endif
