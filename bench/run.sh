#!/usr/bin/env bash
# Copyright 2026 The zkwatch Authors
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
# http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# `make bench`: runs zkwatch's benchmarks (real ZooKeeper ensembles, the
# anchor exporters when ../shared/anchors or $ZKWATCH_ANCHORS holds them)
# and writes bench/RESULTS.md. Raw output stays in bench/*.tmp. A failing
# benchmark is reported in RESULTS.md and in the exit status but does not
# stop the others.
#
# Environment: GO (default go), BENCH_TIMEOUT (per go test run, default
# 20m), FIXTURE_BENCHTIME (default 2s), OTHER_BENCHTIME (benchmarks that
# loop on b.N themselves, default 1s).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-20m}
FIXTURE_BENCHTIME=${FIXTURE_BENCHTIME:-2s}
OTHER_BENCHTIME=${OTHER_BENCHTIME:-1s}

rm -f bench/*.tmp
failed=()
reports=()
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t0=$(date +%s)

# run FILE TITLE PKG PATTERN BENCHTIME: one go test run, output kept in
# bench/FILE.tmp and listed for the report under TITLE.
run() {
	local file=bench/$1.tmp title=$2 pkg=$3 pattern=$4 benchtime=$5
	echo ">> $title: $GO test -run '^\$' -bench '$pattern' -benchtime $benchtime $pkg"
	if ! "$GO" test -run '^$' -bench "$pattern" -benchtime "$benchtime" -timeout "$BENCH_TIMEOUT" "$pkg" 2>&1 | tee "$file"; then
		failed+=("$title ($pkg)")
	fi
	reports+=("$title=$file")
}

# benchmarks PKGDIR: "Name benchtime" for each Benchmark function in the Go
# test files directly in PKGDIR. Benchmarks that measure many samples per
# iteration and report them with b.ReportMetric, or start an ensemble, run
# once (1x); the others loop on b.N for OTHER_BENCHTIME.
benchmarks() {
	local f
	for f in "$1"/*_test.go; do
		[ -e "$f" ] || continue
		awk -v other="$OTHER_BENCHTIME" '
			/^func Benchmark[A-Za-z0-9_]*\(/ {
				if (name != "") print name, (once ? "1x" : other)
				name = $2; sub(/\(.*/, "", name); once = 0
			}
			name != "" && /ReportMetric|zktest\.Start\(|benchmark[A-Z][A-Za-z0-9_]*\(/ { once = 1 }
			name != "" && /^}/ { print name, (once ? "1x" : other); name = "" }
			END { if (name != "") print name, (once ? "1x" : other) }
		' "$f"
	done
}

# pattern NAMES...: an anchored -bench regexp matching exactly NAMES.
pattern() {
	local IFS='|'
	echo "^($*)\$"
}

run sidebyside "Scrape latency side by side" ./bench 'SideBySide[35]Members' 1x
run isolated "Isolated scrapes (as at a 15 s interval, gzip)" ./bench 'IsolatedScrape3Members' 1x
run cost "What the exporter costs ZooKeeper (issue 26)" ./bench '^BenchmarkExporterCostToZooKeeper$' 1x
run many "Many ensembles through one exporter's /probe (issue 26)" ./bench '^BenchmarkProbeManyEnsembles$' 1x
run scrape "Scrape against the bare mntr fetch" ./collector '^BenchmarkScrape[35]Members$' 1x
run fixture "Exporter CPU per scrape (fixtures)" ./collector '^BenchmarkFixtureScrape$' "$FIXTURE_BENCHTIME"
run httpscrape "Exporter HTTP path per scrape (fixtures)" ./cmd/zookeeper_exporter '^BenchmarkHTTPScrape$' "$OTHER_BENCHTIME"
run watchdetect "Watch detection through /metrics polling" ./cmd/zookeeper_exporter '^BenchmarkWatchDetectionMetrics$' 1x
run webhookload "Receiver webhook load from a separate process" ./cmd/zkwatch_receiver '^BenchmarkWebhookLoad$' 1x

# Every other benchmark in collector/, receiver/ and agent/, grouped by
# package and benchtime.
for top in collector receiver agent; do
	[ -d "$top" ] || continue
	while read -r dir; do
		declare -A byTime=()
		while read -r name benchtime; do
			case "$dir/$name" in
			collector/BenchmarkScrape3Members | collector/BenchmarkScrape5Members | collector/BenchmarkFixtureScrape) continue ;;
			esac
			byTime[$benchtime]+="$name "
		done < <(benchmarks "$dir")
		for benchtime in "${!byTime[@]}"; do
			# shellcheck disable=SC2086
			pat=$(pattern ${byTime[$benchtime]})
			run "$(echo "$dir" | tr / -)-$benchtime" "$dir benchmarks" "./$dir" "$pat" "$benchtime"
		done
		unset byTime
	done < <(find "$top" -name '*_test.go' -exec dirname {} \; | sort -u)
done

