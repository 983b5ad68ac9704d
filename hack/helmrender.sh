#!/usr/bin/env bash
# helmrender.sh: build hack/helmrender (renders a Helm chart like
# `helm template`, with Helm v3's own packages, no cluster, no helm binary)
# into .cache/bin/helmrender, and print the binary's path on the last line.
#
#   bin=$(hack/helmrender.sh | tail -n1)
#   $bin -release conflux-sync -namespace conflux-sync -include-crds deploy/chart
#
# hack/helmrender is a separate Go module, outside the product's dependency
# graph (like hack/envtest and hack/etcd). deploy/deploy_test.go runs this
# script itself, so `make test` needs no extra step. The first build takes
# about a minute (module download and compile); later runs skip it while the
# binary exists and the stamp file records the same Go version and the same
# go.mod, go.sum and source.
#
# Environment:
#   FORCE_BUILD=1   rebuild even when the stamp matches
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/.cache/bin
bin=$out/helmrender
stamp=$out/.helmrender.stamp

log() { echo "helmrender: $*" >&2; }

# Built on its own: no workspace, VCS stamping off (works without git, or in
# a tree owned by another user).
export GOWORK=off
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"

want() {
	go version
	(cd "$root" && { echo hack/helmrender.sh; find hack/helmrender -type f \( -name '*.go' -o -name go.mod -o -name go.sum \); } |
		LC_ALL=C sort | xargs sha256sum)
}

mkdir -p "$out"
# One build at a time (test packages run in parallel); a waiter then finds
# the stamp current.
if command -v flock >/dev/null; then
	exec 9>"$out/.helmrender.lock"
	flock 9
fi
current=$(want)
if [[ -z ${FORCE_BUILD:-} && -x $bin && -f $stamp ]] && [[ $(cat "$stamp") == "$current" ]]; then
	log "up to date"
else
	rm -f "$stamp"
	t0=$SECONDS
	log "building $bin (hack/helmrender)"
	(
		cd "$root/hack/helmrender"
		go mod download
		# Like Helm's own Makefile: .Capabilities.KubeVersion defaults to the
		# Kubernetes version of the client-go Helm is built with (v0.37 ->
		# v1.37), not chartutil's fallback v1.20.
		kver=$(go list -m -f '{{.Version}}' k8s.io/client-go)
		kver=${kver#v}
		kmajor=$((${kver%%.*} + 1))
		kminor=${kver#*.}
		kminor=${kminor%%.*}
		cu=helm.sh/helm/v3/pkg/chartutil
		go build -ldflags "-X $cu.k8sVersionMajor=$kmajor -X $cu.k8sVersionMinor=$kminor" -o "$bin.tmp" .
	)
	mv -f "$bin.tmp" "$bin"
	printf '%s\n' "$current" >"$stamp"
	log "built in $((SECONDS - t0))s"
fi
echo "$bin"
