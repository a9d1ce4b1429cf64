#!/usr/bin/env bash
# Checks the mixin: the committed rendering is fresh, the rules are valid and
# their unit tests pass, and the example configurations load. Under CI=true a
# missing tool is a failure; otherwise it is skipped with a warning.
set -euo pipefail
mixin="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$mixin/.." && pwd)"
PROMTOOL="${PROMTOOL:-promtool}"
AMTOOL="${AMTOOL:-amtool}"
JSONNET="${JSONNET:-jsonnet}"
export JSONNET

have() {
  if command -v "$1" >/dev/null 2>&1; then return 0; fi
  if [ "${CI:-}" = "true" ]; then
    echo "mixin-check: $1 is required under CI=true but not found" >&2
    exit 1
  fi
  echo "mixin-check: WARNING: $1 not found, skipping its checks" >&2
  return 1
}

if have "$JSONNET"; then
  echo ">> checking that the rendered mixin is up to date"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$mixin/render.sh" "$tmp" >/dev/null
  stale=0
  for d in alerts dashboards; do
    if ! diff -ru "$root/$d" "$tmp/$d"; then stale=1; fi
  done
  if [ "$stale" -ne 0 ]; then
    echo "mixin-check: committed alerts/ or dashboards/ differ from a fresh render (diff above: committed vs fresh); run 'make mixin'" >&2
    exit 1
  fi
fi

if have "$PROMTOOL"; then
  echo ">> promtool check rules"
  "$PROMTOOL" check rules "$root/alerts/zookeeper-alerts.yaml" "$root/alerts/zookeeper-rules.yaml"
  echo ">> promtool test rules"
  (cd "$mixin/tests" && "$PROMTOOL" test rules ./*.yaml)
  echo ">> promtool check config"
  "$PROMTOOL" check config "$root/examples/prometheus.yml"
fi

if have "$AMTOOL"; then
  echo ">> amtool check-config"
  "$AMTOOL" check-config "$root/examples/alertmanager.yml"
fi
echo ">> mixin-check passed"
