"""Module-level functions for the worker-pool tests.

They live in an importable module (not in the test file) because forkserver workers
unpickle functions by module and name.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time


def square(x: int) -> int:
    return x * x


def fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def spin(_: object) -> None:
    while True:
        pass


def spin_if_negative(x: int) -> int:
    while x < 0:
        pass
    return x


def exit_with(code: int) -> None:
    os._exit(code)


def segfault(_: object) -> None:
    ctypes.string_at(0)


def allocate_mb(mb: int) -> int:
    block = bytearray(mb * 1024 * 1024)
    return len(block)


def getpid(_: object) -> int:
    return os.getpid()


def key_and_pid(item: tuple[str, int]) -> tuple[str, int]:
    return item[0], os.getpid()


def unpicklable_result(_: object) -> object:
    return lambda: None


def quiet_exit(_: object) -> None:
    raise SystemExit(4)


def hold_gil(_: object) -> int:
    """A C loop that never releases the GIL (a stand-in for a huge sympy power)."""
    return sum(range(10**15))


def exit_if_negative(x: int) -> int:
    if x < 0:
        os._exit(-x)
    return x


def has_module(name: str) -> bool:
    return name in sys.modules


def identity(x: object) -> object:
    return x


def pid_unless_negative(x: int) -> tuple[int, int]:
    """``(x, pid)``; -1 spins forever, -2 kills the worker (exit code 3)."""
    while x == -1:
        pass
    if x == -2:
        os._exit(3)
    return x, os.getpid()


def nap_or_spin(seconds: float) -> float:
    """Sleep ``seconds``, or spin forever if negative."""
    while seconds < 0:
        pass
    time.sleep(seconds)
    return seconds


def _refuse_to_load() -> None:
    raise RuntimeError("refuses to load")


class LoadsBadly:
    """Pickles fine in the worker; unpickling it (in the parent) raises."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _refuse_to_load, ()


def unloadable_if_negative(x: int) -> object:
    return LoadsBadly() if x < 0 else x


def key_and_pid_after_nap(item: tuple[str, int]) -> tuple[str, int]:
    time.sleep(0.05)
    return item[0], os.getpid()


def length_after_nap(text: str) -> int:
    time.sleep(0.2)
    return len(text)
