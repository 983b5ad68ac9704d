#!/usr/bin/env bash
# Start three `conflux-sync server` processes on 127.0.0.1 and drive them
# with `conflux-sync bench`. Extra arguments go to bench, e.g.
#   hack/bench-cluster.sh --clients 32 --size 1024 --duration 30s -o json
# RAFT_LOG_STORE=wal selects the raft-wal log backend (default boltdb);
# GC_PERCENT sets the servers' --gc-percent (default: the server's own);
# INSECURE_CLUSTER=1 runs plain TCP raft and gossip (--insecure-cluster)
# instead of the default secure transport from a generated cluster secret.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/bin
go build -o .cache/bin/conflux-sync ./cmd/conflux-sync
bin=.cache/bin/conflux-sync

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		# Peak resident memory of each server, for docs/benchmarks.md.
		hwm=$(sed -n 's/^VmHWM: *//p' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$hwm" ] && echo "server pid $p peak RSS $hwm" >&2
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "admin:$token" >"$work/tokens"
"$bin" operator keygen >"$work/cluster-secret"
security=(--cluster-secret-file "$work/cluster-secret")
[ "${INSECURE_CLUSTER:-}" = 1 ] && security=(--insecure-cluster)
base=${BENCH_PORT_BASE:-17780}
join="127.0.0.1:$((base + 2)),127.0.0.1:$((base + 12)),127.0.0.1:$((base + 22))"
for i in 0 1 2; do
	p=$((base + 10 * i))
	"$bin" server --node-id "bench-$i" --data-dir "$work/n$i" \
		--http-addr "127.0.0.1:$p" --raft-addr "127.0.0.1:$((p + 1))" --gossip-addr "127.0.0.1:$((p + 2))" \
		--join "$join" --bootstrap-expect 3 --token-file "$work/tokens" --log-level warn --api-token-rate=-1 "${security[@]}" \
		--raft-log-store "${RAFT_LOG_STORE:-boltdb}" ${GC_PERCENT:+--gc-percent "$GC_PERCENT"} \
		2>"$work/n$i.log" &
	pids+=($!)
done

addr="http://127.0.0.1:$base"
for _ in $(seq 1 300); do
	if curl -fsS "$addr/readyz" >/dev/null 2>&1; then break; fi
	sleep 0.1
done
curl -fsS "$addr/readyz" >/dev/null || { echo "cluster did not become ready"; cat "$work"/n*.log; exit 1; }

# Send the load to the leader, as a client library that follows the
# leader would; a follower forwards, which costs one more hop.
leader=$("$bin" status --addr "$addr" --token "$token" -o json | sed -n 's/.*"leaderAddr": *"\([^"]*\)".*/\1/p')
target=$addr
for i in 0 1 2; do
	p=$((base + 10 * i))
	if [ "$("$bin" status --addr "http://127.0.0.1:$p" --token "$token" -o json --consistency stale | sed -n 's/.*"state": *"\([^"]*\)".*/\1/p')" = "Leader" ]; then
		target="http://127.0.0.1:$p"
	fi
done
echo "bench against $target (leader raft address $leader)" >&2
"$bin" bench --addr "$target" --token "$token" "$@"
