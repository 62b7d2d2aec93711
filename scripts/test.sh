#!/usr/bin/env bash
# The whole test suite, as CI runs it: pinned tools, Go fixtures, then cargo test with every tier
# required. Plain `cargo test` skips (one `skipped: ...` line each) the tests whose tools are
# missing; here a missing tool fails its test instead (tests/common/tiers.rs). TinyGo is the
# exception: it cannot be installed by scripts/install-tools.sh, so its tests skip even here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-tools.sh
(cd testdata/wasi-crosscheck && go mod download)
(cd testdata/go-dep && go mod download)
(cd testdata/referrers-registry && go mod download)
bash testdata/gen-go-fixtures.sh
if command -v tinygo >/dev/null 2>&1; then
	echo "tinygo found: $(tinygo version)"
else
	echo "tinygo not on PATH: TinyGo integration tests are skipped (scripts/install-tools.sh cannot install it)"
fi
WASIPACK_REQUIRE_ALL_TIERS=1 cargo test --locked
