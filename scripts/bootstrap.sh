#!/usr/bin/env bash
# Idempotent set-up for a fresh machine of this kind (root, Python only): creates
# .venv, installs the package with its dev extras, and re-installs only when
# pyproject.toml changed. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RLVR_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating virtualenv at $VENV" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

stamp="$VENV/.rlvr-gym-installed"
want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing rlvr-gym and its dependencies" >&2
  # torch first, pinned to the CPU build on this machine's disk; the package's range
  # (which admits it) then installs nothing more.
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q "torch==2.13.0" 2> >(grep -v "is ignored: it is neither" >&2)
  fi
  "$VENV/bin/python" -m pip install -q -e "$ROOT[all,dev]" 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" > "$stamp"
fi

export PATH="$VENV/bin:$PATH"
