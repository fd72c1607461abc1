#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The private headers map the files truly, and a tool's files call each
# other one way (checked on the built objects with nm).
bats_require_minimum_version 1.5.0
load helper/common

setup() { dyno_setup; }
teardown() { dyno_teardown; }

map() { python3 "$TOP/t/helper/source-map.py" "$@"; }

@test "every private header lists each function under its file" {
	local h
	for h in "$TOP"/bin/*/*.h; do
		run --separate-stderr map map "$h"
		assert_success
		assert_output ''
	done
}

@test "no import circle between a tool's files" {
	local t
	for t in logs/logplexd run/dyno-run net/space-net route/dyno-route releases/release \
	    manager/dyno-manager build/dyno-build image/dyno-image releases/dyno-slugd; do
		run --separate-stderr map circles "$TOP"/bin/$t*.o
		assert_success
		assert_output ''
	done
}

@test "the checks can fail: a function under the wrong file, a circle" {
	local d="$DYNO_TEST_DIR/map"
	mkdir -p "$d"
	cp "$TOP"/bin/logs/logplexd-*.o "$d/"
	sed 's|^/\* logplexd-known.c:|/* logplexd-token.c:|' \
		"$TOP/bin/logs/logplexd.h" >"$d/logplexd.h"
	run -1 --separate-stderr map map "$d/logplexd.h"
	assert_output --partial 'app_known is listed under logplexd-token.c but not defined there'
	printf 'void b(void);\nvoid a(void) { b(); }\n' >"$d/a.c"
	printf 'void a(void);\nvoid b(void) { a(); }\n' >"$d/b.c"
	printf 'void c(void) { }\n' >"$d/c.c"
	(cd "$d" && cc -c a.c b.c c.c)
	run -1 --separate-stderr map circles "$d/a.o" "$d/b.o" "$d/c.o"
	assert_output 'import circle: a.o -> b.o -> a.o'
}
