#!/usr/bin/env bash
# Runs every fuzz target (the `fuzz_` property tests; see src/fuzzing.rs)
# over and over for a set time, each round with fresh random cases, and
# prints how many cases each ran, for how long, and what failed.
#   ./scripts/fuzz.sh            # 10 minutes, 5000 cases a target a round
#   ./scripts/fuzz.sh 3600 20000
# A failing case is kept in proptest-regressions/ (commit it: cargo test
# replays it first from then on) and the run ends with exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
cases="${2:-5000}"
cargo test --release --locked --lib --no-run --quiet
mapfile -t targets < <(cargo test --release --locked --lib --quiet -- --list 'fuzz_' 2>/dev/null | sed -n 's/: test$//p')
declare -A ran took
for t in "${targets[@]}"; do ran[$t]=0; took[$t]=0; done
deadline=$(( $(date +%s) + seconds ))
failed=""
while [ "$(date +%s)" -lt "$deadline" ] && [ -z "$failed" ]; do
  for t in "${targets[@]}"; do
    start=$(date +%s%N)
    if ! SPACES_MCP_FUZZ_CASES="$cases" cargo test --release --locked --lib --quiet -- --exact "$t" >/tmp/spaces-mcp-fuzz.log 2>&1; then
      failed="$t"
      cat /tmp/spaces-mcp-fuzz.log
      break
    fi
    ran[$t]=$(( ${ran[$t]} + cases ))
    took[$t]=$(( ${took[$t]} + ($(date +%s%N) - start) / 1000000 ))
    [ "$(date +%s)" -lt "$deadline" ] || break
  done
done
printf '%-72s %10s %9s\n' target cases seconds
for t in "${targets[@]}"; do
  printf '%-72s %10d %9.1f\n' "$t" "${ran[$t]}" "$(awk "BEGIN{print ${took[$t]}/1000}")"
done
if [ -n "$failed" ]; then
  echo "FAILED: $failed (the case is in proptest-regressions/)"
  exit 1
fi
echo "no failures"
