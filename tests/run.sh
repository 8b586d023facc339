#!/usr/bin/env bash
# Runs every upgate test: unit tests, conformance suites, black-box protocol tests and
# the real-client oracles. Installs what the tests need when it is missing:
#   - tus-js-client, playwright-core, azurite (npm) -> tests/node/node_modules
#   - tuspy, KalturaApiClient, lxml, moto[server], jsonschema, PyYAML (PyPI) -> tests/.venv
#   - s3s-fs 0.14.1 (crates.io; an S3 server that keeps its data, for restart tests)
#                                                   -> ~/.cache/upgate-tools (or $UPGATE_TOOLS)
# and expects Debian's chromium at /usr/bin/chromium (or $CHROMIUM) for the browser test,
# `redis-server` for the Redis state and cluster tests and nginx at /usr/sbin/nginx (or
# $NGINX) for the compose balancer test (Debian packages; .ci/run installs them).
# Nothing is skipped: a test whose component cannot be installed fails.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

for tool in cargo node npm python3 redis-server; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install it (see README)" >&2; exit 1; }
done

if [ ! -d tests/node/node_modules/tus-js-client ] || [ ! -d tests/node/node_modules/playwright-core ] \
   || [ ! -d tests/node/node_modules/azurite ]; then
  say "installing tus-js-client, playwright-core and azurite (npm ci)"
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! tests/.venv/bin/python -c 'import tusclient, KalturaClient, moto.server, jsonschema, yaml' 2>/dev/null; then
  say "installing tuspy, KalturaApiClient and moto (S3 test server) into tests/.venv"
  python3 -m venv tests/.venv
  tests/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/py/requirements.txt
fi

TOOLS=${UPGATE_TOOLS:-$HOME/.cache/upgate-tools}
export UPGATE_S3S_FS="$TOOLS/bin/s3s-fs"
if [ ! -x "$UPGATE_S3S_FS" ]; then
  say "installing s3s-fs 0.14.1 into $TOOLS (once; several minutes on 2 cores)"
  # Pinned: newer s3s-fs needs a newer rustc than this toolchain.
  cargo install s3s-fs@0.14.1 --locked --features binary --root "$TOOLS" --quiet
fi

say "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

say "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --failure-output final "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
