"""Run model-written programs in a locked-down sandbox (Docker, or a process fallback).

For now this package provides the sandbox image (:mod:`rlvr_gym.sandbox.image`, built
without a container registry) and its errors (:mod:`rlvr_gym.sandbox.errors`); the
execution API and its threat model are documented here once they land.
"""
