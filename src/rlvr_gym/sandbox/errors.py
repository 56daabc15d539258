"""Errors raised by :mod:`rlvr_gym.sandbox`; all derive from :class:`SandboxError`."""

from __future__ import annotations

from rlvr_gym.errors import RlvrGymError


class SandboxError(RlvrGymError):
    """Root of every sandbox error: the sandbox itself failed, not the program it ran."""


class DockerUnavailableError(SandboxError):
    """The docker CLI is missing or the Docker daemon cannot be reached."""


class ImageBuildError(SandboxError):
    """The sandbox image could not be built (debootstrap, import or build failed)."""
