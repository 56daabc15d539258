#!/usr/bin/env bash
# Idempotent Docker set-up for a machine of this kind (Debian bookworm, root, no
# container registry). Sourced by scripts/test.sh and scripts/run.sh after
# bootstrap.sh; can also be run on its own: `bash scripts/docker.sh`.
#
# As root it installs what is missing (docker.io for dockerd, debootstrap for the
# sandbox image) and, when `docker info` fails, starts dockerd in the background
# without a bridge or iptables rules (sandboxes need no network):
#   dockerd --bridge=none --iptables=false --ip6tables=false
# log: /var/log/rlvr-gym-dockerd.log, pidfile: /var/run/rlvr-gym-dockerd.pid.
# Not as root it only checks that a daemon is reachable and says what to do if not.
# Output: one line per action on stderr, nothing when there is nothing to do.

_rlvr_docker_log=/var/log/rlvr-gym-dockerd.log
_rlvr_docker_pidfile=/var/run/rlvr-gym-dockerd.pid

_rlvr_docker_say() { echo "[docker] $*" >&2; }

_rlvr_docker_ok() { docker info >/dev/null 2>&1; }

_rlvr_docker_install() {
  # Installs docker.io and/or debootstrap when their commands are missing.
  local pkgs=() out rc policy="/usr/sbin/policy-rc.d" made_policy=0
  command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
  command -v bwrap >/dev/null 2>&1 || pkgs+=(bubblewrap)  # process backend isolation
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  _rlvr_docker_say "installing ${pkgs[*]} (apt-get)"
  # Keep the package's maintainer scripts from starting a daemon with the default
  # (bridge + iptables) configuration: we start our own below.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  out="$(
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq 2>&1 &&
      apt-get install -y -qq --no-install-recommends "${pkgs[@]}" 2>&1
  )"
  rc=$?
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    _rlvr_docker_say "error: apt-get install ${pkgs[*]} failed (exit $rc); last lines:"
    printf '%s\n' "$out" | tail -n 15 >&2
    return 1
  fi
}

_rlvr_docker_running_pid() {
  # Prints the pid of a dockerd we started earlier that is still alive.
  local pid
  [ -f "$_rlvr_docker_pidfile" ] || return 1
  pid="$(cat "$_rlvr_docker_pidfile" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
    echo "$pid"
}

_rlvr_docker_start() {
  local pid i
  if pid="$(_rlvr_docker_running_pid)"; then
    _rlvr_docker_say "waiting for dockerd (pid $pid) to answer"
  else
    if pgrep -x dockerd >/dev/null 2>&1; then
      # Someone else's dockerd (e.g. still starting, or on another socket): wait for it
      # rather than starting a second daemon on the same data root.
      pid="$(pgrep -x dockerd | head -n 1)"
      _rlvr_docker_say "waiting for the running dockerd (pid $pid)"
    else
      _rlvr_docker_say "starting dockerd --bridge=none --iptables=false (log: $_rlvr_docker_log)"
      setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
        --pidfile "$_rlvr_docker_pidfile" \
        >>"$_rlvr_docker_log" 2>&1 </dev/null 9>&- &
      pid=$!
    fi
  fi
  for i in $(seq 1 120); do # 120 x 0.5 s = 60 s
    _rlvr_docker_ok && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      _rlvr_docker_say "error: dockerd (pid $pid) exited during start-up; last lines of $_rlvr_docker_log:"
      tail -n 20 "$_rlvr_docker_log" >&2 2>/dev/null
      return 1
    fi
    sleep 0.5
  done
  _rlvr_docker_say "error: dockerd (pid $pid) did not answer 'docker info' within 60 s; last lines of $_rlvr_docker_log:"
  tail -n 20 "$_rlvr_docker_log" >&2 2>/dev/null
  return 1
}

_rlvr_docker_setup() {
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v docker >/dev/null 2>&1; then
      _rlvr_docker_say "error: the docker CLI is not installed; as root run: bash scripts/docker.sh"
      return 1
    fi
    if ! _rlvr_docker_ok; then
      _rlvr_docker_say "error: docker daemon not reachable ('docker info' failed) and not root:" \
        "start dockerd (as root: bash scripts/docker.sh) or add this user to the docker group"
      return 1
    fi
    command -v debootstrap >/dev/null 2>&1 ||
      _rlvr_docker_say "note: debootstrap is missing; building the sandbox image needs it (and root)"
    return 0
  fi
  # Root: serialise concurrent set-ups (parallel test runs) with a lock.
  (
    exec 9>/var/lock/rlvr-gym-docker.lock
    flock -w 600 9 || {
      _rlvr_docker_say "error: timed out waiting for /var/lock/rlvr-gym-docker.lock"
      exit 1
    }
    _rlvr_docker_install || exit 1
    _rlvr_docker_ok || _rlvr_docker_start || exit 1
  )
}

if ! _rlvr_docker_setup; then
  unset -f _rlvr_docker_say _rlvr_docker_ok _rlvr_docker_install _rlvr_docker_running_pid \
    _rlvr_docker_start _rlvr_docker_setup
  # `return` when sourced, `exit` when run as a script.
  return 1 2>/dev/null || exit 1
fi
unset -f _rlvr_docker_say _rlvr_docker_ok _rlvr_docker_install _rlvr_docker_running_pid \
  _rlvr_docker_start _rlvr_docker_setup
unset _rlvr_docker_log _rlvr_docker_pidfile
