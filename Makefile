# zkwatch Makefile, in the manner of Prometheus projects. promu is not
# available here, so `build` reads the binaries and ldflags of .promu.yml
# and runs plain `go build`.

GO        ?= go
GOFMT     ?= gofmt
PROMTOOL  ?= promtool
AMTOOL    ?= amtool
JSONNET   ?= jsonnet
BIN_DIR   ?= $(CURDIR)/bin
VERSION   := $(shell cat VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER := $(shell id -un 2>/dev/null)@$(shell hostname 2>/dev/null)
BUILDDATE := $(shell date -u +%Y%m%d-%H:%M:%S)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=$(BUILDUSER) -X $(VPKG).BuildDate=$(BUILDDATE)
# Binary name and package path pairs, read from .promu.yml.
BINARIES  := $(shell awk '/- name:/{n=$$3} /path:/{if(n!=""){print n":"$$2; n=""}}' .promu.yml)
GO_TEST_TIMEOUT ?= 25m
FUZZTIME  ?= 5s

.PHONY: all
all: fmt-check vet build test

.PHONY: build
build:
	@mkdir -p $(BIN_DIR)
	@for b in $(BINARIES); do \
		name=$${b%%:*}; path=$${b#*:}; \
		if [ -d "$$path" ]; then \
			echo ">> building $$name"; \
			CGO_ENABLED=0 $(GO) build -tags netgo -ldflags '$(LDFLAGS)' -o $(BIN_DIR)/$$name $$path || exit 1; \
		fi; \
	done

.PHONY: fmt-check
fmt-check:
	@echo ">> checking formatting"
	@out=$$($(GOFMT) -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# golangci-lint v2 at a fixed version, built from the Go module proxy on
# first use (no separate install step).
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: lint
lint:
	@echo ">> linting code"
	GOFLAGS=-mod=mod $(GOLANGCI_LINT) run ./...

.PHONY: vet
vet:
	@echo ">> vetting code"
	$(GO) vet ./...

# The README's test command. It first installs (as root) or names the
# Debian packages the tests need (deps). Real ZooKeeper, Prometheus and
# Alertmanager are required; with CI=true their absence fails the run
# instead of skipping.
.PHONY: test
test: deps fmt-check vet lint mixin-check build chart-check test-go fuzz

.PHONY: test-go
test-go:
	@echo ">> running tests"
	$(GO) test -count=1 -timeout $(GO_TEST_TIMEOUT) ./...

# The fast inner loop, as Prometheus's Makefile.common has it: unit tests
# and fixtures only; every test that needs a real ZooKeeper, Prometheus or
# Alertmanager skips itself under -short.
.PHONY: test-short
test-short:
	@echo ">> running short tests"
	$(GO) test -short -count=1 ./...

# Short coverage-guided fuzzing of every Fuzz target (their seed corpora
# also run in test-go).
.PHONY: fuzz
fuzz:
	@echo ">> fuzzing ($(FUZZTIME) per target)"
	@GO=$(GO) FUZZTIME=$(FUZZTIME) tools/fuzz.sh

.PHONY: bench
bench:
	@echo ">> running benchmarks"
	GO=$(GO) bench/run.sh

# Renders the mixin and checks rules, dashboards and example configs.
.PHONY: mixin
mixin:
	@echo ">> rendering mixin"
	@if [ -x mixin/render.sh ]; then mixin/render.sh; else echo "mixin not yet written"; fi

.PHONY: mixin-check
mixin-check:
	@if [ -x mixin/check.sh ]; then mixin/check.sh; else echo ">> mixin not yet written, nothing to check"; fi

# The demo: a real 3-node ensemble, zookeeper_exporter, Prometheus,
# Alertmanager, zkwatch_receiver and a process under zkwatch_agent, all on
# 127.0.0.1, state in .demo/. Ctrl-C stops everything. It needs Go; deps
# installs the rest. bin/zkwatch-demo member stop|start N stops or starts
# one member of the running demo.
.PHONY: demo
demo: demo-go deps build demo-bin
	$(BIN_DIR)/zkwatch-demo --dir .demo --bin $(BIN_DIR) --repo . run

# The scripted fault scenario (also the heart of the end-to-end test).
.PHONY: demo-scenario
demo-scenario: demo-go deps build demo-bin
	$(BIN_DIR)/zkwatch-demo --dir .demo --bin $(BIN_DIR) --repo . scenario

# Go must be there (the version go.mod names or later); the modules are
# downloaded under a line that says so, since the first build would
# otherwise print nothing while it downloads them.
GO_MIN := $(shell awk '/^go /{print $$2}' go.mod)
.PHONY: demo-go
demo-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "Go not found: install Go $(GO_MIN) or later (go.mod) and put it on PATH"; exit 1; }
	@echo ">> downloading the Go modules of go.mod (first run only)"
	@$(GO) mod download

.PHONY: demo-bin
demo-bin:
	@mkdir -p $(BIN_DIR)
	$(GO) build -o $(BIN_DIR)/zkwatch-demo ./tools/zkwatch-demo

# The Debian packages the demo and the tests need: real ZooKeeper (and a
# JRE), Prometheus, Alertmanager, jsonnet for the mixin, Chromium for the
# receiver page's browser test, podman for the image, systemd for
# systemd-analyze and ca-certificates for the image's CA bundle.
DEPS      ?= zookeeper prometheus prometheus-alertmanager jsonnet default-jre-headless chromium \
             podman systemd ca-certificates

# Installs the missing ones (as root), or names them and fails. Debian starts
# the packaged daemons on install; the demo and tests run their own on free
# ports, so those are stopped again. Shared by
# `make demo` and `make test`; a package counts as present when dpkg knows
# it or a command of its name is on PATH.
.PHONY: deps
deps:
	@missing=""; \
	for p in $(DEPS); do \
		dpkg -s $$p >/dev/null 2>&1 || command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo ">> installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
			for svc in prometheus prometheus-alertmanager prometheus-node-exporter zookeeper; do \
				(command -v service >/dev/null && service $$svc stop >/dev/null 2>&1) || true; \
			done; \
		else \
			echo "Missing Debian packages:$$missing"; \
			echo "Install them with: sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

# Kept for existing habits: the same as deps.
.PHONY: demo-deps
demo-deps: deps

# Packaging, in the manner of Prometheus's Makefile.common and promu:
# static binaries per platform in .build/<os>-<arch>/, release archives
# with checksums, a container image built from those binaries without
# pulling anything, and the Helm chart checked with a pinned helm.
PLATFORMS   ?= linux/amd64 linux/arm64
GOHOSTARCH  := $(shell $(GO) env GOHOSTARCH)
TARBALL_DIR ?= $(CURDIR)/.build/tarballs
PODMAN      ?= podman
IMAGE       ?= zkwatch/zkwatch:$(VERSION)
# Debian's ca-certificates bundle, copied into the image.
CA_BUNDLE   ?= /etc/ssl/certs/ca-certificates.crt
CHART       ?= deploy/helm/zkwatch
# What each archive carries besides the binaries: .promu.yml's tarball files.
TARBALL_FILES := $(shell awk '/^tarball:/{t=1; next} /^[^ ]/{t=0} t && /^ +- /{print $$2}' .promu.yml)

# The binaries of every platform in PLATFORMS, each into .build/<os>-<arch>/,
# all stamped with one revision and build date (HEAD may move meanwhile).
.PHONY: crossbuild
crossbuild:
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; echo ">> building for $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(MAKE) --no-print-directory build BIN_DIR=$(CURDIR)/.build/$$os-$$arch \
			REVISION=$(REVISION) BUILDDATE='$(BUILDDATE)' || exit 1; \
	done

# zkwatch-<version>.<os>-<arch>.tar.gz for each platform, as promu
# tarball lays them out (the binaries and TARBALL_FILES), plus
# sha256sums.txt, in TARBALL_DIR.
.PHONY: release
release: crossbuild
	@rm -rf $(TARBALL_DIR) .build/stage && mkdir -p $(TARBALL_DIR)
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; d=zkwatch-$(VERSION).$$os-$$arch; \
		mkdir -p .build/stage/$$d || exit 1; \
		for b in $(BINARIES); do cp .build/$$os-$$arch/$${b%%:*} .build/stage/$$d/ || exit 1; done; \
		cp -R $(TARBALL_FILES) .build/stage/$$d/ || exit 1; \
		echo ">> packaging $$d.tar.gz"; \
		tar -C .build/stage --owner=0 --group=0 --numeric-owner -czf $(TARBALL_DIR)/$$d.tar.gz $$d || exit 1; \
	done
	@cd $(TARBALL_DIR) && sha256sum *.tar.gz > sha256sums.txt
	@rm -rf .build/stage

# The container image of the host's architecture (see Dockerfile).
# --pull=never: the build must not reach any registry.
.PHONY: image
image:
	@$(MAKE) --no-print-directory crossbuild PLATFORMS=linux/$(GOHOSTARCH) REVISION=$(REVISION) BUILDDATE='$(BUILDDATE)'
	@root=.build/image-linux-$(GOHOSTARCH); rm -rf $$root && mkdir -p $$root/bin $$root/etc/ssl/certs && \
	for b in $(BINARIES); do cp .build/linux-$(GOHOSTARCH)/$${b%%:*} $$root/bin/ || exit 1; done && \
	cp $(CA_BUNDLE) $$root/etc/ssl/certs/ca-certificates.crt && cp LICENSE $$root/
	@echo ">> building image $(IMAGE)"
	$(PODMAN) build --pull=never --layers=false --build-arg OS=linux --build-arg ARCH=$(GOHOSTARCH) \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
		--build-arg CREATED=$(shell date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE) .

# helm at a fixed version, built from the Go module proxy once into .build/.
HELM_VERSION ?= v3.21.4
HELM         ?= $(CURDIR)/.build/helm-$(HELM_VERSION)/helm

$(HELM):
	@echo ">> building helm $(HELM_VERSION)" >&2
	@GOBIN=$(dir $(HELM)) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) >&2

# Prints the path of helm, building it first (the chart's Go tests use it).
.PHONY: helm-path
helm-path: $(HELM)
	@echo $(HELM)

# The chart carries the rendered rules and dashboards (files/, not in git),
# so its PrometheusRule and dashboard ConfigMaps are always alerts/ and
# dashboards/ as they are.
.PHONY: chart-files
chart-files:
	@rm -rf $(CHART)/files && mkdir -p $(CHART)/files/alerts $(CHART)/files/dashboards
	@cp alerts/*.yaml $(CHART)/files/alerts/ && cp dashboards/*.json $(CHART)/files/dashboards/

# helm lint and helm template with the defaults and with every optional
# object on; the Go tests in deploy/ check what is rendered.
CHART_ALL_ON := --set exporter.serviceMonitor.enabled=true,receiver.serviceMonitor.enabled=true \
	--set prometheusRule.enabled=true,dashboards.enabled=true
.PHONY: chart-check helm-lint
chart-check helm-lint: $(HELM) chart-files
	@echo ">> checking the Helm chart"
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) $(CHART_ALL_ON)
	$(HELM) template zkwatch $(CHART) >/dev/null
	$(HELM) template zkwatch $(CHART) $(CHART_ALL_ON) >/dev/null

.PHONY: clean
clean:
	rm -rf $(BIN_DIR) .build bench/*.tmp
