#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-image import: OCI layouts, oci-archive and docker-archive files
# flatten to the same content-addressed root, the tree umoci unpacks.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-image

setup() {
	dyno_setup
	require_root
	require_cmd umoci skopeo
	I="$DYNO_TEST_DIR/img"
	image_new "$I"
	L="$DYNO_TEST_DIR/l1"
	mkdir -p "$L/etc" "$L/bin" "$L/data/sub" "$L/srv/app" "$L/usr/lib"
	echo old >"$L/etc/old"
	echo keep >"$L/etc/keep"
	echo hi >"$L/bin/hello"
	chmod 4755 "$L/bin/hello"
	ln "$L/bin/hello" "$L/bin/hello2"
	ln -s ../etc/keep "$L/bin/lnk"
	ln -s usr/lib "$L/lib"
	echo x >"$L/data/sub/f"
	echo y >"$L/data/g"
	echo z >"$L/srv/app/page"
	chmod 0750 "$L/srv/app"
	chown -R 1000:1000 "$L/srv"
	image_add_dir "$I" "$L"
	# Layer 2: a whiteout, an opaque folder with a new file in it, a
	# file through the merged-/usr link, and a file replacing a folder.
	L="$DYNO_TEST_DIR/l2"
	mkdir -p "$L/etc" "$L/data" "$L/lib" "$L/srv"
	touch "$L/etc/.wh.old" "$L/data/.wh..wh..opq"
	echo new >"$L/data/n"
	echo so >"$L/lib/libx.so"
	echo file >"$L/srv/app"
	image_add_dir "$I" "$L"
	umoci config --image "$I:app" --config.cmd 'echo hi' \
		--config.env FOO=bar --config.workingdir /data \
		--config.user 1000:1000 >/dev/null
}

teardown() {
	dyno_teardown
}

@test "an OCI layout flattens to the tree umoci unpacks" {
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	[[ "$output" =~ ^sha256:([0-9a-f]{64})$ ]]
	hex=${BASH_REMATCH[1]}
	umoci unpack --rootless --image "$I:app" "$DYNO_TEST_DIR/bundle" >/dev/null
	# umoci --rootless cannot chown: compare owners on our side alone.
	diff <(image_tree "$DYNO_TEST_DIR/bundle/rootfs" | awk '{$4=""; print}') \
		<(image_tree "$(image_root "$hex")" | awk '{$4=""; print}')
	r=$(image_root "$hex")
	[ ! -e "$r/etc/old" ]
	[ "$(ls "$r/data")" = n ]
	[ "$(cat "$r/lib/libx.so")" = so ]
	[ "$(stat -c %i "$r/bin/hello")" = "$(stat -c %i "$r/bin/hello2")" ]
	[ "$(stat -c %a "$r/bin/hello")" = 4755 ]
	[ "$(readlink "$r/bin/lnk")" = ../etc/keep ]
	[ "$(stat -c %u:%g "$r/data/n")" = 0:0 ]
	[ "$(stat -c %a "$DYNO_ROOT/images")" = 700 ]
	[ "$(cat "$DYNO_ROOT/apps/dynotest-img/images/web")" = "sha256:$hex" ]
}

@test "the config is stored beside the root: argv, env, workdir, user" {
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	d="$DYNO_ROOT/images/sha256-${output#sha256:}"
	[ "$(tr '\0' '|' <"$d/argv")" = "/bin/sh|-c|echo hi|" ]
	tr '\0' '\n' <"$d/env" | grep -qx FOO=bar
	[ "$(cat "$d/workdir")" = /data ]
	[ "$(cat "$d/user")" = 1000:1000 ]
	[ "$(sha256sum <"$d/config.json" | cut -d' ' -f1)" = "${output#sha256:}" ]
}

@test "Entrypoint and Cmd make the command without a shell" {
	umoci config --image "$I:app" --config.entrypoint /bin/srv \
		--config.cmd --port --config.cmd 5000 >/dev/null
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	d="$DYNO_ROOT/images/sha256-${output#sha256:}"
	[ "$(tr '\0' '|' <"$d/argv")" = "/bin/srv|--port|5000|" ]
}

