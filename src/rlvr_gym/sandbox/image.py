"""Build the sandbox image without a container registry.

Where no registry can be reached (Docker Hub included), the image is made from scratch
in three steps, each cached:

1. **rootfs** — ``debootstrap --variant=minbase <suite>`` with ``--include`` of the
   recipe's packages (python3, python3-numpy, g++, libc6-dev by default) into a temporary
   directory, trimmed (docs, man pages, apt caches, the host's resolv.conf/hostname) and
   packed as a tarball under ``~/.cache/rlvr-gym/`` (``$XDG_CACHE_HOME`` and
   ``$RLVR_GYM_CACHE_DIR`` are honoured). Needs root and ``debootstrap`` once; downloaded
   ``.deb`` files are kept in the cache too, so ``--force`` rebuilds reuse them.
2. **base image** — ``docker import`` of that tarball as
   ``rlvr-gym-sandbox-base:<rootfs-hash12>``.
3. **final image** — ``docker build --network none`` of a generated Dockerfile
   (:func:`dockerfile_text`) ``FROM`` the base image that adds the in-container
   supervisor package as ``/opt/rlvr/supervisor/``, a non-root ``sandbox`` user (uid/gid
   10001), a ``/work`` mount point, ``PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1`` and
   ``CMD ["python3", "-I", "/opt/rlvr/supervisor"]``; tagged
   ``rlvr-gym-sandbox:<hash12>`` and ``rlvr-gym-sandbox:latest`` and labelled
   ``org.rlvr-gym.content-hash=<hash>``.

The content hash (:func:`recipe_hash`) covers everything that decides the image's
contents: this module's :data:`RECIPE_VERSION`, suite, variant, package list, uid, the
Dockerfile text and the supervisor's sources. When an image carrying that label exists,
:func:`ensure_image` returns at once; the rootfs tarball and base image are keyed by the
subset that shapes the rootfs (version, suite, variant, packages), so editing the
supervisor only re-runs step 3 (seconds). The mirror is not hashed: every Debian mirror
serves the same suite. A rebuild with ``force=True`` re-runs all three steps, picking up
Debian's (security) updates.

Where a registry *is* reachable, the same image comes from the Dockerfile in
``deploy/sandbox/Dockerfile`` (``FROM debian:bookworm-slim``, ``apt-get install`` of the
same packages, the same user, environment and ``CMD``)::

    docker build -f deploy/sandbox/Dockerfile -t rlvr-gym-sandbox:latest src/rlvr_gym

(the build context is the package directory: the supervisor and the preloaded modules).
That image carries no content-hash label, so :func:`ensure_image` does not recognise it;
pass its tag to the sandbox explicitly instead.

Docker is driven through its CLI (``docker`` on ``PATH``); no SDK is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox.errors import DockerUnavailableError, ImageBuildError, SandboxError

__all__ = [
    "CONTENT_HASH_LABEL",
    "DEFAULT_PACKAGES",
    "RECIPE_VERSION",
    "ImageRecipe",
    "cache_dir",
    "dockerfile_text",
    "ensure_image",
    "image_exists",
    "recipe_hash",
]

RECIPE_VERSION = 1
"""Bump when this module changes what ends up in the image, to invalidate caches."""

CONTENT_HASH_LABEL = "org.rlvr-gym.content-hash"
ROOTFS_HASH_LABEL = "org.rlvr-gym.rootfs-hash"
DEFAULT_PACKAGES: tuple[str, ...] = ("python3", "python3-numpy", "g++", "libc6-dev")
SANDBOX_UID = 10001
SUPERVISOR_IN_IMAGE = "/opt/rlvr/supervisor"
PRELOAD_IN_IMAGE = "/opt/rlvr/preload"
"""Trusted modules the zygote imports before any request (the call judge's harness)."""
_PRELOAD = {  # name in the image -> (package, resource)
    "rlvr_harness.py": ("rlvr_gym.rewards.code", "harness.py"),
    "rlvr_wire.py": ("rlvr_gym.rewards.code", "wire.py"),
}

DEBOOTSTRAP_TIMEOUT_S = 1800.0
IMPORT_TIMEOUT_S = 600.0
BUILD_TIMEOUT_S = 600.0

_DOCKER_FIX = "start it (as root: `bash scripts/docker.sh`) or set DOCKER_HOST"
_PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_SUITE_RE = re.compile(r"[a-z][a-z0-9-]*")
_REPOSITORY_RE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
# Rootfs paths dropped before packing: not needed to run programs, or host-specific.
_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into the sandbox image.

    Attributes:
        suite: Debian suite passed to debootstrap.
        packages: Debian packages installed on top of minbase (``--include``).
        mirror: Debian mirror debootstrap downloads from (not part of the hash).
        variant: debootstrap variant.
        uid: uid and gid of the unprivileged ``sandbox`` user.
        repository: image repository name; tags are ``<repository>:<hash12>`` and
            ``<repository>:latest``, the base image is ``<repository>-base:<hash12>``.
        supervisor: directory of the supervisor package to copy in (its ``*.py`` files);
            ``None`` means the one shipped in this package (``rlvr_gym/sandbox/supervisor``).
    """

    suite: str = "bookworm"
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    mirror: str = "http://deb.debian.org/debian"
    variant: str = "minbase"
    uid: int = SANDBOX_UID
    repository: str = "rlvr-gym-sandbox"
    supervisor: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.packages, str) or not self.packages:
            raise ConfigError("ImageRecipe.packages must be a non-empty tuple of package names")
        object.__setattr__(self, "packages", tuple(self.packages))
        for name in self.packages:
            if not isinstance(name, str) or not _PACKAGE_RE.fullmatch(name):
                raise ConfigError(f"ImageRecipe.packages: {name!r} is not a Debian package name")
        if not _SUITE_RE.fullmatch(self.suite):
            raise ConfigError(f"ImageRecipe.suite: {self.suite!r} is not a Debian suite name")
        if not _SUITE_RE.fullmatch(self.variant):
            raise ConfigError(f"ImageRecipe.variant: {self.variant!r} is not a variant name")
        if not self.mirror.startswith(("http://", "https://", "file:/")):
            raise ConfigError(f"ImageRecipe.mirror: {self.mirror!r} is not a http(s)/file URL")
        if not 1 <= self.uid < 2**31:
            raise ConfigError(f"ImageRecipe.uid: {self.uid} is not a non-root uid")
        if not _REPOSITORY_RE.fullmatch(self.repository):
            raise ConfigError(f"ImageRecipe.repository: {self.repository!r} is not a valid name")


def cache_dir() -> Path:
    """Directory for rootfs tarballs and downloaded packages (created on demand)."""
    explicit = os.environ.get("RLVR_GYM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rlvr-gym"


def supervisor_files(recipe: ImageRecipe) -> dict[str, bytes]:
    """The supervisor package the image will contain: file name -> bytes, sorted by name."""
    where = recipe.supervisor or "rlvr_gym/sandbox/supervisor"
    try:
        if recipe.supervisor is not None:
            paths = [(p.name, p.read_bytes()) for p in recipe.supervisor.glob("*.py")]
        else:
            root = resources.files("rlvr_gym.sandbox").joinpath("supervisor")
            paths = [(p.name, p.read_bytes()) for p in root.iterdir() if p.name.endswith(".py")]
    except OSError as exc:
        raise SandboxError(
            f"cannot read the in-container supervisor {str(where)!r}: {exc.strerror or exc} — "
            "reinstall rlvr-gym, or point ImageRecipe.supervisor at the package directory"
        ) from None
    if not any(name == "__main__.py" for name, _ in paths):
        raise SandboxError(
            f"the supervisor directory {str(where)!r} has no __main__.py — point "
            "ImageRecipe.supervisor at the package directory (rlvr_gym/sandbox/supervisor)"
        )
    return dict(sorted(paths))


def context_files(recipe: ImageRecipe) -> dict[str, bytes]:
    """Every file of the final image's build context, by path in the context.

    ``sandbox/supervisor/*.py`` (the supervisor) and ``rewards/code/{harness,wire}.py``
    (preloaded by the zygote): the layout of ``src/rlvr_gym``, so the registry
    Dockerfile builds from that directory with the same ``COPY`` lines.
    """
    files = {f"sandbox/supervisor/{n}": data for n, data in supervisor_files(recipe).items()}
    for package, resource in _PRELOAD.values():
        path = f"{package.removeprefix('rlvr_gym.').replace('.', '/')}/{resource}"
        try:
            files[path] = resources.files(package).joinpath(resource).read_bytes()
        except OSError as exc:
            raise SandboxError(f"cannot read {path!r} for the image: {exc}") from None
    return files


def _files_sha256(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _sha256_json(doc: dict[str, object]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def rootfs_hash(recipe: ImageRecipe) -> str:
    """Hash of what shapes the debootstrap rootfs (keys its tarball and base image)."""
    return _sha256_json(
        {
            "recipe_version": RECIPE_VERSION,
            "suite": recipe.suite,
            "variant": recipe.variant,
            "packages": sorted(set(recipe.packages)),
        }
    )


def base_tag(recipe: ImageRecipe) -> str:
    """Tag of the imported rootfs image the final image is built ``FROM``."""
    return f"{recipe.repository}-base:{rootfs_hash(recipe)[:12]}"


def dockerfile_text(recipe: ImageRecipe) -> str:
    """The Dockerfile of the final image (build context: itself + :func:`context_files`)."""
    uid = recipe.uid
    return (
        f"# Generated by rlvr_gym.sandbox.image (recipe v{RECIPE_VERSION}).\n"
        f"FROM {base_tag(recipe)}\n"
        f"RUN groupadd --gid {uid} sandbox \\\n"
        f" && useradd --uid {uid} --gid {uid} --home-dir /work --no-create-home \\\n"
        "      --shell /usr/sbin/nologin sandbox \\\n"
        " && mkdir -p /work /opt/rlvr \\\n"
        f" && chown {uid}:{uid} /work\n"
        f"COPY sandbox/supervisor/*.py {SUPERVISOR_IN_IMAGE}/\n"
        + "".join(
            f"COPY {package.removeprefix('rlvr_gym.').replace('.', '/')}/{resource} "
            f"{PRELOAD_IN_IMAGE}/{name}\n"
            for name, (package, resource) in sorted(_PRELOAD.items())
        )
        + "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8\n"
        "WORKDIR /work\n"
        f"USER {uid}:{uid}\n"
        f'CMD ["python3", "-I", "{SUPERVISOR_IN_IMAGE}"]\n'
    )


def recipe_hash(recipe: ImageRecipe, files: dict[str, bytes] | None = None) -> str:
    """Full sha256 of everything that decides the final image's contents.

    Pure (reads the sources, never Docker): recipe version, suite, variant, package list,
    uid, Dockerfile text and the build context (supervisor and preloaded modules).

    Args:
        recipe: the image recipe.
        files: the build context files, if already read (default: read them now).
    """
    if files is None:
        files = context_files(recipe)
    return _sha256_json(
        {
            "recipe_version": RECIPE_VERSION,
            "suite": recipe.suite,
            "variant": recipe.variant,
            "packages": sorted(set(recipe.packages)),
            "uid": recipe.uid,
            "dockerfile": dockerfile_text(recipe),
            "context_sha256": _files_sha256(files),
        }
    )


# --------------------------------------------------------------------------- docker CLI


def _docker(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Runs ``docker ARGS``; raises only when Docker itself is unusable."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # legacy builder: no buildx needed
    try:
        proc = subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise DockerUnavailableError(
            "the docker CLI is not installed — as root run `bash scripts/docker.sh` "
            "(installs docker.io and starts dockerd)"
        ) from None
    except subprocess.TimeoutExpired:
        raise DockerUnavailableError(
            f"`docker {args[0]}` did not answer within {timeout:.0f} s — is dockerd hung? "
            "See /var/log/rlvr-gym-dockerd.log"
        ) from None
    if proc.returncode != 0 and _daemon_unreachable(proc.stderr):
        raise DockerUnavailableError(
            f"docker daemon not reachable ({proc.stderr.strip().splitlines()[-1]}) — {_DOCKER_FIX}"
        )
    return proc


def _daemon_unreachable(stderr: str) -> bool:
    text = stderr.lower()
    return any(
        s in text
        for s in (
            "cannot connect to the docker daemon",
            "is the docker daemon running",
            "permission denied while trying to connect",
            "error during connect",
        )
    )


def image_exists(tag: str) -> bool:
    """Whether the daemon has an image called ``tag`` (raises if Docker is unusable)."""
    return _docker("image", "inspect", "--format", "{{.Id}}", tag).returncode == 0


def _image_id(ref: str) -> str | None:
    proc = _docker("image", "inspect", "--format", "{{.Id}}", ref)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _image_label(ref: str, label: str) -> str | None:
    proc = _docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', ref)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _images_with_label(label: str, value: str) -> list[str]:
    proc = _docker("images", "--quiet", "--no-trunc", "--filter", f"label={label}={value}")
    return proc.stdout.split() if proc.returncode == 0 else []


def _tag(image: str, *tags: str) -> None:
    for tag in tags:
        proc = _docker("tag", image, tag)
        if proc.returncode != 0:
            raise ImageBuildError(f"`docker tag {image} {tag}` failed: {proc.stderr.strip()}")


# --------------------------------------------------------------------------- ensure_image


def _stderr_progress(message: str) -> None:
    print(f"[sandbox-image] {message}", file=sys.stderr, flush=True)


def ensure_image(
    recipe: ImageRecipe | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> str:
    """Make sure the sandbox image for ``recipe`` exists; return its tag.

    Fast path (image with the recipe's content-hash label present): two ``docker``
    calls, no build; ``<repository>:latest`` is pointed at it. Otherwise builds the
    missing steps (see the module docstring) under a file lock, so concurrent callers
    build once.

    Args:
        recipe: the image recipe; ``ImageRecipe()`` by default.
        force: rebuild everything (new debootstrap, re-import, no layer cache).
        progress: receives one-line progress messages; default: printed to stderr.

    Returns:
        The tag ``<repository>:<hash12>``.

    Raises:
        DockerUnavailableError: the docker CLI is missing or the daemon unreachable.
        ImageBuildError: a build step failed (the message has the tool's last lines).
        SandboxError: the supervisor source cannot be read.
    """
    recipe = recipe or ImageRecipe()
    say = progress or _stderr_progress
    files = context_files(recipe)  # read once: the bytes hashed are the bytes copied
    digest = recipe_hash(recipe, files)
    tag = f"{recipe.repository}:{digest[:12]}"
    latest = f"{recipe.repository}:latest"
    if not force and _use_cached(digest, tag, latest, say):
        return tag
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / "image.lock", say):
        if not force and _use_cached(digest, tag, latest, say):  # built while we waited
            return tag
        old = _image_id(tag) if force else None
        started = time.monotonic()
        base = _ensure_base(recipe, directory, force=force, say=say)
        _build_final(recipe, digest, files, base, (tag, latest), force=force, say=say)
        new = _image_id(tag)
        if old and old != new:
            _docker("rmi", old)  # best effort: an image still in use is kept
        say(f"built {tag} in {time.monotonic() - started:.1f} s")
    return tag


def _use_cached(digest: str, tag: str, latest: str, say: Progress) -> bool:
    if _image_label(tag, CONTENT_HASH_LABEL) == digest:
        _tag(tag, latest)
        say(f"{tag} is cached (content hash {digest[:12]} unchanged)")
        return True
    found = _images_with_label(CONTENT_HASH_LABEL, digest)
    if found:
        _tag(found[0], tag, latest)
        say(f"{tag} is cached (found by its content-hash label)")
        return True
    return False


@contextlib.contextmanager
def _locked(path: Path, say: Progress) -> Iterator[None]:
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another process is building the image; waiting for {path}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_base(recipe: ImageRecipe, directory: Path, *, force: bool, say: Progress) -> str:
    """Imports the rootfs tarball (building it if needed); returns the base tag."""
    tag = base_tag(recipe)
    digest = rootfs_hash(recipe)
    if not force and _image_label(tag, ROOTFS_HASH_LABEL) == digest:
        say(f"base image {tag} is cached")
        return tag
    tarball = directory / f"rootfs-{recipe.suite}-{recipe.variant}-{digest[:12]}.tar"
    if force or not tarball.is_file():
        _build_rootfs(recipe, directory, tarball, say)
    else:
        say(f"rootfs tarball {tarball} is cached")
    say(f"importing {tarball.name} as {tag}")
    started = time.monotonic()
    _run_streamed(
        [
            "docker",
            "import",
            "--change",
            f"LABEL {ROOTFS_HASH_LABEL}={digest}",
            "--message",
            f"rlvr-gym sandbox rootfs ({recipe.suite} {recipe.variant})",
            str(tarball),
            tag,
        ],
        step="docker import",
        timeout=IMPORT_TIMEOUT_S,
        report=lambda line: False,
        say=say,
    )
    say(f"imported {tag} in {time.monotonic() - started:.1f} s")
    return tag


def _build_rootfs(recipe: ImageRecipe, directory: Path, tarball: Path, say: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is not installed — as root run `bash scripts/docker.sh` (installs it) "
            "or `apt-get install debootstrap`; where a registry exists, build "
            "deploy/sandbox/Dockerfile instead"
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "building the sandbox rootfs needs root (debootstrap chroots and creates device "
            "nodes) — run `rlvr-gym sandbox build` once as root (the image is then in the "
            "Docker daemon for every user), or build deploy/sandbox/Dockerfile where a "
            "registry exists"
        )
    debs = (directory / "debs").resolve()  # debootstrap wants an absolute path
    debs.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=directory))
    root = work / "root"
    try:
        say(
            f"debootstrap --variant={recipe.variant} {recipe.suite} "
            f"+ {','.join(recipe.packages)} (about a minute)"
        )
        started = time.monotonic()
        _run_streamed(
            [
                "debootstrap",
                f"--variant={recipe.variant}",
                f"--include={','.join(recipe.packages)}",
                f"--cache-dir={debs}",
                recipe.suite,
                str(root),
                recipe.mirror,
            ],
            step="debootstrap",
            timeout=DEBOOTSTRAP_TIMEOUT_S,
            report=_debootstrap_milestone,
            say=say,
        )
        say(f"debootstrap finished in {time.monotonic() - started:.1f} s; packing rootfs")
        _trim_rootfs(root)
        partial = tarball.with_suffix(".tar.partial")
        _run_streamed(
            [
                "tar",
                "--create",
                f"--file={partial}",
                f"--directory={root}",
                "--numeric-owner",
                "--sort=name",
                "--exclude=./dev/*",
                "--exclude=./proc/*",
                "--exclude=./sys/*",
                ".",
            ],
            step="tar",
            timeout=IMPORT_TIMEOUT_S,
            report=lambda line: False,
            say=say,
        )
        os.replace(partial, tarball)
        size_mb = tarball.stat().st_size / 2**20
        say(f"rootfs tarball {tarball.name}: {size_mb:.0f} MiB")
    finally:
        _remove_tree(work)


def _debootstrap_milestone(line: str) -> bool:
    """Which debootstrap lines to show: phases and problems, not per-package noise."""
    return line.startswith(("W:", "E:")) or line.endswith(
        ("packages...", "system...", "successfully.")
    )


def _trim_rootfs(root: Path) -> None:
    for rel in _TRIM:
        target = root / rel
        if target.is_dir() and not target.is_symlink():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    for rel in ("etc/resolv.conf", "etc/hostname"):  # copied from the host; Docker sets them
        target = root / rel
        if target.is_symlink() or target.exists():
            target.unlink()
            target.write_text("")


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split(" ")[4])
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _remove_tree(work: Path) -> None:
    """Removes a debootstrap target, first unmounting anything a failed run left there."""
    for point in _mounts_under(work):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    left = _mounts_under(work)
    if left:  # never rm -rf through a bind mount of the host's /proc, /sys or /dev
        raise ImageBuildError(
            f"could not unmount {', '.join(left)}; left {work} in place — unmount and remove it"
        )
    shutil.rmtree(work, ignore_errors=True)


def _run_streamed(
    cmd: Sequence[str],
    *,
    step: str,
    timeout: float,
    report: Callable[[str], bool],
    say: Progress,
    cwd: Path | None = None,
) -> None:
    """Runs ``cmd``, passing the lines ``report`` selects to ``say``; kills it at timeout."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        if cmd[0] == "docker":
            _docker("version")  # raises the helpful "not installed" error
        raise ImageBuildError(f"{cmd[0]} is not installed — needed for the {step} step") from None
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)

    timer = threading.Timer(timeout, kill)
    timer.start()
    tail: deque[str] = deque(maxlen=25)
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if not line:
                continue
            tail.append(line)
            if report(line):
                say(f"  {line}")
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
    if timed_out.is_set():
        raise ImageBuildError(f"{step} did not finish within {timeout:.0f} s and was killed")
    if rc != 0:
        text = "\n".join(tail)
        if cmd[0] == "docker" and _daemon_unreachable(text):
            raise DockerUnavailableError(
                f"docker daemon not reachable during {step} — {_DOCKER_FIX}"
            )
        raise ImageBuildError(f"{step} failed (exit {rc}); last output:\n{text}")


def _build_final(
    recipe: ImageRecipe,
    digest: str,
    files: dict[str, bytes],
    base: str,
    tags: tuple[str, str],
    *,
    force: bool,
    say: Progress,
) -> None:
    say(f"docker build {tags[0]} FROM {base} (network none)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rlvr-gym-image-") as context:
        ctx = Path(context)
        (ctx / "Dockerfile").write_text(dockerfile_text(recipe), encoding="utf-8")
        for name, data in files.items():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            (ctx / name).write_bytes(data)
            (ctx / name).chmod(0o644)
        cmd = [
            "docker",
            "build",
            "--network",
            "none",
            "--label",
            f"{CONTENT_HASH_LABEL}={digest}",
            "--label",
            f"org.rlvr-gym.recipe-version={RECIPE_VERSION}",
            *(["--no-cache"] if force else []),
            *(arg for tag in tags for arg in ("--tag", tag)),
            str(ctx),
        ]
        _run_streamed(
            cmd,
            step="docker build",
            timeout=BUILD_TIMEOUT_S,
            report=lambda line: line.startswith("Step "),
            say=say,
        )
    say(f"docker build finished in {time.monotonic() - started:.1f} s")
