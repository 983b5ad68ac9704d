# conflux-sync — the two commands a newcomer needs are `make dev` and `make test`.
GO        ?= go
BIN       := bin/conflux-sync
PKGS      := ./...
TEST_FLAGS ?= -race -count=1 -timeout 25m
FUZZTIME  ?= 15s

.PHONY: all build dev test docs docs-check testacc helmrender vet fmt-check fuzz bench bench-quick bench-micro bench-sync bench-cluster bench-etcd envtest generate generate-check clean faults

# controller-gen writes the CRDs' deepcopy code and YAML (make generate); it is
# installed from the Go module proxy into .cache/bin on first use.
CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN := $(CURDIR)/.cache/bin/controller-gen-$(CONTROLLER_GEN_VERSION)
CRD_APIS  := ./ingest/kube/apis/...

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conflux-sync
	$(GO) build -o bin/ ./cmd/...

## dev: a three-node cluster in one process on 127.0.0.1 (Ctrl-C stops it)
dev: build
	$(BIN) dev

## test: formatting, vet, and every test with the race detector; the CRD tests
## run against a real kube-apiserver (built by `make envtest`) and the Terraform
## acceptance tests against the real terraform binary; none of them skip here.
## The full-disk tests mount tmpfs volumes: where this user may mount (root,
## as in CI) a failure to do so fails them, elsewhere they skip.
CONFLUX_REQUIRE_MOUNT ?= $(shell hack/can-mount.sh)
test: fmt-check vet docs-check envtest
	CONFLUX_REQUIRE_MOUNT=$(CONFLUX_REQUIRE_MOUNT) CONFLUX_REQUIRE_ENVTEST=1 TF_ACC=1 CHECKPOINT_DISABLE=1 $(GO) test $(TEST_FLAGS) $(PKGS)

## docs: the Terraform provider's pages in docs/terraform (the registry's layout),
## written by tfplugindocs (hack/tfdocs, its own module) from the schema
## descriptions in tfprovider, the templates in tfprovider/templates and the
## examples in examples/ (which it also terraform-fmts); uses the terraform on PATH
docs:
	cd hack/tfdocs && $(GO) run . -root $(CURDIR)

## docs-check: fail when docs/terraform or the examples' formatting differ from
## what `make docs` writes (part of make test)
docs-check:
	cd hack/tfdocs && $(GO) run . -root $(CURDIR) -check

## testacc: the Terraform provider's acceptance tests (real terraform binary, an
## in-process three-node cluster, the Conflux reference server and the Cloudflare emulator)
testacc:
	TF_ACC=1 CHECKPOINT_DISABLE=1 $(GO) test -count=1 -timeout 20m -run 'TestAcc' ./tfprovider

## faults: the fault suite for FAULTS_DURATION (three server processes behind
## link proxies, a nemesis, a linearizability check; see docs/testing.md), then
## the crash and full-disk tests; FAULTS_SEED=N replays a run's choices.
## `make test` runs the suite for 30 s.
FAULTS_DURATION ?= 5m
faults:
	CONFLUX_FAULTS_DURATION=$(FAULTS_DURATION) CONFLUX_FAULTS_SEED=$(FAULTS_SEED) CONFLUX_REQUIRE_MOUNT=1 \
		$(GO) test -count=1 -timeout 90m -v -run 'TestFaults$$|TestCrash|TestDiskFull' ./cmd/conflux-sync

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

## bench: the scale and performance report (hack/benchreport): every measurement in
## one run on this machine -> the generated section of docs/benchmarks.md and the
## plots in docs/bench/. Takes an hour or more (the 1M-fragment scale step dominates);
## BENCH_FLAGS passes flags, e.g. BENCH_FLAGS='-scale-sizes 10000,100000' or
## BENCH_FLAGS='-reuse scale' to re-render from .cache/benchreport
BENCH_FLAGS ?=
bench: envtest
	cd hack/benchreport && CONFLUX_REQUIRE_ENVTEST=1 GOFLAGS=-mod=mod $(GO) run . -root $(CURDIR) $(BENCH_FLAGS)

## bench-quick: a smoke run of the report (about three minutes) into a temporary directory
bench-quick:
	cd hack/benchreport && GOFLAGS=-mod=mod $(GO) run . -root $(CURDIR) -quick $(BENCH_FLAGS)

## bench-micro: Go micro benchmarks (FSM apply, aggregation, Kubernetes translation, Git builds)
bench-micro:
	$(GO) test -run='^$$' -bench=. -benchmem ./fsm ./sync/tunnel ./ingest/kube/translate ./ingest/git

## bench-cluster: `conflux-sync bench` against three server processes on loopback
bench-cluster: build
	hack/bench-cluster.sh

## bench-etcd: the same load against a three-member etcd on loopback
bench-etcd:
	hack/bench-etcd.sh --clients 32 --size 1024 --duration 30s

## helmrender: build Helm's renderer (hack/helmrender) into .cache/bin; deploy/deploy_test.go builds it itself when needed
helmrender:
	hack/helmrender.sh

## envtest: build a real etcd and kube-apiserver for envtest into .cache/envtest/bin (first time several minutes)
envtest:
	hack/envtest.sh

## generate: deepcopy code and the CRD manifests (deploy/crds) from ingest/kube/apis:
## controller-gen writes one version of each kind, hack/crdgen serves it as every
## version (and in both API groups) the cloudflare-operators serve, into
## deploy/crds/operators (conflux-sync's own CRDs stay in deploy/crds)
generate: $(CONTROLLER_GEN)
	$(CONTROLLER_GEN) object paths=$(CRD_APIS)
	rm -rf .cache/crdgen deploy/crds/*_*.yaml deploy/crds/operators
	$(CONTROLLER_GEN) crd paths=$(CRD_APIS) output:crd:artifacts:config=.cache/crdgen
	$(GO) run ./hack/crdgen -in .cache/crdgen -out deploy/crds
	rm -f deploy/chart/crds/*_*.yaml
	cp deploy/crds/*_*.yaml deploy/crds/operators/*_*.yaml deploy/chart/crds/
	gofmt -w ingest/kube/apis

## generate-check: fail when the checked-in generated files are not what `make generate` writes
generate-check: generate
	@git diff --exit-code -- ingest/kube/apis deploy/crds deploy/chart/crds || { echo "generated files are stale: run make generate and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- ingest/kube/apis deploy/crds)" || { echo "generated files are not checked in: run make generate and commit"; exit 1; }

$(CONTROLLER_GEN):
	mkdir -p $(dir $@)
	GOBIN=$(CURDIR)/.cache/bin/tmp-controller-gen GOFLAGS=-buildvcs=false $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(CURDIR)/.cache/bin/tmp-controller-gen/controller-gen $@
	rmdir $(CURDIR)/.cache/bin/tmp-controller-gen

clean:
	rm -rf bin .cache

## bench-sync: the Cloudflare sink end to end (convergence, calls per 1,000 changes, failover)
bench-sync:
	$(GO) test -run='^$$' -bench='Cloudflare' -benchtime=20x ./server
