/* SPDX-License-Identifier: ISC */
/* The version, given by the Makefile: only this object is rebuilt when it moves. */
#include "version.h"

#ifndef DYNO_VERSION
#error "DYNO_VERSION is set by the Makefile"
#endif

const char dyno_version[] = DYNO_VERSION;
