#!/usr/bin/env bash
# bench-etcd.sh: write-throughput comparison point for `conflux-sync bench`.
#
# Builds hack/etcd (plain etcd v3.6 from the Go module proxy) and
# hack/etcdbench into .cache/bin/, starts a three-member etcd cluster on
# 127.0.0.1 (fsync on, etcd defaults otherwise) with data under a temp dir,
# waits until every member reports healthy, runs etcdbench with the arguments
# given to this script, then stops the cluster and removes the temp dir.
# etcdbench gets --leader (all puts to the leader), like hack/bench-cluster.sh
# does for `conflux-sync bench`; pass --leader=false to spread them instead.
#
#   hack/etcd/bench-etcd.sh --clients 32 --size 1024 --duration 30s
#   hack/etcd/bench-etcd.sh --clients 32 --size 1024 --duration 30s -o json
#
# Environment:
#   FORCE_BUILD=1      rebuild even when the binaries are up to date
#   TMPDIR             where the data dirs go; must be a real disk, not tmpfs
#   KEEP_LOGS=1        print each member's log on exit
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$here
while [[ ! -f $root/hack/etcd/go.mod ]]; do
	[[ $root != / ]] || { echo "bench-etcd: cannot find the repository root" >&2; exit 1; }
	root=$(dirname "$root")
done
bin=$root/.cache/bin
mkdir -p "$bin"

log() { echo "bench-etcd: $*" >&2; }

# build NAME: go build hack/NAME into .cache/bin/NAME unless the binary is
# newer than every file of its module.
build() {
	local name=$1 src=$root/hack/$1 out=$bin/$1
	if [[ -z ${FORCE_BUILD:-} && -x $out ]] &&
		[[ -z $(find "$src" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$out" -print -quit) ]]; then
		return
	fi
	log "building $name"
	local t0=$SECONDS
	(cd "$src" && GOFLAGS=-mod=mod go build -o "$out.tmp" . && mv "$out.tmp" "$out")
	log "built $name in $((SECONDS - t0))s"
}
build etcd
build etcdbench

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Six consecutive free ports from a random base, so that parallel runs (or an
# envtest etcd on 2379) do not collide. The base stays below the kernel's
# ephemeral range: a member dialing its peers at start-up may otherwise take
# the very port another member is about to listen on.
ephemeral=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
span=$((ephemeral - 10 - 20000))
((span > 100)) || span=100
ports=()
for _ in $(seq 50); do
	base=$((20000 + RANDOM % span))
	ports=()
	for i in 0 1 2 3 4 5; do
		port_free $((base + i)) || break
		ports+=($((base + i)))
	done
	((${#ports[@]} == 6)) && break
done
((${#ports[@]} == 6)) || { log "no free ports found"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-etcd.XXXXXX")
pids=()
benchpid=""
cluster_failed=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# etcdbench stops early on SIGTERM and still prints what it measured.
	if [[ -n $benchpid ]]; then
		kill -TERM "$benchpid" 2>/dev/null || true
		wait "$benchpid" 2>/dev/null || true
	fi
	# SIGTERM, then SIGKILL after 1 s: members stopping together otherwise
	# spend seconds trying to hand leadership to each other, and the data is
	# thrown away anyway.
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=""
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[[ -n $alive ]] || break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -n ${KEEP_LOGS:-} || -n $cluster_failed ]]; then
		for f in "$work"/m*.log; do
			[[ -f $f ]] || continue
			log "--- $(basename "$f") (last 20 lines)"
			tail -n 20 "$f" >&2
		done
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fstype=$(stat -f -c %T "$work")
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
	log "WARNING: $work is on $fstype, where fsync costs nothing; set TMPDIR to a real disk for a fair comparison"
fi

cluster=""
endpoints=""
for i in 1 2 3; do
	client=${ports[$(((i - 1) * 2))]}
	peer=${ports[$(((i - 1) * 2 + 1))]}
	cluster+="${cluster:+,}m$i=http://127.0.0.1:$peer"
	endpoints+="${endpoints:+,}127.0.0.1:$client"
done
for i in 1 2 3; do
	client=${ports[$(((i - 1) * 2))]}
	peer=${ports[$(((i - 1) * 2 + 1))]}
	"$bin/etcd" \
		--name "m$i" \
		--data-dir "$work/m$i" \
		--listen-client-urls "http://127.0.0.1:$client" \
		--advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$cluster" \
		--initial-cluster-state new \
		--initial-cluster-token "bench-etcd-$$" \
		--log-level warn \
		>"$work/m$i.log" 2>&1 &
	pids+=($!)
done
log "cluster $cluster, data in $work ($fstype)"

# Wait until every member answers /health with a leader (up to 30 s).
for ep in ${endpoints//,/ }; do
	ok=""
	for _ in $(seq 300); do
		if curl -fsS --max-time 1 "http://$ep/health" 2>/dev/null | grep -q '"health":"true"'; then
			ok=1
			break
		fi
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null || { log "an etcd member exited"; cluster_failed=1; exit 1; }
		done
		sleep 0.1
	done
	[[ -n $ok ]] || { log "$ep not healthy after 30s"; cluster_failed=1; exit 1; }
done
log "cluster healthy; running etcdbench $*"

# In the background so that a signal to this script is handled at once
# (bash runs traps only between foreground commands).
"$bin/etcdbench" --endpoints "$endpoints" --leader "$@" &
benchpid=$!
rc=0
wait "$benchpid" || rc=$?
benchpid=""
exit "$rc"
