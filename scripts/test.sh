#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh), runs the whole test suite, and ends with one
# summary line "tests: N passed, M failed, K skipped". The exit status is swift test's.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
bash scripts/setup.sh
# chromium renders the HTML run report in a test (never needed by the product).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test: installing chromium for the report rendering test" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# The suite is XCTest only; --disable-swift-testing skips the empty Swift Testing pass.
swift test --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# "Executed N tests, with F failures" or, when some were skipped, "... with S tests skipped and F failures".
summary=$(grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
  failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
  skipped=$(echo "$summary" | sed -E -n 's/.*with ([0-9]+) tests? skipped.*/\1/p')
  skipped=${skipped:-0}
  echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
else
  echo "tests: no test summary found (the build or the test runner failed)" >&2
  [ "$status" -eq 0 ] && status=1
fi
exit "$status"
