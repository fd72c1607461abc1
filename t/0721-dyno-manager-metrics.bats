#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-manager: log-runtime-metrics (release labs enable APP
# log-runtime-metrics): load and memory lines from each dyno's cgroup.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager

APPNAME=dynotest-metrics

setup() {
	manager_setup
	conf_put <<-'C'
	[dyno]
	grace = 3s
	[manager]
	network = host
	metrics_interval = 1s
	C
	release create "$APPNAME" --slug "$TOP/t/data/dyno-manager/metrics" \
	    >/dev/null 2>&1
	dyno-manager scale "$APPNAME" worker=1 >/dev/null
}

teardown() {
	manager_teardown
	dyno_teardown
}

num='[0-9]+\.[0-9]{2}'
uuid='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'

# field NAME: its value in the last memory line, without the unit.
field() {
	grep -E 'sample#memory_total' "$LOG" | tail -n 1 |
	    grep -E -o "sample#$1=[0-9.]+" | cut -d= -f2
}

# busy: the 1 min load average of the last line is above 0.05.
busy() {
	local v
	v=$(grep -E 'sample#load_avg_1m' "$LOG" | tail -n 1 |
	    grep -E -o 'load_avg_1m=[0-9.]+' | cut -d= -f2)
	[ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0.05) }'
}

@test "off by default: no sample lines" {
	start_mgr
	wait_for 60 is_up worker.1
	wait_for 20 log_has 'app\[worker\.1\]: holding 64 MB'
	sleep 3
	! log_has 'sample#'
}

@test "on: Heroku's two lines per dyno, with the dyno's own memory and load" {
	release labs enable "$APPNAME" log-runtime-metrics
	id=$(sed -n 's/^id=//p' "$APPDIR/app.conf")
	start_mgr
	wait_for 60 is_up worker.1
	wait_for 20 log_has 'app\[worker\.1\]: holding 64 MB'
	wait_for 20 log_has "heroku\[worker\.1\]: source=worker\.1 dyno=heroku\.$id\.$uuid sample#load_avg_1m=$num sample#load_avg_5m=$num sample#load_avg_15m=$num\$"
	wait_for 20 log_has "heroku\[worker\.1\]: source=worker\.1 dyno=heroku\.$id\.$uuid sample#memory_total=${num}MB sample#memory_rss=${num}MB sample#memory_cache=${num}MB sample#memory_swap=${num}MB sample#memory_pgpgin=[0-9]+pages sample#memory_pgpgout=[0-9]+pages sample#memory_quota=512\.00MB\$"
	# The 64 MB the dyno wrote are in its RSS, and little else is.
	wait_for 20 bash -c "grep -q 'sample#memory_total' '$LOG' && [ \"\$(grep 'sample#memory_rss' '$LOG' | tail -n 1 | grep -E -o 'memory_rss=[0-9]+' | cut -d= -f2)\" -ge 64 ]"
	rss=$(field memory_rss)
	total=$(field memory_total)
	awk -v r="$rss" -v t="$total" 'BEGIN { exit !(r >= 64 && r < 200 && t >= r) }'
	# One task always runnable: the load average climbs from 0.
	wait_for 30 busy
	# Both lines name the same dyno, the one now running.
	run bash -c "grep -E -o 'dyno=heroku\.[^ ]+' '$LOG' | sort -u | wc -l"
	assert_output 1
}

@test "enabled and disabled on a running manager (SIGHUP), without a restart" {
	start_mgr
	wait_for 60 is_up worker.1
	pid=$(cat "$APPDIR/dynos/worker.1/pid")
	release labs enable "$APPNAME" log-runtime-metrics
	wait_for 20 log_has 'sample#memory_total'
	release labs disable "$APPNAME" log-runtime-metrics
	sleep 1
	n=$(grep -c 'sample#' "$LOG")
	sleep 3
	[ "$(grep -c 'sample#' "$LOG")" = "$n" ]
	[ "$(cat "$APPDIR/dynos/worker.1/pid")" = "$pid" ]
}
