#!/usr/bin/env bash
# The whole test suite, as CI runs it: pinned tools, Go fixtures, then cargo test.
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
	echo "tinygo not on PATH: TinyGo integration tests are not run (TinyGo cannot be installed on this machine kind)"
fi
cargo test --locked
