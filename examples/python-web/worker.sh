#!/bin/sh
# SPDX-License-Identifier: ISC
# A worker: one log line per tick; stops cleanly on SIGTERM.
trap 'echo "worker stopping"; exit 0' TERM
n=0
while :; do
	n=$((n + 1))
	echo "worker tick $n"
	sleep "${WORKER_INTERVAL:-5}" &
	wait $!
done
