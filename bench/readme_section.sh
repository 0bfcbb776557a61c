#!/usr/bin/env bash
# Replaces what stands between <!-- NAME:begin --> and <!-- NAME:end --> in docs/performance.md with standard input.
# Usage: <table> | bench/readme_section.sh NAME     (used by bench_engines.sh and bench_models.sh with --readme)
set -euo pipefail
readme=$(cd "$(dirname "$0")/.." && pwd)/docs/performance.md
begin="<!-- $1:begin -->"
end="<!-- $1:end -->"
grep -q "$begin" "$readme" || { echo "docs/performance.md has no $begin marker" >&2; exit 1; }
content=$(cat)
awk -v begin="$begin" -v end="$end" -v content="$content" '
  $0 == begin { print; print content; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }' "$readme" > "$readme.tmp" && mv "$readme.tmp" "$readme"
echo "docs/performance.md updated" >&2
