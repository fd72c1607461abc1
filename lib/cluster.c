/* SPDX-License-Identifier: ISC */
/* The files dyno-agent gives a host's dyno-managers: assignments, fence. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "names.h"
#include "num.h"
#include "state.h"

int
cluster_assigned_read(const char *appdir, char (*names)[CLUSTER_NAME_MAX],
    size_t max)
{
	char path[PATH_MAX], *data, *line, *save = NULL;
	size_t n = 0;

	if (state_pathf(path, sizeof(path), "%s/assigned", appdir) == -1 ||
	    state_read(path, 1 << 20, &data, NULL) == -1)
		return -1;
	for (line = strtok_r(data, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) >= CLUSTER_NAME_MAX || names_check_dyno(line, NULL, NULL) != NULL) {
			free(data);
			errno = EINVAL;
			return -1;
		}
		snprintf(names[n++], CLUSTER_NAME_MAX, "%s", line);
	}
	free(data);
	return (int)n;
}

int
cluster_assigned_write(const char *appdir, char (*names)[CLUSTER_NAME_MAX],
    size_t n)
{
	char path[PATH_MAX], *buf;
	size_t i, len = 0;
	int rc;

	if (state_pathf(path, sizeof(path), "%s/assigned", appdir) == -1 ||
	    (buf = malloc(n * CLUSTER_NAME_MAX + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "%s\n", names[i]);
	rc = state_replace(path, buf, len, 0644, 0);
	free(buf);
	return rc;
}

int
cluster_fence_write(const char *rundir, uint64_t deadline_ms)
{
	char path[PATH_MAX], buf[32];
	int len;

	if (state_pathf(path, sizeof(path), "%s/cluster", rundir) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/cluster/fence", rundir) == -1)
		return -1;
	len = snprintf(buf, sizeof(buf), "%llu\n",
	    (unsigned long long)deadline_ms);
	return state_replace(path, buf, (size_t)len, 0644, 0);
}

int
cluster_fence_read(const char *rundir, uint64_t *deadline_ms)
{
	char path[PATH_MAX], *data;
	int rc;

	if (state_pathf(path, sizeof(path), "%s/cluster/fence", rundir) == -1 ||
	    state_read(path, 64, &data, NULL) == -1)
		return -1;
	data[strcspn(data, "\n")] = '\0';
	rc = num_parse_u64(data, 0, UINT64_MAX, deadline_ms);
	free(data);
	return rc;
}

uint64_t
cluster_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
