#!/usr/bin/env bash
# Renders the mixin with plain jsonnet into alerts/ and dashboards/ of the
# repository, or of the directory given as the first argument.
set -euo pipefail
mixin="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$mixin/..}"
JSONNET="${JSONNET:-jsonnet}"

if ! command -v "$JSONNET" >/dev/null 2>&1; then
  echo "render.sh: $JSONNET not found (Debian package jsonnet)" >&2
  exit 1
fi

mkdir -p "$out/alerts" "$out/dashboards"
"$JSONNET" -J "$mixin" -S "$mixin/alerts.jsonnet" >"$out/alerts/zookeeper-alerts.yaml.tmp"
"$JSONNET" -J "$mixin" -S "$mixin/rules.jsonnet" >"$out/alerts/zookeeper-rules.yaml.tmp"
mv "$out/alerts/zookeeper-alerts.yaml.tmp" "$out/alerts/zookeeper-alerts.yaml"
mv "$out/alerts/zookeeper-rules.yaml.tmp" "$out/alerts/zookeeper-rules.yaml"

# Dashboards: one file per key, replacing any stale rendered dashboard.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$JSONNET" -J "$mixin" -S -m "$tmp" "$mixin/dashboards.jsonnet" >/dev/null
rm -f "$out"/dashboards/*.json
for f in "$tmp"/*.json; do
  [ -e "$f" ] && cp "$f" "$out/dashboards/"
done
echo ">> rendered alerts and dashboards into $out"
