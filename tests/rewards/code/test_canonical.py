"""Every canonical solution earns full reward; programs made wrong from them earn none.

The reward is judged from both ends on the real public datasets: the reference solutions
of HumanEval, MBPP (sanitized) and MBPP+ must score 1, and mutants generated with ``ast``
from the HumanEval references must score 0 with status ``incorrect`` (never
``infra_error``, which would be masked instead of trained on). Three kinds of mutant:

* wrong return: every ``return X`` of the entry point becomes ``return _mutate(X)``, a
  prepended helper that perturbs a value without changing its type;
* off by one: the first integer constant (``k`` -> ``k + 1``) or ordering comparison
  (``<`` <-> ``<=``, ``>`` <-> ``>=``) of the entry point's body, in source order;
* missing function: the entry point's ``def`` removed, or renamed.

Off-by-one mutants that still pass are listed below, each with the reason: either the
mutant is equivalent, or HumanEval's tests miss the input that tells it apart (shown by
judging it on that input, with the expected value computed from the canonical solution).
Reference solutions the judge cannot pass are listed too, each with a repair that makes
it pass, which confirms the diagnosis.

MBPP+ states inputs only; the reward computes expected values by running the reference,
so its references passing checks that judging is deterministic (the harness fixes
``PYTHONHASHSEED``, for set order). Its inputs are JSON, rebuilt by the loader to the
types of MBPP's asserts (tuples, sets, complex numbers): references that could not use
them as decoded now pass on every case, and every reference called on its rebuilt base
inputs returns what MBPP's asserts state for those arguments (bar two references EvalPlus
rewrote). Wrong-return mutants of 50
MBPP+ references must score 0 as well, and with partial credit a reference wrong on every
second call earns the fraction of tests it passed.

Speed: one module-scoped pool of two containers (the call-judge tests' fixture, with its
leak check) and batches, so both containers stay busy. The whole of MBPP+ is marked
``slow``; the default run judges a deterministic quarter of it.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import tests.rewards.code.test_call_judge as call_judge_tests
import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.rewards.code._asserts import split_asserts
from rlvr_gym.rewards.code.call_judge import CallJudgeConfig
from rlvr_gym.rewards.code.datasets import load_humaneval, load_mbpp_plus, load_mbpp_sanitized
from rlvr_gym.rewards.code.reward import CodeConfig, CodeReward
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.sandbox.api import Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits
from tests.rewards.code.test_datasets import MBPP_PLUS, typed

image = pool_tests.image  # builds or reuses the sandbox image
sandbox = call_judge_tests.sandbox  # Sandbox("docker", pool_size=2), module-scoped, leak-checked
pytestmark = [pytest.mark.docker, pool_tests.needs_docker]

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "code"
# The response is the program. Time limits are generous: a few references take seconds
# per call (Mbpp/123, Mbpp/599), and other jobs may share the machine; what is tested here
# is the verdict, not speed. Stopping at the first call that raises or times out only
# shortens mutant runs; a passing verdict is the same either way.
LIMITS = ExecutionLimits(cpu_s=120, wall_s=240, output_bytes=4 << 20)
CALLS = CallJudgeConfig(call_timeout_s=30.0, load_timeout_s=30.0, limits=LIMITS)
CONFIG = CodeConfig(call=CALLS, extract=False, stop_on_first_failure=True)

MBPP_KNOWN_BROKEN = {
    "Mbpp/737": "returns re.search's Match object (truthy) or None; `assert check_str(...)` "
    "needs the value in the test process, and a Match is not plain data",
    "Mbpp/787": "returns a Match object, like Mbpp/737",
    "Mbpp/794": "returns a Match object, like Mbpp/737",
}
# None: since the loader rebuilds MBPP+ inputs to the types of MBPP's asserts (tuples,
# sets, complex numbers; see MBPPPLUS_REBUILT), every reference keeps some cases.
MBPPPLUS_KNOWN_BROKEN: dict[str, str] = {}
# Tasks whose reference raises on some inputs: fill_expected drops those cases (the rest
# must still pass), so these tasks are judged on fewer tests than MBPP+ states.
MBPPPLUS_DROPPED_CASES = {
    "Mbpp/255": "combinations_with_replacement of the largest inputs exceeds the memory limit",
    "Mbpp/630": "some return values are too large for the harness to report",
    "Mbpp/737": "matching inputs return a Match object, which is not plain data",
    "Mbpp/787": "as Mbpp/737",
    "Mbpp/794": "as Mbpp/737",
}
# (Repairs that make the broken references pass, confirming the reasons above.)
MBPP_BOOL_RETURNS = ("Mbpp/737", "Mbpp/787", "Mbpp/794")
# MBPP+ inputs the loader rebuilds from JSON (task -> metadata["input_conversion"]) that
# the references could not use as decoded: before, every case raised (106, 124, 720) or
# most did (252: 122 of 125, 580: 57 of 107), and those cases were dropped.
MBPPPLUS_REBUILT = {
    "Mbpp/106": (None, "tuple[int]"),  # `tuple + list` raised
    "Mbpp/124": ("int", "complex"),  # cmath.phase('0' + '1j') raised
    "Mbpp/252": ("int",),  # cmath.polar('(1+2j)') raised
    "Mbpp/580": ("tuple*[int]",),  # nested tuples as lists: `list % 2` raised
    "Mbpp/720": ("tuple[int]", None),  # as Mbpp/106
}
# MBPP+ keeps MBPP's asserts but rewrote these canonical solutions, which disagree with them.
MBPPPLUS_ASSERTS_DISAGREE = {
    "Mbpp/164": "the reference sums the divisors including n itself (div_sum(23) = 25, "
    "div_sum(47) = 49), so are_equivalent(23, 47) is False; the assert says True",
    "Mbpp/295": "the reference sums all divisors including the number (sum_div(8) = 15.0); "
    "the asserts sum the proper divisors (sum_div(8) == 7)",
}

OFF_BY_ONE_EQUIVALENT = {
    "HumanEval/32": "`> 0` -> `>= 0` in the bracket-widening loop: it also widens when an "
    "end of [-1, 1] is exactly a root; bisection still returns a zero, which is all the "
    "task asks (the test checks |poly(x)| < 1e-4)",
    "HumanEval/108": "`neg = 1` -> `2` doubles the leading digit of a non-negative number, "
    "which keeps the sign of its digit sum, and only the sign is used",
    "HumanEval/129": "`val = n * n + 1` -> `+ 2`: the sentinel is always overwritten by a "
    "neighbour of the cell holding 1 (every valid grid has one, and N >= 2)",
    "HumanEval/137": "`>` -> `>=`: equal values already returned None the line before",
    "HumanEval/147": "`i * i - i + 1` -> `+ 2` adds 1 to every element, 3 to every "
    "triple's sum, so divisibility by 3 (all that is counted) is unchanged",
    "HumanEval/148": "`<` -> `<=`: equal indices (planet1 == planet2) already returned ()",
    "HumanEval/154": "`range(len(a) - l + 1)` -> `+ 2`: the extra window is shorter than "
    "l, so it never equals a rotation of b (length l)",
    "HumanEval/159": "`need <= remaining` -> `<`: at need == remaining both branches "
    "return [number + need, 0]",
}
# Not equivalent, but HumanEval's tests lack the input that shows it (OFF_BY_ONE_PROBES).
OFF_BY_ONE_WEAK_TESTS = {
    "HumanEval/0": "`<` -> `<=`: no test has two numbers exactly threshold apart",
    "HumanEval/20": "`<` -> `<=`: the last of tied closest pairs wins, not the first; "
    "no test has a tie",
    "HumanEval/31": "`n < 2` -> `n <= 2` makes 2 composite; no test asks about 2",
    "HumanEval/35": "`l[0]` -> `l[1]` fails on one-element lists; no test has one",
    "HumanEval/40": "`range(i + 1, ...)` -> `i + 2` skips triples whose first two "
    "elements are adjacent; no test needs one",
    "HumanEval/43": "`range(i + 1, ...)` -> `i + 2` skips adjacent pairs; no test needs one",
    "HumanEval/59": "the helper's `k < 2` -> `k <= 2` makes 2 composite; no test's "
    "largest prime factor is 2",
    "HumanEval/68": "`len(arr) == 0` -> `== 1` returns [] for every one-element list; "
    "no test has one",
    "HumanEval/75": "the helper's `range(2, n)` -> `range(3, n)` makes 4 prime, so "
    "60 = 4 * 3 * 5 qualifies; no test has such a number",
    "HumanEval/81": "`gpa > 3.7` -> `>=` grades exactly 3.7 'A', not 'A-'; no test has 3.7",
    "HumanEval/95": "`len(dict.keys()) == 0` -> `== 1` rejects every one-key dict; no test has one",
    "HumanEval/99": "`value.count('.') == 1` -> `== 2` stops stripping trailing zeros, so "
    "'14.50' rounds half to even (14), not away from zero; no test has a trailing zero",
    "HumanEval/116": "`bin(x)[2:]` -> `[3:]` lowers the key of positive numbers only, "
    "which reorders mixed signs; no test mixes them",
}
OFF_BY_ONE_PROBES: dict[str, tuple[Any, ...]] = {
    "HumanEval/0": ([1.0, 2.0], 1.0),
    "HumanEval/20": ([1.0, 2.0, 3.0],),
    "HumanEval/31": (2,),
    "HumanEval/35": ([7],),
    "HumanEval/40": ([1, -1, 0],),
    "HumanEval/43": ([1, -1],),
    "HumanEval/59": (4,),
    "HumanEval/68": ([2],),
    "HumanEval/75": (60,),
    "HumanEval/81": ([3.7],),
    "HumanEval/95": ({"a": "apple"},),
    "HumanEval/99": ("14.50",),
    "HumanEval/116": ([-1, 2],),
}

MUTATE = '''
def _mutate(value):
    """The value made wrong, same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 1.0 if value != -2.0 else 0.0
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, (list, tuple)):
        return value[:-1] if value else type(value)([0])
    if isinstance(value, (set, frozenset)):
        return value ^ {0}
    if isinstance(value, dict):
        return {**value, "_mutant": 0}
    return 0 if value is None else None
