#!/usr/bin/env bash
# Runs the main job on its embedded defaults after idempotent set-up.
# Starts the gRPC reward service on its defaults (Docker sandbox for code), scores sample
# math and code responses over gRPC with the typed client, and prints a table.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bootstrap.sh
source "$ROOT/scripts/bootstrap.sh"
# shellcheck source=docker.sh
source "$ROOT/scripts/docker.sh"  # code samples run in the Docker sandbox
cd "$ROOT"
rlvr-gym sandbox build >/dev/null
exec rlvr-gym demo "$@"
