bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd
APPNAME=dynotest-clu
setup() { dyno_setup; etcd_setup; }
teardown() { for h in h1 h2 h3; do host_teardown $h; done; etcd_teardown; cp -r $DYNO_TEST_DIR /tmp/smoke/last || true; dyno_teardown; }
@test smoke {
	for h in h1 h2 h3; do host_setup $h; on $h release create $APPNAME --slug $TOP/t/data/dyno-manager/app >/dev/null 2>&1; done
	for h in h1 h2 h3; do agent_start $h; done
	ectl put /dyno/apps/$APPNAME/formation '{"web":3,"worker":2}'
	ectl put /dyno/apps/$APPNAME/current '"v1"'
	sleep 8
	ectl get --prefix /dyno/ >&3
	for h in h1 h2 h3; do echo "== $h" >&3; cat $DYNO_TEST_DIR/$h/agent.log >&3; cat $DYNO_TEST_DIR/$h/root/apps/$APPNAME/routes $DYNO_TEST_DIR/$h/root/apps/$APPNAME/assigned >&3; done
	on h1 dyno-agent hosts >&3
}
