# Sourced by the bench scripts: the repository root, the CLI (built on first use), the lock that keeps heavy jobs one at
# a time on a small machine (BENCH_LOCK, default /tmp/build.lock; empty: no lock), and the fixture photos.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cli=$root/src/Res2Net.Cli/bin/Release/net10.0/res2net
lock=${BENCH_LOCK-/tmp/build.lock}
locked() { if [ -n "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }
[ -x "$cli" ] || locked dotnet build -c Release "$root/src/Res2Net.Cli" >/dev/null

# The fixture photos that decode (truncated.jpg is the damaged one), one path per line, sorted.
fixture_photos() {
  find "$root/tests/fixtures/images" -type f \( -name '*.png' -o -name '*.jpg' \) ! -name truncated.jpg | sort
}
