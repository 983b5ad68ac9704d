# conflux-sync — the two commands a newcomer needs are `make dev` and `make test`.
GO        ?= go
BIN       := bin/conflux-sync
PKGS      := ./...
TEST_FLAGS ?= -race -count=1 -timeout 25m
FUZZTIME  ?= 15s

.PHONY: all build dev test vet fmt-check fuzz bench bench-sync bench-cluster bench-etcd envtest clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conflux-sync
	$(GO) build -o bin/ ./cmd/...

## dev: a three-node cluster in one process on 127.0.0.1 (Ctrl-C stops it)
dev: build
	$(BIN) dev

## test: formatting, vet, and every test with the race detector
test: fmt-check vet
	$(GO) test $(TEST_FLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeFragment -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzDecodeCommand -fuzztime=$(FUZZTIME) ./fsm
	$(GO) test -run='^$$' -fuzz=FuzzValidate -fuzztime=$(FUZZTIME) ./sync/tunnel

## bench: Go benchmarks (FSM apply, aggregation)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./fsm ./sync/tunnel

## bench-cluster: `conflux-sync bench` against three server processes on loopback
bench-cluster: build
	hack/bench-cluster.sh

## bench-etcd: the same load against a three-member etcd on loopback
bench-etcd:
	hack/bench-etcd.sh --clients 32 --size 1024 --duration 30s

## envtest: build a real etcd and kube-apiserver for envtest into .cache/envtest/bin (first time several minutes)
envtest:
	hack/envtest.sh

clean:
	rm -rf bin .cache

## bench-sync: the Cloudflare sink end to end (convergence, calls per 1,000 changes, failover)
bench-sync:
	$(GO) test -run='^$$' -bench='Cloudflare' -benchtime=20x ./server
