"""Build the service image (``rlvr-gym serve`` in a container) without a container registry.

Why a builder rather than only a Dockerfile: these machines reach PyPI and Debian but no
container registry, so ``FROM python:3.11-slim`` cannot be pulled, and ``docker build``
containers get no network (the daemon runs with ``--bridge=none --iptables=false``). The
image is therefore assembled like the sandbox image (:mod:`rlvr_gym.sandbox.image`), and
``FROM`` the very same debootstrap'd bookworm base, so the two share their 400 MB layer:

1. **base** — the sandbox's imported rootfs image (python3 3.11, glibc 2.36), imported or
   debootstrap'd by the sandbox module's own step if missing. ``force`` does not rebuild
   it: ``rlvr-gym sandbox build --force`` does.
2. **wheels, on the host** — ``pip wheel --no-deps`` of this checkout, and ``pip download
   --only-binary=:all:`` of its dependencies *for the image's interpreter and platform*
   (cp311, ``manylinux_2_17..2_36`` of the engine's architecture), so the host's own
   Python version does not matter. The dependency wheelhouse is cached under
   :func:`~rlvr_gym.sandbox.image.cache_dir`, keyed by ``pyproject.toml``.
3. **docker build --network none** of a generated multi-stage Dockerfile
   (:func:`dockerfile_text`): a ``deps`` stage makes a venv in ``/opt/rlvr-gym`` from the
   wheels (pip itself runs from its wheel: bookworm's minbase has no pip); an ``app``
   stage installs rlvr-gym into it twice: once plainly, so pip checks that the
   dependencies are satisfied, and once under ``--root /stage``, giving a tree of exactly
   the package's files; the final stage copies the venv, then that tree, so a source edit
   costs a ~1 MB layer while the ~200 MB dependency layer stays cached. It adds the
   ``docker`` CLI (copied from the build host, see below), user ``rlvr`` (uid/gid 10002),
   ``EXPOSE 50051 9464``, ``CMD ["rlvr-gym", "serve"]``, and smoke-tests the result at
   build time (``docker --version``, ``rlvr-gym --version``, importing the server).

Why the host's ``docker`` client binary: the service drives the engine through the
``docker`` CLI, and the client this builder itself just used is known to work against
the engine the service will talk to. Debian's ``docker.io`` in the rootfs would add the
daemon, containerd and runc (~150 MB) and need a second debootstrap. A dynamically linked
client needs a glibc no newer than bookworm's; the build's smoke test fails otherwise.

The image is tagged ``rlvr-gym-service:<hash12>`` and ``:latest`` and labelled
``org.rlvr-gym.content-hash=<hash>``; the hash (:func:`service_hash`) covers the recipe
version, the Dockerfile text (hence the base's rootfs hash), the package sources and
``pyproject.toml``, the docker client's bytes and the target interpreter. Dependency
versions are not hashed (as the Debian mirror is not): ``force=True`` re-resolves them.

Who may use the socket: the image runs as the non-root ``rlvr`` user, which can reach a
mounted engine socket only through the socket's group; give the container that group
(``group_add`` in compose, ``supplementalGroups`` or dockerd ``--group`` in Kubernetes).
Where a registry exists, ``deploy/service/Dockerfile`` builds the equivalent image.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import rlvr_gym
from rlvr_gym.sandbox.errors import ImageBuildError

# Private helpers of the sandbox builder, shared on purpose: one lock, one base image, one
# way to run docker and to recognise a cached image.
from rlvr_gym.sandbox.image import (
    CONTENT_HASH_LABEL,
    ImageRecipe,
    _docker,
    _ensure_base,
    _image_id,
    _locked,
    _run_streamed,
    _use_cached,
    base_tag,
    cache_dir,
    ensure_image,
)

__all__ = ["REPOSITORY", "SERVICE_UID", "build_service_image", "dockerfile_text", "service_hash"]

SERVICE_RECIPE_VERSION = 1
"""Bump when this module changes what ends up in the image, to invalidate caches."""

REPOSITORY = "rlvr-gym-service"
SERVICE_UID = 10002
VENV = "/opt/rlvr-gym"
EXTRAS = "grpc,docker"
PORTS = (50051, 9464)
_TARGETS = {"bookworm": ("3.11", 36)}  # suite -> (python3 version, glibc 2.x)
_PIP_TIMEOUT_S = 900.0
_BUILD_TIMEOUT_S = 900.0
_VERSION_LABEL = "org.rlvr-gym.service-recipe-version"

Progress = Callable[[str], None]


def _stderr_progress(message: str) -> None:
    print(f"[service-image] {message}", file=sys.stderr, flush=True)


def project_root() -> Path:
    """The source checkout this package runs from (where ``pyproject.toml`` is).

    Raises:
        ImageBuildError: rlvr-gym is installed from a wheel, not run from a checkout.
    """
    root = Path(rlvr_gym.__file__).resolve().parents[2]  # <root>/src/rlvr_gym/__init__.py
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or 'name = "rlvr-gym"' not in pyproject.read_text("utf-8"):
        raise ImageBuildError(
            f"the service image is built from a source checkout, but rlvr_gym runs from "
            f"{root} (no rlvr-gym pyproject.toml there) — `pip install -e` a checkout, or "
            "build deploy/service/Dockerfile where a registry exists"
        )
    return root


def source_files(root: Path) -> dict[str, bytes]:
    """What the wheel is built from: ``pyproject.toml``, ``README.md`` and ``src/rlvr_gym``."""
    files = {name: (root / name).read_bytes() for name in ("pyproject.toml", "README.md")}
    for path in sorted((root / "src" / "rlvr_gym").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def docker_client() -> Path:
    """The ``docker`` CLI binary copied into the image (the one on ``PATH``)."""
    found = shutil.which("docker")
    if found is None:
        raise ImageBuildError(
            "the docker CLI is not installed — as root run bash scripts/docker.sh"
        )
    return Path(found).resolve()


def dockerfile_text(base: str) -> str:
    """The generated Dockerfile; context: ``pip.whl``, ``wheels/``, ``app/``, ``docker``."""
    pip = f"{VENV}/bin/python /build/pip.whl/pip"
    flags = "--no-index --no-cache-dir --disable-pip-version-check --no-warn-script-location"
    return (
        f"# Generated by rlvr_gym.server.image (recipe v{SERVICE_RECIPE_VERSION}).\n"
        f"FROM {base} AS deps\n"
        "COPY pip.whl /build/pip.whl\n"
        "COPY wheels/ /build/wheels/\n"
        f"RUN python3 -m venv --without-pip {VENV} \\\n"
        f" && {pip} install {flags} --no-deps /build/wheels/*.whl\n"
        "\n"
        "FROM deps AS app\n"
        "COPY app/ /build/app/\n"
        "RUN set -e; set -- /build/app/*.whl; \\\n"
        f'    {pip} install {flags} --find-links /build/wheels "$1[{EXTRAS}]"; \\\n'
        f'    {pip} install {flags} --no-deps --ignore-installed --root /stage "$1"\n'
        "\n"
        f"FROM {base}\n"
        f"RUN groupadd --gid {SERVICE_UID} rlvr \\\n"
        f" && useradd --uid {SERVICE_UID} --gid {SERVICE_UID} --create-home \\\n"
        "      --home-dir /home/rlvr --shell /usr/sbin/nologin rlvr\n"
        f"COPY --from=deps {VENV} {VENV}\n"
        "COPY docker /usr/local/bin/docker\n"
        "COPY --from=app /stage/ /\n"
        f"ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\\n"
        "    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8\n"
        "RUN docker --version && rlvr-gym --version \\\n"
        ' && python -c "import grpc_health.v1.health, rlvr_gym.server.app"\n'
        f"EXPOSE {' '.join(str(p) for p in PORTS)}\n"
        f"USER {SERVICE_UID}:{SERVICE_UID}\n"
        "WORKDIR /home/rlvr\n"
        'CMD ["rlvr-gym", "serve"]\n'
    )


def _sha256_files(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _target(recipe: ImageRecipe) -> tuple[str, int]:
    if recipe.suite not in _TARGETS:
        raise ImageBuildError(
            f"no wheel target known for base suite {recipe.suite!r} — add its python3 "
            "version and glibc to rlvr_gym.server.image._TARGETS"
        )
    return _TARGETS[recipe.suite]


def service_hash(sources: dict[str, bytes], client: Path, recipe: ImageRecipe) -> str:
    """Full sha256 of everything that decides the image (dependency versions aside)."""
    python, glibc = _target(recipe)
    doc = "\0".join(
        [
            f"v{SERVICE_RECIPE_VERSION}",
            f"python{python} glibc2.{glibc}",
            dockerfile_text(base_tag(recipe)),
            _sha256_files(sources),
            hashlib.sha256(client.read_bytes()).hexdigest(),
        ]
    )
    return hashlib.sha256(doc.encode()).hexdigest()


def build_service_image(*, force: bool = False, progress: Progress | None = None) -> str:
    """Make sure the service image for this checkout exists; return its tag.

    Also makes sure the sandbox image exists on the engine (not rebuilt by ``force``):
    the service's code envs run programs in it, as sibling containers on the same engine.
    Fast path (both images cached): a few ``docker`` calls and hashing, well under a
    second. Builds take the sandbox builder's lock around the shared base image.

    Args:
        force: re-resolve the dependency wheels and rebuild without Docker's layer cache.
        progress: receives one-line progress messages; default: printed to stderr.

    Returns:
        The tag ``rlvr-gym-service:<hash12>`` (``rlvr-gym-service:latest`` points there).

    Raises:
        DockerUnavailableError: the docker CLI is missing or the daemon unreachable.
        ImageBuildError: not run from a source checkout, or a build step failed.
    """
    say = progress or _stderr_progress
    ensure_image(progress=say)
    recipe = ImageRecipe()
    root = project_root()
    sources, client = source_files(root), docker_client()
    digest = service_hash(sources, client, recipe)
    tag, latest = f"{REPOSITORY}:{digest[:12]}", f"{REPOSITORY}:latest"
    if not force and _use_cached(digest, tag, latest, say):
        return tag
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / "service-image.lock", say):
        if not force and _use_cached(digest, tag, latest, say):  # built while we waited
            return tag
        started = time.monotonic()
        old = _image_id(tag) if force else None
        with _locked(directory / "image.lock", say):  # the sandbox builder's lock
            base = _ensure_base(recipe, directory, force=False, say=say)
        with tempfile.TemporaryDirectory(prefix="rlvr-gym-service-") as tmp:
            context = Path(tmp) / "context"
            _wheels(sources, recipe, Path(tmp), context, directory, force=force, say=say)
            (context / "Dockerfile").write_text(dockerfile_text(base), encoding="utf-8")
            shutil.copy2(client, context / "docker")
            say(f"docker build {tag} FROM {base} (network none)")
            labels = {CONTENT_HASH_LABEL: digest, _VERSION_LABEL: str(SERVICE_RECIPE_VERSION)}
            cmd = ["docker", "build", "--network", "none", "--tag", tag, "--tag", latest]
            cmd += [arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")]
            cmd += [*(["--no-cache"] if force else []), str(context)]
            _run_streamed(
                cmd,
                step="docker build",
                timeout=_BUILD_TIMEOUT_S,
                report=lambda line: line.startswith("Step "),
                say=say,
            )
        new = _image_id(tag)
        if old and old != new:
            _docker("rmi", old)  # best effort: an image still in use is kept
        say(f"built {tag} in {time.monotonic() - started:.1f} s")
    return tag


def _wheels(
    sources: dict[str, bytes],
    recipe: ImageRecipe,
    work: Path,
    context: Path,
    cache: Path,
    *,
    force: bool,
    say: Progress,
) -> None:
    """Fills ``context`` with ``app/`` (this checkout's wheel), ``wheels/`` and ``pip.whl``.

    The wheel is built from a copy of the hashed ``sources``, not the live tree, so the
    image holds exactly the bytes its content-hash label stands for.
    """
    python, glibc = _target(recipe)
    arch = _docker("info", "--format", "{{.Architecture}}").stdout.strip() or os.uname().machine
    tree, app = work / "tree", context / "app"
    for name, data in sources.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    say("pip wheel --no-deps (this checkout)")
    _pip("wheel", "--no-deps", "--wheel-dir", str(app), str(tree), cwd=work, say=say)
    wheel = next(app.glob("rlvr_gym-*.whl"))
    key = hashlib.sha256(
        f"{SERVICE_RECIPE_VERSION}\0{python}\0{glibc}\0{arch}\0".encode()
        + sources["pyproject.toml"]
    ).hexdigest()[:12]
    store = cache / f"service-wheels-{key}"
    if force or not (store / "pip.whl").is_file():
        say(f"pip download: dependencies for cp{python.replace('.', '')} {arch} glibc 2.{glibc}")
        partial = Path(tempfile.mkdtemp(prefix="service-wheels-", dir=cache))
        platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 16, -1)]
        platforms += [f"manylinux2014_{arch}"]
        try:
            _pip(
                "download", "--dest", str(partial / "wheels"), "--only-binary=:all:",
                "--python-version", python, "--implementation", "cp",
                "--abi", f"cp{python.replace('.', '')}",
                *(arg for p in platforms for arg in ("--platform", p)),
                f"rlvr-gym[{EXTRAS}] @ {wheel.as_uri()}", "pip",
                cwd=work, say=say,
            )  # fmt: skip
            for own in (partial / "wheels").glob("rlvr_gym-*.whl"):
                own.unlink()
            pip_wheel = next((partial / "wheels").glob("pip-*.whl"))
            shutil.copy2(pip_wheel, partial / "pip.whl")
            shutil.rmtree(store, ignore_errors=True)
            os.replace(partial, store)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    else:
        say(f"dependency wheels are cached ({store.name})")
    shutil.copytree(store / "wheels", context / "wheels")
    shutil.copy2(store / "pip.whl", context / "pip.whl")


def _pip(*args: str, cwd: Path, say: Progress) -> None:
    _run_streamed(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        step=f"pip {args[0]}",
        timeout=_PIP_TIMEOUT_S,
        report=lambda line: line.startswith("ERROR"),
        say=say,
        cwd=cwd,
    )