@test "oci-archive and docker-archive give the same image" {
	skopeo copy -q "oci:$I:app" "oci-archive:$DYNO_TEST_DIR/a.oar:app"
	skopeo copy -q "oci:$I:app" "docker-archive:$DYNO_TEST_DIR/a.tar:app:latest"
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	want=$output
	run --separate-stderr dyno-image import dynotest-img worker "$DYNO_TEST_DIR/a.oar"
	assert_success
	[ "$output" = "$want" ]
	rm -rf "$DYNO_ROOT/images"
	run --separate-stderr dyno-image import dynotest-img worker "$DYNO_TEST_DIR/a.tar"
	assert_success
	[ "$output" = "$want" ]
	[ -f "$(image_root "${want#sha256:}")/data/n" ]
	[ -z "$(find "$DYNO_ROOT/images" -maxdepth 1 -name '.*-*')" ]
}

@test "uncompressed layers are read" {
	skopeo copy -q "oci:$I:app" "docker-archive:$DYNO_TEST_DIR/a.tar:app:latest"
	skopeo copy -q --dest-oci-accept-uncompressed-layers \
		"docker-archive:$DYNO_TEST_DIR/a.tar" "oci:$DYNO_TEST_DIR/u:app"
	grep -q 'application/vnd.oci.image.layer.v1.tar"' "$DYNO_TEST_DIR"/u/blobs/sha256/* ||
		skip "skopeo wrote no uncompressed layer"
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	want=$output
	rm -rf "$DYNO_ROOT/images"
	run --separate-stderr dyno-image import dynotest-img web "$DYNO_TEST_DIR/u"
	assert_success
	assert_output "$want"
	[ "$(cat "$(image_root "${output#sha256:}")/data/n")" = new ]
}

@test "zstd layers are read" {
	require_cmd zstd
	skopeo copy -q --dest-compress-format zstd "oci:$I:app" "oci:$DYNO_TEST_DIR/z:app"
	grep -q zstd "$DYNO_TEST_DIR"/z/blobs/sha256/* || skip "skopeo wrote no zstd layer"
	run --separate-stderr dyno-image import dynotest-img web "$DYNO_TEST_DIR/z"
	assert_success
	[ "$(cat "$(image_root "${output#sha256:}")/data/n")" = new ]
}

@test "a blob that is not its digest is refused" {
	# The first layer the manifest names (umoci leaves old blobs behind).
	b=$I/blobs/sha256/$(python3 -c 'import json, sys
d = sys.argv[1]
m = json.load(open(d + "/index.json"))["manifests"][0]["digest"][7:]
print(json.load(open(d + "/blobs/sha256/" + m))["layers"][0]["digest"][7:])' "$I")
	chmod u+w "$b"
	printf 'x' >>"$b"
	run --separate-stderr dyno-image import dynotest-img web "$I"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"digest mismatch"* || "$stderr" == *"diff_id"* ]]
	[ -z "$(ls "$DYNO_ROOT/images")" ]
	[ ! -e "$DYNO_ROOT/apps/dynotest-img/images/web" ]
}

@test "a multi-platform index picks linux/amd64" {
	m=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$I/index.json")
	python3 - "$I" "$m" <<'PY'
import hashlib, json, sys
d, m = sys.argv[1], sys.argv[2]
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
           "digest": "sha256:" + "0" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
           "digest": m, "platform": {"os": "linux", "architecture": "amd64"}}]}
b = json.dumps(ix).encode()
h = hashlib.sha256(b).hexdigest()
open(d + "/blobs/sha256/" + h, "wb").write(b)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": ix["mediaType"],
           "digest": "sha256:" + h, "size": len(b)}]}, open(d + "/index.json", "w"))
PY
	run --separate-stderr dyno-image import dynotest-img web "$I"
	assert_success
	[ -f "$(image_root "${output#sha256:}")/data/n" ]
}

@test "bad operands and inputs have their exit codes" {
	run --separate-stderr dyno-image import Bad_App web "$I"
	[ "$status" -eq 64 ]
	run --separate-stderr dyno-image import dynotest-img web "$DYNO_TEST_DIR/none"
	[ "$status" -eq 66 ]
	echo '{' >"$DYNO_TEST_DIR/index.json"
	tar -C "$DYNO_TEST_DIR" -cf "$DYNO_TEST_DIR/bad.tar" index.json
	run --separate-stderr dyno-image import dynotest-img web "$DYNO_TEST_DIR/bad.tar"
	[ "$status" -eq 65 ]
	run --separate-stderr dyno-image import dynotest-img
	[ "$status" -eq 64 ]
}
