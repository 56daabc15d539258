#!/usr/bin/env bash
# Runs the whole test suite (lint, types, tests) after idempotent set-up.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k math`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bootstrap.sh
source "$ROOT/scripts/bootstrap.sh"
# shellcheck source=docker.sh
source "$ROOT/scripts/docker.sh"  # sandbox tests need a real daemon (installed and started here)
# shellcheck source=node.sh
source "$ROOT/scripts/node.sh"  # node+npm (npx for buf lint) and the Node.js client test's packages
# shellcheck source=compose.sh
source "$ROOT/scripts/compose.sh"  # deploy tests: the docker compose v2 plugin
cd "$ROOT"
echo "[test] sandbox image" >&2
rlvr-gym sandbox build >/dev/null

echo "[test] ruff" >&2
ruff check src tests bench examples
echo "[test] buf lint (proto/, STANDARD)" >&2
if ! command -v npx >/dev/null 2>&1; then
  echo "[test] npx (Node.js/npm) is needed for buf lint: apt-get install nodejs npm" >&2
  exit 1
fi
npx --yes @bufbuild/buf@1.75.0 lint 2> >(grep -v "npm warn" >&2)
echo "[test] mypy" >&2
mypy
echo "[test] pytest" >&2
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
