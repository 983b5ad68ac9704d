#!/usr/bin/env bash
# envtest.sh: build the etcd and kube-apiserver that envtest
# (sigs.k8s.io/controller-runtime/pkg/envtest) starts, from the Go module
# proxy, into .cache/envtest/bin/, and print that folder on the last line.
#
#   dir=$(hack/envtest.sh | tail -n1)
#   KUBEBUILDER_ASSETS=$dir go test ./...
#
# etcd is hack/etcd (etcd v3.6, also used by bench-etcd.sh); kube-apiserver is
# hack/envtest (k8s.io/kubernetes v1.37). Both are separate Go modules, outside
# the product's dependency graph. The first build takes several minutes
# (kube-apiserver about 7 min on 2 cores); later runs skip it while both
# binaries exist and the stamp file records the same Go version and the same
# go.mod, go.sum and source of both modules.
#
# Environment:
#   FORCE_BUILD=1   rebuild even when the stamp matches
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/.cache/envtest/bin
stamp=$out/.stamp

log() { echo "envtest: $*" >&2; }

# The helper modules are built on their own: no workspace, VCS stamping off
# (works without git, or in a tree owned by another user).
export GOWORK=off
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"

# want: what the stamp must say for the binaries to be current.
want() {
	go version
	(cd "$root" && { echo hack/envtest.sh; find hack/etcd hack/envtest -type f \( -name '*.go' -o -name go.mod -o -name go.sum \); } |
		LC_ALL=C sort | xargs sha256sum)
}

# build MODULE PACKAGE NAME [GO BUILD FLAGS...]: build PACKAGE of hack/MODULE
# into $out/NAME.
build() {
	local mod=$1 pkg=$2 name=$3 t0=$SECONDS
	shift 3
	log "building $name (hack/$mod)"
	(cd "$root/hack/$mod" && go mod download && go build "$@" -o "$out/$name.tmp" "$pkg")
	mv -f "$out/$name.tmp" "$out/$name"
	log "built $name in $((SECONDS - t0))s"
}

mkdir -p "$out"
# One build at a time (test packages run in parallel); a waiter then finds
# the stamp current.
if command -v flock >/dev/null; then
	exec 9>"$out/.lock"
	flock 9
fi
current=$(want)
if [[ -z ${FORCE_BUILD:-} && -x $out/etcd && -x $out/kube-apiserver && -f $stamp ]] &&
	[[ $(cat "$stamp") == "$current" ]]; then
	log "up to date"
else
	rm -f "$stamp"
	build etcd . etcd
	# Stamp the version the way Kubernetes' own build does, so that
	# `kube-apiserver --version` and /version say v1.37.x, not v0.0.0-master.
	kver=$(cd "$root/hack/envtest" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
	kmajor=${kver#v}
	kminor=${kmajor#*.}
	kminor=${kminor%%.*}
	kmajor=${kmajor%%.*}
	vpkg=k8s.io/component-base/version
	build envtest ./cmd/kube-apiserver kube-apiserver -ldflags "-X $vpkg.gitVersion=$kver -X $vpkg.gitMajor=$kmajor -X $vpkg.gitMinor=$kminor -X $vpkg.gitTreeState=clean"
	printf '%s\n' "$current" >"$stamp"
fi
echo "$out"
