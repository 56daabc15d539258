#!/usr/bin/env bash
# Idempotent Node.js set-up for a machine of this kind (Debian bookworm, root): the
# Node.js gRPC client test (tests/server/node) and `npx` (buf lint) need node and npm.
# Sourced by scripts/test.sh; can also be run on its own: `bash scripts/node.sh`.
#
# - node or npm missing: as root, `apt-get install nodejs npm` (apt-get update only when
#   the package lists do not have them, or a first install attempt fails); not as root,
#   an error saying what to install.
# - `npm ci` in tests/server/node when node_modules is missing or package-lock.json
#   changed since the last install (stamp: node_modules/.rlvr-gym-lock.sha256).
#   Concurrent runs are serialised with flock on that directory.
# Output: one line per action on stderr, nothing when there is nothing to do.

_rlvr_node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/server/node"

_rlvr_node_say() { echo "[node] $*" >&2; }

_rlvr_node_have() { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }

_rlvr_node_aptget() { DEBIAN_FRONTEND=noninteractive apt-get -qq "$@" 2>&1; }

_rlvr_node_apt() {
  # Installs nodejs and npm; prints apt's output only on failure.
  local out rc=0 pkgs=(nodejs npm)
  if ! apt-cache show "${pkgs[@]}" >/dev/null 2>&1; then # lists missing (fresh image)
    out="$(_rlvr_node_aptget update)" || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    out="$(_rlvr_node_aptget install -y --no-install-recommends "${pkgs[@]}")" || rc=$?
    if [ "$rc" -ne 0 ]; then # stale package lists (404s): refresh once and retry
      rc=0
      out="$(_rlvr_node_aptget update && _rlvr_node_aptget install -y --no-install-recommends \
        "${pkgs[@]}")" || rc=$?
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    _rlvr_node_say "error: apt-get install ${pkgs[*]} failed (exit $rc); last lines:"
    printf '%s\n' "$out" | tail -n 15 >&2
    return 1
  fi
}

_rlvr_node_install() {
  _rlvr_node_have && return 0
  if [ "$(id -u)" -ne 0 ]; then
    _rlvr_node_say "error: node and npm are needed (Node.js >= 18); as root run:" \
      "bash scripts/node.sh (or apt-get install nodejs npm)"
    return 1
  fi
  _rlvr_node_say "installing nodejs npm (apt-get)"
  _rlvr_node_apt || return 1
  if ! _rlvr_node_have; then
    _rlvr_node_say "error: apt-get installed nodejs npm but node/npm are not on PATH"
    return 1
  fi
}

_rlvr_node_packages() {
  # npm ci when node_modules is missing or the lock file changed; serialised by flock.
  # (Explicit `|| exit 1`s: under `if !` in the caller, `set -e` is off in here.)
  (
    dir="$_rlvr_node_dir"
    stamp="$dir/node_modules/.rlvr-gym-lock.sha256"
    if [ ! -f "$dir/package-lock.json" ]; then
      _rlvr_node_say "error: $dir/package-lock.json is missing"
      exit 1
    fi
    exec 9<"$dir" || exit 1
    flock -w 600 9 || {
      _rlvr_node_say "error: timed out waiting for the lock on $dir"
      exit 1
    }
    want="$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)" || exit 1
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
      exit 0
    fi
    _rlvr_node_say "npm ci in tests/server/node (node $(node --version))"
    rc=0
    # --ignore-scripts: the two packages are plain JavaScript and need no build step.
    out="$(npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error 2>&1)" ||
      rc=$?
    if [ "$rc" -ne 0 ]; then
      _rlvr_node_say "error: npm ci failed (exit $rc); last lines:"
      printf '%s\n' "$out" | tail -n 20 >&2
      exit 1
    fi
    echo "$want" >"$stamp"
  )
}

if ! { _rlvr_node_install && _rlvr_node_packages; }; then
  unset -f _rlvr_node_say _rlvr_node_have _rlvr_node_aptget _rlvr_node_apt _rlvr_node_install \
    _rlvr_node_packages
  unset _rlvr_node_dir
  # `return` when sourced, `exit` when run as a script.
  # shellcheck disable=SC2317
  return 1 2>/dev/null || exit 1
fi
unset -f _rlvr_node_say _rlvr_node_have _rlvr_node_aptget _rlvr_node_apt _rlvr_node_install \
  _rlvr_node_packages
unset _rlvr_node_dir
