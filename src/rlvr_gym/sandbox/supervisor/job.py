"""Validation of execute requests: every field checked before anything touches the disk."""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

from .framing import LIMIT_KEYS, check_file_name

# fmt: off
REQUEST_KEYS = frozenset(("id", "op", "files", "compile", "run", "inputs", "limits",
                          "compile_limits", "env", "uid", "stop_on_first_failure"))
# Environment keys that steer the dynamic loader, interpreters, shells, compilers or name
# lookup; dropped from a request's env (and listed in the reply), whatever their case.
_ENV_DENY = re.compile(
    r"(LD_|PYTHON|DYLD_|MALLOC_|GLIBC_|GCONV|BASH_FUNC_|PERL|RUBY|NODE_|JAVA_|_JAVA_|GCC_"
    r"|COMPILER_|GOMP_).*|PATH|HOME|TMPDIR|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|CDPATH"
    r"|GLOBIGNORE|LOCPATH|NLSPATH|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN|TZDIR|LIBRARY_PATH"
    r"|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|DEPENDENCIES_OUTPUT|SUNPRO_DEPENDENCIES",
    re.IGNORECASE,
)
_ENV_ALLOW = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"})
# fmt: on
_MAX_FILES = 1000


class BadRequest(ValueError):
    """The request cannot be executed as given; the message names the field and the fix."""


class Job:
    """A validated execute request, decoded; ``workdir`` and ``env`` are set per request."""

    def __init__(self, msg: dict[str, Any], max_frame_bytes: int) -> None:
        if not REQUEST_KEYS.issuperset(msg):
            raise BadRequest(f"unknown request fields {sorted(set(msg) - REQUEST_KEYS)}")
        files = msg.get("files", {})
        if not isinstance(files, dict) or len(files) > _MAX_FILES:
            raise BadRequest(f"'files' must be an object of at most {_MAX_FILES} entries")
        for name in files:
            reason = check_file_name(name)
            if reason:
                raise BadRequest(reason)
        self.files = {name: _b64(data, f"files[{name!r}]") for name, data in files.items()}
        self.compile = None if msg.get("compile") is None else _argv(msg["compile"], "compile")
        self.run = _argv(msg.get("run"), "run")
        inputs = msg.get("inputs", [""])
        if not isinstance(inputs, list):
            raise BadRequest("'inputs' must be a list of base64 strings")
        self.inputs = [_b64(item, f"inputs[{i}]") for i, item in enumerate(inputs)]
        self.limits = _limits(msg.get("limits"), "limits")
        raw = msg.get("compile_limits")
        self.compile_limits = self.limits if raw is None else _limits(raw, "compile_limits")
        uid = msg.get("uid")
        if uid is not None and (type(uid) is not int or not 0 < uid < 2**31):
            raise BadRequest(f"'uid' must be null or an integer in 1..2**31-1, got {uid!r}")
        if uid is not None and os.geteuid() != 0:
            raise BadRequest("'uid' needs a supervisor running as root; send uid: null")
        self.uid: int | None = uid
        self.stop_on_first_failure = msg.get("stop_on_first_failure", False)
        if not isinstance(self.stop_on_first_failure, bool):
            raise BadRequest("'stop_on_first_failure' must be a boolean")
        self.user_env, self.env_dropped = _env(msg.get("env", {}))
        self.workdir = ""
        self.env: dict[str, str] = {}
        # Every run may return two full streams as base64: refuse up front what cannot fit.
        caps = [self.limits["output_bytes"]] * len(self.inputs)
        caps += [self.compile_limits["output_bytes"]] if self.compile else []
        worst = sum(2 * (int(cap) * 4 // 3 + 1024) for cap in caps)
        if worst > max_frame_bytes:
            raise BadRequest(
                f"{len(self.inputs)} inputs with output_bytes={self.limits['output_bytes']} "
                f"could need a {worst}-byte reply, above the {max_frame_bytes}-byte frame "
                "limit; lower output_bytes or split the batch"
            )


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{what} is not valid base64: {exc}") from None


def _argv(value: object, what: str) -> list[str]:
    if not (
        isinstance(value, list)
        and value
        and value[0]
        and all(isinstance(a, str) and "\x00" not in a for a in value)
    ):
        raise BadRequest(f"'{what}' must be a non-empty list of strings without NUL bytes")
    return value


def _limits(value: object, what: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != set(LIMIT_KEYS):
        raise BadRequest(f"'{what}' must be an object with exactly the keys {list(LIMIT_KEYS)}")
    for key, number in value.items():
        if type(number) not in (int, float) or not 0 < number < 2**62:
            raise BadRequest(f"'{what}.{key}' must be a positive number, got {number!r}")
    if value["memory_bytes"] < 1 << 20:
        raise BadRequest(f"'{what}.memory_bytes' below 1 MiB cannot even start a program")
    return {key: value[key] for key in LIMIT_KEYS}


def _env(value: object) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, dict):
        raise BadRequest("'env' must be an object of strings")
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for key, val in value.items():
        if not key or "=" in key or "\x00" in key or not isinstance(val, str) or "\x00" in val:
            raise BadRequest(f"env entry {key!r} must be a name without '='/NUL and a string")
        if key.upper() not in _ENV_ALLOW and _ENV_DENY.fullmatch(key):
            dropped.append(key)
        else:
            kept[key] = val
    return kept, dropped
