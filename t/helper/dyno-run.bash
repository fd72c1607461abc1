# SPDX-License-Identifier: ISC
# dyno-run tests: a release to run, background dynos, and cleanup of every
# dyno, cgroup and file a test made, even when it fails.
# shellcheck shell=bash disable=SC2154 # $stderr: set by bats' run --separate-stderr

# dr_setup: root only; an app named after the test with one release.
dr_setup() {
	require_root
	DR_APP="dynotest-run-$$-${BATS_TEST_NUMBER:-0}"
	DR_PIDS=()
	dr_release "$DR_APP" v1
	DR_REL="$DYNO_ROOT/apps/$DR_APP/releases/v1"
	DR_SLUG="$DR_REL/slug"
	export DR_REL DR_SLUG
}

# dr_release APP vN: an empty slug and env; `current` points at it.
dr_release() {
	local dir="$DYNO_ROOT/apps/$1/releases/$2"
	mkdir -p "$dir/slug"
	: >"$dir/env"
	printf '[release]\nversion = %s\n' "$2" >"$dir/release"
	ln -sfn "releases/$2" "$DYNO_ROOT/apps/$1/current"
}

# dr_size: a tiny size for limit tests, in this test's dyno.conf.
dr_size() {
	cat >>"$DYNO_CONF" <<CONF
[dyno]
tmp_size = 8M
[size dynotest]
memory = 24M
memory_max = 48M
pids = 48
CONF
}

# dr_run ARGS...: dyno-run on this test's release, with a deadline.
dr_run() {
	timeout -k 5 120 dyno-run --app "$DR_APP" --net none "$@"
}

# dr_bg OUT ARGS...: dyno-run in the background, stdout+stderr to OUT;
# its pid in DR_PID.
dr_bg() {
	local out=$1
	shift
	dyno-run --app "$DR_APP" --net none "$@" >"$out" 2>&1 3>&- </dev/null &
	DR_PID=$!
	DR_PIDS+=("$DR_PID")
}

# dr_cgroups: this test's dyno cgroups still on the host.
dr_cgroups() {
	dyno_cgroup_dirs "$DR_APP" | grep -v "/dyno/$DR_APP\$"
	return 0
}

dr_teardown() {
	local p d
	for p in "${DR_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -n "${DR_APP:-}" ] || return 0
	for d in $(dr_cgroups); do
		xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
	for d in $(dyno_cgroup_dirs "$DR_APP"); do
		rmdir "$d" 2>/dev/null
	done
	return 0
}

# err_line REGEX: a whole line of $stderr (from run --separate-stderr)
# matches the extended regex.
err_line() {
	grep -qxE -- "$1" <<<"$stderr" && return 0
	printf 'no stderr line matches: %s\n-- stderr --\n%s\n' "$1" "$stderr" >&2
	return 1
}

# err_has TEXT: $stderr contains TEXT.
err_has() {
	grep -qF -- "$1" <<<"$stderr" && return 0
	printf 'stderr lacks: %s\n-- stderr --\n%s\n' "$1" "$stderr" >&2
	return 1
}

# TS: the display form's timestamp, for err_line patterns.
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\+00:00'
export TS
