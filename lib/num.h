/* SPDX-License-Identifier: ISC */
/* Checked parsing of the numbers, durations and sizes found in argv and config. */
#ifndef DYNO_NUM_H
#define DYNO_NUM_H

#include <stdint.h>

/*
 * All return 0 on success, -1 with errno = EINVAL (not a number, trailing
 * junk, empty) or ERANGE (outside [min, max]).  Nothing is written to *out
 * on failure.
 */

/* Decimal unsigned integer, no sign, no spaces. */
int	num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int	num_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/*
 * Duration into milliseconds: "250ms", "30s", "30" (seconds), "2m", "1h",
 * "1d"; sums like "1h30m" are accepted.
 */
int	num_parse_duration_ms(const char *s, uint64_t *out_ms);

/* Byte size: "512", "64K", "512M", "1G", "1T" (powers of 1024; "MB" too). */
int	num_parse_size(const char *s, uint64_t *out_bytes);

/* Booleans as config writes them: true/false, yes/no, on/off, 1/0. */
int	num_parse_bool(const char *s, int *out);

/* Format a duration for humans: "3s", "2m", "1h5m", "2d" into buf. */
void	num_format_duration(uint64_t ms, char *buf, unsigned size);

#endif
