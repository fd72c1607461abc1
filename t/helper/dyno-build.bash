# SPDX-License-Identifier: ISC
# dyno-build tests: small buildpacks and apps written by the test.
# shellcheck shell=bash

# db_setup: root only; an app name for this test, a host network for the
# build dynos (nothing here needs more), quick timeouts.
db_setup() {
	require_root
	require_cmd git
	DB_APP="dynotest-b$$-${BATS_TEST_NUMBER:-0}"
	DB_SRC="$DYNO_TEST_DIR/src"
	mkdir -p "$DB_SRC"
	cat >>"$DYNO_CONF" <<CONF
[manager]
network = host
[build]
network = host
buildpacks = $DYNO_TEST_DIR/default-packs
CONF
	mkdir -p "$DYNO_TEST_DIR/default-packs"
}

# db_pack DIR NAME MARKER: a buildpack that applies when MARKER exists,
# compiles bin/web, counts builds in its cache, shows ENV_DIR/GREETING
# and who it runs as, and offers web as a default process type.
db_pack() {
	local d=$1
	mkdir -p "$d/bin"
	cat >"$d/bin/detect" <<SH
#!/bin/sh
[ -f "\$1/$3" ] || exit 1
echo "$2"
SH
	cat >"$d/bin/compile" <<'SH'
#!/bin/sh
set -e
build=$1 cache=$2 env=$3
echo "-----> Compiling as uid $(id -u)"
n=$(cat "$cache/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$cache/count"
echo "       build number $n"
if [ -f "$env/GREETING" ]; then
	echo "       greeting: $(cat "$env/GREETING")"
fi
mkdir -p "$build/bin"
printf '#!/bin/sh\necho hello from web\n' >"$build/bin/web"
chmod +x "$build/bin/web"
SH
	cat >"$d/bin/release" <<'SH'
#!/bin/sh
cat <<YAML
---
addons: []
default_process_types:
  web: bin/web
YAML
SH
	chmod +x "$d/bin/"*
}

# db_build ARGS...: dyno-build with a deadline.
db_build() {
	timeout -k 5 300 dyno-build "$@"
}

db_teardown() {
	[ -n "${DB_APP:-}" ] && stop_app_dynos "$DB_APP" 2>/dev/null
	return 0
}