'''
_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


# --- mutants --------------------------------------------------------------------------------


def parse(source: str) -> ast.Module:
    """``ast.parse`` without the warnings of dataset code (invalid escapes like ``'\\.'``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _entry(tree: ast.Module, name: str) -> ast.FunctionDef:
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert defs, f"no top-level def {name}"
    return defs[-1]


def _prepend(tree: ast.Module, source: str) -> None:
    """Insert ``source``'s statements after any ``from __future__`` imports."""
    at = 0
    while at < len(tree.body) and isinstance(tree.body[at], ast.ImportFrom):
        if getattr(tree.body[at], "module", None) != "__future__":
            break
        at += 1
    tree.body[at:at] = parse(source).body


def wrap_returns(source: str, entry: str, wrapper: str) -> str:
    """Every ``return X`` of the entry point itself (not nested defs) as ``wrapper(X)``."""
    tree = parse(source)
    stack: list[ast.AST] = list(_entry(tree, entry).body)
    wrapped = 0
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            node.value = ast.Call(
                ast.Name(wrapper, ast.Load()), [node.value or ast.Constant(None)], []
            )
            wrapped += 1
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES))
    assert wrapped, f"{entry} has no return"
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def wrong_return(source: str, entry: str) -> str:
    tree = parse(wrap_returns(source, entry, "_mutate"))
    _prepend(tree, MUTATE)
    return ast.unparse(tree) + "\n"


def off_by_one(source: str, entry: str) -> tuple[str, str] | None:
    """The first int constant or ordering comparison of the entry point's body, changed.

    Returns (program, what changed), or ``None`` when the body has no such site.
    """
    tree = parse(source)
    body = _entry(tree, entry).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    sites = [
        node
        for statement in body
        for node in ast.walk(statement)
        if (isinstance(node, ast.Constant) and type(node.value) is int)
        or (isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAP)
    ]
    if not sites:
        return None
    site = min(sites, key=lambda node: (node.lineno, node.col_offset))
    if isinstance(site, ast.Constant):
        what = f"line {site.lineno}: {site.value} -> {site.value + 1}"
        site.value += 1
    else:
        new = _SWAP[type(site.ops[0])]()
        what = f"line {site.lineno}: {type(site.ops[0]).__name__} -> {type(new).__name__}"
        site.ops[0] = new
    return ast.unparse(tree) + "\n", what


def missing_function(source: str, entry: str, rename: bool) -> str:
    """The program without its entry point: the ``def`` renamed, or replaced by ``pass``."""
    tree = parse(source)
    node = _entry(tree, entry)
    if rename:
        node.name = f"{entry}_solution"
    else:
        tree.body[tree.body.index(node)] = ast.Pass()
    return ast.unparse(tree) + "\n"


def half_broken(source: str, entry: str) -> str:
    """The reference, wrong on every second call (the 2nd, 4th, ...)."""
    tree = parse(source)
    _entry(tree, entry).name = f"_reference_{entry}"
    _prepend(tree, MUTATE)
    wrapper = f"""
_calls = [0]

def {entry}(*args, **kwargs):
    _calls[0] += 1
    value = _reference_{entry}(*args, **kwargs)
    return _mutate(value) if _calls[0] % 2 == 0 else value
"""
    return ast.unparse(tree) + "\n" + wrapper


def calls_itself(task: CodeTask) -> bool:
    """Whether the entry point's body names the entry point (recursion)."""
    entry = task.entry_point or ""
    body = _entry(parse(task.reference or ""), entry).body
    names = (n for statement in body for n in ast.walk(statement) if isinstance(n, ast.Name))
    return any(n.id == entry for n in names)


def probe_task(task: CodeTask, args: tuple[Any, ...]) -> CodeTask:
    """One call on ``args``, expected value computed from the reference by the reward."""
    return replace(
        task,
        task_id=f"probe/{task.task_id}",
        call_cases=(CallCase(args, None),),
        test_code="",
        metadata=MappingProxyType({"expected_pending": True}),
    )


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def reward(sandbox: Sandbox) -> Iterator[CodeReward]:
    code_reward = CodeReward(CONFIG, sandbox=sandbox)
    yield code_reward
    code_reward.close()


@pytest.fixture(scope="module")
def humaneval() -> list[CodeTask]:
    return load_humaneval(DATA / "HumanEval.jsonl.gz")


@pytest.fixture(scope="module")
def mbpp() -> list[CodeTask]:
    return load_mbpp_sanitized(DATA / "mbpp_sanitized.json")


@pytest.fixture(scope="module")
def mbpp_plus() -> list[CodeTask]:
    return sorted(load_mbpp_plus(MBPP_PLUS), key=_number)


def _number(task: CodeTask) -> int:
    return int(task.task_id.rsplit("/", 1)[1])


def is_zero(result: RewardResult) -> bool:
    return result.reward == 0.0 and result.status is Status.INCORRECT


def is_full(result: RewardResult) -> bool:
    return result.reward == 1.0 and result.status is Status.CORRECT


def report(tasks: Sequence[CodeTask], results: Sequence[RewardResult], notes: Any = ()) -> str:
    notes = list(notes) or [""] * len(tasks)
    return "\n".join(
        f"{t.task_id} {note}: {r.status} {r.reward} {dict(r.components)} {r.detail}"
        for t, r, note in zip(tasks, results, notes)
    )


def failed_ids(tasks: Sequence[CodeTask], results: Sequence[RewardResult]) -> list[str]:
    return [t.task_id for t, r in zip(tasks, results) if not is_full(r)]


def references(reward: CodeReward, tasks: Sequence[CodeTask]) -> list[RewardResult]:
    return reward.score_batch(tasks, [task.reference or "" for task in tasks])


# --- HumanEval ---------------------------------------------------------------------------


def test_humaneval_references_pass(reward: CodeReward, humaneval: list[CodeTask]) -> None:
    assert len(humaneval) == 164
    results = references(reward, humaneval)
    bad = [(t, r) for t, r in zip(humaneval, results) if not is_full(r)]
    assert [t.task_id for t, _ in bad] == [], report(*zip(*bad))


def test_humaneval_wrong_return_scores_zero(reward: CodeReward, humaneval: list[CodeTask]) -> None:
    programs = [wrong_return(t.reference or "", t.entry_point or "") for t in humaneval]
    results = reward.score_batch(humaneval, programs)
    bad = [(t, r) for t, r in zip(humaneval, results) if not is_zero(r)]
    assert [t.task_id for t, _ in bad] == [], report(*zip(*bad))


def test_humaneval_missing_function_scores_zero(
    reward: CodeReward, humaneval: list[CodeTask]
) -> None:
    """Even-numbered tasks lose the ``def``, odd-numbered ones have it renamed."""
    programs = [
        missing_function(t.reference or "", t.entry_point or "", rename=i % 2 == 1)
        for i, t in enumerate(humaneval)
    ]
    results = reward.score_batch(humaneval, programs)
    bad = [(t, r) for t, r in zip(humaneval, results) if not is_zero(r)]
    assert [t.task_id for t, _ in bad] == [], report(*zip(*bad))


@pytest.fixture(scope="module")
def off_by_one_mutants(humaneval: list[CodeTask]) -> dict[str, tuple[CodeTask, str, str]]:
    """Task id -> (task, mutant, what changed), for every task with a mutation site."""
    mutants = {}
    for task in humaneval:
        mutant = off_by_one(task.reference or "", task.entry_point or "")
        if mutant is not None:
            mutants[task.task_id] = (task, *mutant)
    return mutants


def test_humaneval_off_by_one_scores_zero_unless_listed(
    reward: CodeReward, off_by_one_mutants: dict[str, tuple[CodeTask, str, str]]
) -> None:
    assert len(off_by_one_mutants) == 133  # the other 31 entry points have no int or <, >
    tasks, programs, whats = zip(*off_by_one_mutants.values())
    results = reward.score_batch(tasks, programs)
    assert not [r for r in results if r.status is Status.INFRA_ERROR], report(tasks, results)
    survivors = {t.task_id for t, r in zip(tasks, results) if not is_zero(r)}
    assert not OFF_BY_ONE_EQUIVALENT.keys() & OFF_BY_ONE_WEAK_TESTS.keys()
    listed = OFF_BY_ONE_EQUIVALENT.keys() | OFF_BY_ONE_WEAK_TESTS.keys()
    new = [(t, r, w) for t, r, w in zip(tasks, results, whats) if t.task_id in survivors - listed]
    assert survivors - listed == set(), "unlisted survivors:\n" + report(*zip(*new))
    assert listed - survivors == set(), "listed mutants that now score 0"
    assert all(is_full(r) for t, r in zip(tasks, results) if t.task_id in listed)


def test_humaneval_off_by_one_survivors_differ_on_their_probe(
    reward: CodeReward, off_by_one_mutants: dict[str, tuple[CodeTask, str, str]]
) -> None:
    """A surviving non-equivalent mutant fails the input HumanEval's tests lack."""
    assert OFF_BY_ONE_PROBES.keys() == OFF_BY_ONE_WEAK_TESTS.keys()
    tasks, programs = [], []
    for task_id, args in OFF_BY_ONE_PROBES.items():
        task, mutant, _ = off_by_one_mutants[task_id]
        probe = probe_task(task, args)
        tasks += [probe, probe]
        programs += [task.reference or "", mutant]
    results = reward.score_batch(tasks, programs)
    assert all(is_full(r) for r in results[0::2]), report(tasks[0::2], results[0::2])
    assert all(is_zero(r) for r in results[1::2]), report(tasks[1::2], results[1::2])


def test_partial_credit_is_the_fraction_of_tests_passed(
    sandbox: Sandbox, humaneval: list[CodeTask]
) -> None:
    """References earn 1; a reference wrong on every second call earns ceil(n/2) / n."""
    chosen = [
        t for t in humaneval if len(t.call_cases) >= 4 and not t.test_code and not calls_itself(t)
    ][:8]
    assert len(chosen) == 8
    partial = CodeReward(
        replace(CONFIG, partial_credit=True, stop_on_first_failure=False), sandbox=sandbox
    )
    try:
        full = partial.score_batch(chosen, [t.reference or "" for t in chosen])
        programs = [half_broken(t.reference or "", t.entry_point or "") for t in chosen]
        halves = partial.score_batch(chosen, programs)
    finally:
        partial.close()
    assert all(is_full(r) for r in full), report(chosen, full)
    for task, result in zip(chosen, halves):
        n = len(task.call_cases)
        assert result.status is Status.INCORRECT, report([task], [result])
        assert 0.0 < result.reward < 1.0
        assert result.reward == pytest.approx(((n + 1) // 2) / n), report([task], [result])
        assert dict(result.components) == {"tests_passed": (n + 1) // 2, "tests_total": n}


# --- MBPP sanitized ------------------------------------------------------------------------


def test_mbpp_references_pass_except_known_broken(reward: CodeReward, mbpp: list[CodeTask]) -> None:
    assert len(mbpp) == 427
    results = references(reward, mbpp)
    broken = {t.task_id: r for t, r in zip(mbpp, results) if not is_full(r)}
    unexpected = [(t, r) for t, r in zip(mbpp, results) if t.task_id in broken]
    assert broken.keys() == MBPP_KNOWN_BROKEN.keys(), report(*zip(*unexpected))
    assert all(is_zero(r) for r in broken.values())
    for task_id in MBPP_BOOL_RETURNS:
        assert "unsupported return type Match" in broken[task_id].detail


def test_mbpp_known_broken_pass_once_repaired(reward: CodeReward, mbpp: list[CodeTask]) -> None:
    by_id = {t.task_id: t for t in mbpp}
    tasks, programs = [], []
    for task_id in MBPP_BOOL_RETURNS:
        task = by_id[task_id]
        tasks.append(task)
        programs.append(wrap_returns(task.reference or "", task.entry_point or "", "bool"))
    assert {t.task_id for t in tasks} == MBPP_KNOWN_BROKEN.keys()
    results = reward.score_batch(tasks, programs)
    assert all(is_full(r) for r in results), report(tasks, results)


# --- MBPP+ -----------------------------------------------------------------------------------


def check_mbpp_plus_references(reward: CodeReward, tasks: Sequence[CodeTask]) -> None:
    """References pass on expected values computed from themselves; drops as documented."""
    healthy = [t for t in tasks if t.task_id not in MBPPPLUS_KNOWN_BROKEN]
    results = references(reward, healthy)
    bad = [(t, r) for t, r in zip(healthy, results) if not is_full(r)]
    assert [t.task_id for t, _ in bad] == [], report(*zip(*bad))
    dropped = {
        t.task_id
        for t, r in zip(healthy, results)
        if r.components["tests_total"] < len(t.call_cases)
    }
    assert dropped == MBPPPLUS_DROPPED_CASES.keys() & {t.task_id for t in tasks}
    for task in tasks:
        if task.task_id in MBPPPLUS_KNOWN_BROKEN:  # all cases dropped: not a usable task
            try:
                result = reward.score(task, task.reference or "")
            except Exception as exc:  # today a ConfigError: "neither call_cases nor test_code"
                assert "neither call_cases nor test_code" in str(exc)
            else:
                assert not is_full(result), report([task], [result])


def subset(tasks: Sequence[CodeTask]) -> list[CodeTask]:
    """Every fourth task by number, plus the known-broken ones."""
    return [t for i, t in enumerate(tasks) if i % 4 == 0 or t.task_id in MBPPPLUS_KNOWN_BROKEN]


def test_mbpp_plus_references_pass_on_a_quarter(
    reward: CodeReward, mbpp_plus: list[CodeTask]
) -> None:
    assert len(mbpp_plus) == 399
    check_mbpp_plus_references(reward, subset(mbpp_plus))


@pytest.mark.slow
def test_mbpp_plus_references_pass_on_all(reward: CodeReward, mbpp_plus: list[CodeTask]) -> None:
    check_mbpp_plus_references(reward, mbpp_plus)


def test_mbpp_plus_rebuilt_inputs_keep_every_case(
    reward: CodeReward, mbpp_plus: list[CodeTask]
) -> None:
    """References that could not use the JSON-typed inputs pass on every rebuilt one."""
    by_id = {t.task_id: t for t in mbpp_plus}
    tasks = [by_id[task_id] for task_id in MBPPPLUS_REBUILT]
    assert {t.task_id: t.metadata["input_conversion"] for t in tasks} == MBPPPLUS_REBUILT
    results = references(reward, tasks)
    assert all(is_full(r) for r in results), report(tasks, results)
    assert all(r.components["tests_total"] == len(t.call_cases) for t, r in zip(tasks, results))


def assert_probe(task: CodeTask, assertion: str) -> CodeTask | None:
    """The task's base inputs, as rebuilt, each checked against the expected value of
    the MBPP assert calling the function with exactly those arguments (types included).
    """
    lines = [line for line in assertion.splitlines() if line.startswith("assert")]
    stated = {
        repr(typed(c.args)): c.expected for c in split_asserts(lines, task.entry_point or "")[0]
    }
    cases = tuple(
        replace(case, expected=stated[repr(typed(case.args))])
        for case in task.call_cases[: task.metadata["base_inputs"]]
        if repr(typed(case.args)) in stated
    )
    if not cases:
        return None
    return replace(
        task,
        task_id=f"asserts/{task.task_id}",
        call_cases=cases,
        metadata=MappingProxyType({"source": "mbpp_plus"}),
    )


def test_mbpp_plus_references_on_rebuilt_inputs_give_what_mbpp_asserts(
    reward: CodeReward, mbpp_plus: list[CodeTask]
) -> None:
    """Every reference, called on its rebuilt base inputs, returns the values MBPP's own
    asserts state for those arguments (list vs tuple results included): rebuilt inputs
    are the arguments MBPP meant, except where EvalPlus changed the reference."""
    assertions = {r["task_id"]: r["assertion"] for r in json.loads(MBPP_PLUS.read_text())}
    probes = [assert_probe(t, assertions[t.task_id]) for t in mbpp_plus]
    tasks = [p for p in probes if p is not None]
    # the other tasks' asserts are not `f(literals) == literal` (math.isclose, set(f(x)))
    assert (len(tasks), sum(len(t.call_cases) for t in tasks)) == (368, 1137)
    results = references(reward, tasks)
    failed = {t.task_id.split("/", 1)[1] for t, r in zip(tasks, results) if not is_full(r)}
    bad = [(t, r) for t, r in zip(tasks, results) if not is_full(r)]
    assert failed == MBPPPLUS_ASSERTS_DISAGREE.keys(), report(*zip(*bad))


def test_mbpp_plus_wrong_return_scores_zero(reward: CodeReward, mbpp_plus: list[CodeTask]) -> None:
    """50 tasks of the default quarter (their expected values are cached by then)."""
    healthy = [t for t in subset(mbpp_plus) if t.task_id not in MBPPPLUS_KNOWN_BROKEN]
    tasks = (healthy[::2] + healthy[1::2])[:50]
    assert len(tasks) == 50
    programs = [wrong_return(t.reference or "", t.entry_point or "") for t in tasks]
    results = reward.score_batch(tasks, programs)
    bad = [(t, r) for t, r in zip(tasks, results) if not is_zero(r)]
    assert [t.task_id for t, _ in bad] == [], report(*zip(*bad))