run alert-restart "Alert to restart, one receiver and two replicas" ./cmd/zkwatch_receiver '^BenchmarkAlertToRestart$' 1x

if [ -d e2e ] && grep -q '^func BenchmarkKillRestart(' e2e/*_test.go 2>/dev/null; then
	run e2e "Kill to restart (end to end)" ./e2e '^BenchmarkKillRestart$' 1x
fi

load_end=$(loadavg)
elapsed=$(($(date +%s) - t0))

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
go_cpu=$(awk -F': ' '/^cpu: / {print $2; exit}' bench/*.tmp 2>/dev/null | sed 's/ *$//')
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo "not installed")
java_version="not installed"
if command -v java >/dev/null; then java_version=$(java -version 2>&1 | head -1); fi

{
	echo "# zkwatch benchmark results"
	echo
	echo "Generated by \`make bench\` (bench/run.sh); do not edit by hand."
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| Date | $started ($elapsed s) |"
	echo "| CPUs (nproc) | $(nproc) |"
	echo "| CPU model | $cpu_model${go_cpu:+ (Go reports: $go_cpu)} |"
	echo "| Memory | $mem |"
	echo "| Kernel | $(uname -sr) |"
	echo "| Go | $("$GO" env GOVERSION) |"
	echo "| ZooKeeper (Debian package) | $zk_version |"
	echo "| Java | $java_version |"
	echo "| Load average (1, 5, 15 min) at start | $load_start |"
	echo "| Load average at end | $load_end |"
	echo
	cat <<-'EOF'
		The machine is shared: other jobs (JVM ensembles of concurrent test
		runs) may be loading its CPUs, see the load averages above. All
		latencies are wall-clock times on 127.0.0.1.

		How to read the side-by-side table: one real ensemble per column
		group, every exporter started against it and scraped in a new
		random order each round (fixed seed) after 100 warm-up rounds,
		300 measured rounds, uncompressed text format,
		keep-alive connections, each answer read into a buffer kept from
		the previous scrape (as Prometheus does), 10 ms between two
		exporters so that what one does after answering (closing
		connections, opening the next ones) is not charged to the next.
		*zkwatch* is zookeeper_exporter scraped over HTTP with its defaults
		(one CPU); *zkwatch-probe* is the first one's /probe endpoint for the whole
		ensemble (the same collector without the exporter's go_/process_
		metrics);
		*zkwatch-inproc* is the same collector scraped inside the
		benchmark process (no HTTP server, no go_/process_ metrics); dabealu
		scrapes all members one after another in one process; carlpett runs
		one process per member, all scraped at once (a round lasts as long as
		the slowest); *mntr+srvr-max* sends the two words zkwatch sends to
		every member at once and *mntr-max* sends only mntr: the slowest
		single round trip is the floor for any exporter. "× mntr" is the
		median divided by the mntr-max median, "× mntr+srvr" by the
		mntr+srvr-max median (what zkwatch must ask: 3.8's mntr has no
		zxid). zookeeper_exporter runs with --zookeeper.probe-reuse=0 here,
		so that every scrape probes the ensemble.

		How to read the isolated table: every exporter scraped as at a 15 s
		interval (each idles longer than any reuse window between two of its
		scrapes, here 300 ms between two scrapes of different exporters),
		gzip and the Accept header of Prometheus 3, 40 rounds after 5 warm-up
		rounds; wall time per scrape and the CPU time of the exporter's
		processes (schedstat of every thread) from one scrape to the next,
		median with p10 and p90; stat-cpu is utime+stime over all rounds.

		How to read the many-ensembles figures (BenchmarkProbeManyEnsembles):
		real single-member ZooKeepers (64 MiB heap, no AdminServer), a
		quarter, half and all of them probed through one zookeeper_exporter's
		/probe with its default flags, as Prometheus scrapes a multi-target
		job: each target once per 15 s, the targets spread evenly over the
		interval, gzip, Prometheus's Accept and a 10 s scrape-timeout header,
		one probe of every target before 4 measured rounds, a fresh exporter
		process per step. cpu-us/probe is the exporter's CPU time (schedstat,
		idle time between probes included) over the measured window divided
		by the probes; cpu-%core/ensemble the same per ensemble as a share of
		one core; rss- and heap-KiB/ensemble the growth of VmRSS and
		go_memstats_heap_inuse_bytes from before the first probe to after the
		last, per ensemble; p50/p99/max are the healthy probes' wall times;
		failed counts healthy probes without zookeeper_up 1. The hung- row
		repeats the full step with one ensemble paused (SIGSTOP): its probes
		last the exporter's --zookeeper.timeout (paused-ensemble-ms).

	EOF
	if [ ${#failed[@]} -gt 0 ]; then
		echo "**Failed runs:** $(printf '%s; ' "${failed[@]}")see the raw output below."
		echo
	fi
	"$GO" run ./bench/report "${reports[@]}"
} >bench/RESULTS.md

echo ">> wrote bench/RESULTS.md"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
