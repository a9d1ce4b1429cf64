#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for a short time (FUZZTIME, default
# 5s). A crasher fails the run (go test writes it to testdata/fuzz for the
# regression corpus). Go's fuzzing engine sometimes ends a short run with
# "context deadline exceeded" without any failing input when a worker is
# slow to stop; such a run is repeated, up to three times.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | awk '{print $2}'); do
    for try in 1 2 3; do
      out=$("$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1)
      rc=$?
      echo "$out" | tail -n 3
      if [ $rc -eq 0 ]; then
        break
      fi
      if echo "$out" | grep -q 'Failing input written' || ! echo "$out" | grep -q 'context deadline exceeded'; then
        echo "$out"
        echo "fuzz: $target in $pkg failed" >&2
        status=1
        break
      fi
      echo "fuzz: $target ended with the engine's deadline error and no failing input; trying again ($try)" >&2
      [ $try -eq 3 ] && status=1
    done
  done
done
exit $status
