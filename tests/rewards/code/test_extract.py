"""Table-driven tests for program extraction from model responses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.extract import extract_program

# CPython warns about odd model code it compiles (invalid escapes, ``2(1)``); extract.py
# silences that for its own file name, but pytest's per-test filters take precedence.
pytestmark = pytest.mark.filterwarnings("ignore:::<rlvr_gym extracted program>")

T3 = "```"  # keeps the table readable
PY = "print(int(input()) * 2)\n"
CPP = "#include <iostream>\nint main() { int x; std::cin >> x; std::cout << 2 * x; }\n"

# (id, response, language, expected program or None)
CASES: list[tuple[str, str, str, str | None]] = [
    # --- plain fences -------------------------------------------------------------------
    ("python_tag", f"Here:\n{T3}python\n{PY}{T3}\n", "python", PY),
    ("py_tag", f"{T3}py\n{PY}{T3}", "python", PY),
    ("python3_tag", f"{T3}python3\n{PY}{T3}", "python", PY),
    ("py3_tag", f"{T3}py3\n{PY}{T3}", "python", PY),
    ("tag_case_insensitive", f"{T3}Python\n{PY}{T3}", "python", PY),
    ("info_string_extra_words", f"{T3}python title=sol.py\n{PY}{T3}", "python", PY),
    ("untagged_block", f"{T3}\n{PY}{T3}", "python", PY),
    ("tilde_fence", f"~~~python\n{PY}~~~\n", "python", PY),
    (
        "long_fence_nests_short",
        f"````python\nx = '''\n{T3}\n'''\nprint(x)\n````",
        "python",
        "x = '''\n```\n'''\nprint(x)\n",
    ),
    (
        "tilde_not_closed_by_backticks",
        f"~~~\nx = 1\n{T3}\nprint(x)\n~~~",
        "python",
        "x = 1\n```\nprint(x)\n",
    ),
    (
        "close_needs_enough_chars",
        f"````py\nx = 1\n{T3}\nprint(x)\n````",
        "python",
        "x = 1\n```\nprint(x)\n",
    ),
    (
        "indented_fence_in_list",
        "1. Code:\n   ```py\n   def f():\n       return 1\n   ```\n",
        "python",
        "def f():\n    return 1\n",
    ),
    (
        "crlf_line_endings",
        f"{T3}python\r\nx = 1\r\nprint(x)\r\n{T3}\r\n",
        "python",
        "x = 1\nprint(x)\n",
    ),
    (
        "tabs_untouched",
        f"{T3}python\nif True:\n\tprint(1)\n{T3}",
        "python",
        "if True:\n\tprint(1)\n",
    ),
    (
        "trailing_whitespace_normalised",
        f"{T3}python\n\n\nprint(1)   \n\n  \n{T3}",
        "python",
        "print(1)\n",
    ),
    ("one_line_backticks_not_a_fence", "Use ```print(1)``` to print.", "python", None),
    # --- choosing among blocks ----------------------------------------------------------
    (
        "last_python_block_wins",
        f"{T3}python\nprint(1)\n{T3}\nfixed:\n{T3}python\nprint(2)\n{T3}",
        "python",
        "print(2)\n",
    ),
    (
        "bash_block_after_code_skipped",
        f"{T3}python\n{PY}{T3}\nRun:\n{T3}bash\npython main.py\n{T3}",
        "python",
        PY,
    ),
    (
        "text_and_json_blocks_skipped",
        f'{T3}json\n{{"a": 1}}\n{T3}\n{T3}text\n5\n{T3}',
        "python",
        None,
    ),
    (
        "untagged_output_after_code_skipped",
        f"{T3}python\n{PY}{T3}\nOutput:\n{T3}\n10\n{T3}",
        "python",
        PY,
    ),
    (
        "untagged_code_after_tagged_wins",
        f"{T3}python\nprint(1)\n{T3}\n{T3}\nx = 2\nprint(x)\n{T3}",
        "python",
        "x = 2\nprint(x)\n",
    ),
    ("only_untagged_non_code_taken", f"{T3}\nprint(\n{T3}", "python", "print(\n"),
    ("empty_block_skipped", f"{T3}python\n{PY}{T3}\n{T3}python\n\n{T3}", "python", PY),
    ("cpp_block_in_python_task_skipped", f"{T3}cpp\n{CPP}{T3}", "python", None),
    # --- unterminated fences ------------------------------------------------------------
    ("unterminated_final_fence", f"{T3}python\nx = 1\nprint(x", "python", "x = 1\nprint(x\n"),
    (
        "unterminated_after_closed",
        f"{T3}python\nprint(1)\n{T3}\nv2:\n{T3}python\nprint(2)",
        "python",
        "print(2)\n",
    ),
    # --- no fence at all ----------------------------------------------------------------
    (
        "bare_python_program",
        "n = int(input())\nprint(n * 2)\n",
        "python",
        "n = int(input())\nprint(n * 2)\n",
    ),
    ("bare_def", "def f(x):\n    return x\n", "python", "def f(x):\n    return x\n"),
    ("bare_import", "import sys\n", "python", "import sys\n"),
    ("prose_is_not_code", "The answer is to double the input.", "python", None),
    ("bare_expression_is_not_code", "42\n", "python", None),
    ("bare_name_is_not_code", "hello", "python", None),
    ("bare_return_outside_function", "x = 1\nreturn x\n", "python", None),
    ("whitespace_only", "  \n\t\n", "python", None),
    ("empty", "", "python", None),
    # --- reasoning ----------------------------------------------------------------------
    (
        "think_then_code",
        f"<think>try {T3}python\nprint(0)\n{T3}</think>\n{T3}python\n{PY}{T3}",
        "python",
        PY,
    ),
    ("code_only_inside_think", f"<think>\n{T3}python\n{PY}{T3}\n</think>\nDone.", "python", None),
    ("unclosed_think", f"<think>\nlet me write\n{T3}python\n{PY}{T3}\n", "python", None),
    ("prefilled_think_closed", f"reasoning...</think>\n{T3}python\n{PY}{T3}", "python", PY),
    (
        "last_think_close_counts",
        f"<think>a</think>{T3}python\nprint(1)\n{T3}<think>b</think>\n{T3}python\nprint(2)\n{T3}",
        "python",
        "print(2)\n",
    ),
    (
        "reopened_think_unclosed",
        f"<think>a</think>\n{T3}python\n{PY}{T3}\n<think>hmm",
        "python",
        None,
    ),
    (
        "think_tag_inside_code_is_code",
        f"{T3}python\nprint('<think>')\n{T3}",
        "python",
        "print('<think>')\n",
    ),
    ("think_then_bare_code", "<think>plan</think>\nprint(input())", "python", "print(input())\n"),
    # --- answer tags --------------------------------------------------------------------
    (
        "answer_tag_with_fence",
        f"<think>x</think>\n<answer>\n{T3}python\n{PY}{T3}\n</answer>",
        "python",
        PY,
    ),
    ("answer_tag_bare_code", "<answer>\nprint(input())\n</answer>", "python", "print(input())\n"),
    (
        "last_answer_tag",
        f"<answer>{T3}py\nprint(1)\n{T3}</answer> <answer>\n{T3}py\nprint(2)\n{T3}\n</answer>",
        "python",
        "print(2)\n",
    ),
    (
        "code_outside_answer_ignored",
        f"{T3}python\n{PY}{T3}\n<answer>see above</answer>",
        "python",
        None,
    ),
    ("unclosed_answer_tag", f"<answer>\n{T3}python\n{PY}", "python", PY),
    # --- C++ ----------------------------------------------------------------------------
    ("cpp_tag", f"{T3}cpp\n{CPP}{T3}", "cpp", CPP),
    ("cxx_tags", f"{T3}c++\n{CPP}{T3}", "cpp", CPP),
    ("c_tag", f"{T3}c\n{CPP}{T3}", "cpp", CPP),
    ("cpp_python_block_skipped", f"{T3}cpp\n{CPP}{T3}\n{T3}python\n{PY}{T3}", "cpp", CPP),
    ("cpp_bare_program", CPP, "cpp", CPP),
    ("cpp_bare_prose", "Use a loop and print the sum.", "cpp", None),
    ("cpp_untagged_output_skipped", f"{T3}cc\n{CPP}{T3}\n{T3}\n4\n{T3}", "cpp", CPP),
    ("cpp_untagged_code_taken", f"{T3}\n{CPP}{T3}", "cpp", CPP),
]


def test_table_is_well_formed() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    ("response", "language", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_extract(response: str, language: str, expected: str | None) -> None:
    assert extract_program(response, language) == expected


def test_unknown_language_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'python'"):
        extract_program(PY, "pyhton")


def test_result_always_ends_in_one_newline() -> None:
    out = extract_program(f"{T3}python\nprint(1)", "python")
    assert out is not None and out.endswith(")\n") and not out.endswith("\n\n")


def test_code_that_makes_cpython_warn_is_still_code() -> None:
    code = 'x = "\\d"\ny = 2(1)\n'
    assert extract_program(code, "python") == code


def test_pathological_nesting_is_not_code() -> None:
    assert extract_program("(" * 10_000 + ")" * 10_000, "python") is None


_pieces = st.sampled_from(
    [
        "```",
        "```python",
        "```cpp",
        "~~~",
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "print(1)",
        "x = 2",
        "#include <x>",
        "int main(){}",
        "\n",
        " ",
        "\t",
        "\r\n",
        "text",
    ]
)


@given(
    st.lists(st.one_of(_pieces, st.text(max_size=5)), max_size=25),
    st.sampled_from(["python", "cpp"]),
)
def test_never_raises_and_result_is_normalised(parts: list[str], language: str) -> None:
    out = extract_program("".join(parts), language)
    if out is not None:
        assert out.strip() and out.endswith("\n") and not out.endswith("\n\n")
        assert out == out.lstrip("\n") and "\r\n" not in out
