"""Table-driven and property tests for the pinned output comparators."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.compare import COMPARATORS, compare_output

# (id, comparator, got, expected, passes)
CASES: list[tuple[str, str, str, str, bool]] = [
    # --- exact --------------------------------------------------------------------------
    ("exact_same", "exact", "1 2\n3\n", "1 2\n3\n", True),
    ("exact_missing_final_newline", "exact", "1 2\n3", "1 2\n3\n", True),
    ("exact_extra_final_newlines", "exact", "ok\n\n\n", "ok\n", True),
    ("exact_trailing_space_at_end", "exact", "ok  \n", "ok", True),
    ("exact_crlf", "exact", "a\r\nb\r\n", "a\nb\n", True),
    ("exact_inner_trailing_space", "exact", "a \nb\n", "a\nb\n", False),
    ("exact_leading_space", "exact", " a\n", "a\n", False),
    ("exact_line_break_differs", "exact", "1 2\n", "1\n2\n", False),
    ("exact_case_matters", "exact", "YES\n", "yes\n", False),
    ("exact_empty_both", "exact", "", "", True),
    ("exact_empty_vs_newline", "exact", "\n", "", True),
    ("exact_extra_line", "exact", "a\nb\n", "a\n", False),
    ("exact_lone_cr_kept", "exact", "a\rb", "a\nb", False),
    # --- tokens -------------------------------------------------------------------------
    ("tokens_same", "tokens", "1 2 3\n", "1 2 3\n", True),
    ("tokens_relayout", "tokens", "1\n2\t 3", "1 2 3\n", True),
    ("tokens_crlf", "tokens", "1\r\n2\r\n", "1\n2\n", True),
    ("tokens_trailing_spaces", "tokens", "1 2   \n\n", "1 2", True),
    ("tokens_empty_both", "tokens", "", "", True),
    ("tokens_whitespace_vs_empty", "tokens", " \n\t", "", True),
    ("tokens_extra_token", "tokens", "1 2 3 4", "1 2 3", False),
    ("tokens_missing_token", "tokens", "1 2", "1 2 3", False),
    ("tokens_wrong_token", "tokens", "1 2 6", "1 2 5", False),
    ("tokens_order_matters", "tokens", "2 1", "1 2", False),
    ("tokens_case_matters", "tokens", "Yes", "YES", False),
    ("tokens_no_numeric_equivalence", "tokens", "1.0", "1", False),
    ("tokens_no_prefix", "tokens", "12", "1", False),
    ("tokens_no_superset", "tokens", "1 1 2", "1 2", False),
    ("tokens_nbsp_is_not_whitespace", "tokens", "1\u00a02", "1 2", False),
    ("tokens_nothing_printed", "tokens", "", "5", False),
    ("tokens_output_when_none_expected", "tokens", "5", "", False),
    # --- float --------------------------------------------------------------------------
    ("float_equal", "float", "0.5", "0.5", True),
    ("float_1e-7_off", "float", "1.0000001", "1.0", True),
    ("float_1e-3_off", "float", "1.001", "1.0", False),
    ("float_int_vs_decimal", "float", "1.0", "1", True),
    ("float_exponent", "float", "1e-3", "0.001", True),
    ("float_absolute_near_zero", "float", "0.0000004", "0", True),
    ("float_absolute_near_zero_fails", "float", "0.00001", "0", False),
    ("float_relative_large", "float", "1000000.5", "1000000", True),
    ("float_relative_large_fails", "float", "1000010", "1000000", False),
    ("float_negative_zero", "float", "-0", "0", True),
    ("float_negative_zero_decimal", "float", "-0.000", "0.0", True),
    ("float_sign_matters", "float", "-1.5", "1.5", False),
    ("float_leading_dot", "float", ".5", "0.5", True),
    ("float_trailing_dot", "float", "2.", "2", True),
    ("float_plus_sign", "float", "+3", "3", True),
    ("float_nan_same_text", "float", "nan", "nan", True),
    ("float_nan_vs_number", "float", "nan", "0", False),
    ("float_nan_case_differs", "float", "NaN", "nan", False),
    ("float_inf_same_text", "float", "inf", "inf", True),
    ("float_inf_vs_huge", "float", "1e308", "inf", False),
    ("float_overflow_is_text", "float", "1e999", "2e999", False),
    ("float_overflow_same_text", "float", "1e999", "1e999", True),
    ("float_underscore_not_number", "float", "1_000", "1000", False),
    ("float_hex_not_number", "float", "0x10", "16", False),
    ("float_word_exact", "float", "YES 0.5000001", "YES 0.5", True),
    ("float_word_case", "float", "yes 0.5", "YES 0.5", False),
    ("float_extra_token", "float", "1.0 2.0 3.0", "1.0 2.0", False),
    ("float_missing_token", "float", "1.0", "1.0 2.0", False),
    ("float_number_vs_word", "float", "abc", "1.5", False),
    ("float_relayout", "float", "1.0\n2.0", "1 2", True),
    ("float_crlf_trailing", "float", "3.14159265\r\n  ", "3.1415927", True),
    # --- lines_unordered ----------------------------------------------------------------
    ("lines_same_order", "lines_unordered", "a\nb\n", "a\nb\n", True),
    ("lines_reordered", "lines_unordered", "b\na\nc", "c\na\nb\n", True),
    ("lines_trailing_spaces", "lines_unordered", "a  \nb\t\n", "b\na\n", True),
    ("lines_trailing_blank_lines", "lines_unordered", "a\nb\n\n\n", "b\na", True),
    ("lines_crlf", "lines_unordered", "a\r\nb\r\n", "b\na\n", True),
    ("lines_multiplicity_matters", "lines_unordered", "a\na\nb", "a\nb\nb", False),
    ("lines_missing_line", "lines_unordered", "a", "a\nb", False),
    ("lines_extra_line", "lines_unordered", "a\nb\nc", "a\nb", False),
    ("lines_inner_blank_counts", "lines_unordered", "a\n\nb", "a\nb", False),
    ("lines_words_in_line_ordered", "lines_unordered", "2 1\n", "1 2\n", False),
    ("lines_leading_space_matters", "lines_unordered", " a\n", "a\n", False),
    ("lines_empty_both", "lines_unordered", "", "\n", True),
]


def test_table_is_well_formed() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 40
    assert {case[1] for case in CASES} == set(COMPARATORS)


@pytest.mark.parametrize(
    ("comparator", "got", "expected", "passes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compare(comparator: str, got: str, expected: str, passes: bool) -> None:
    ok, reason = compare_output(got, expected, comparator)
    assert ok is passes, reason
    assert (reason == "") is passes  # a reason exactly when it fails


@pytest.mark.parametrize(
    ("comparator", "got", "expected", "reason"),
    [
        ("tokens", "1 2 6", "1 2 5", "token 3: expected '5', got '6'"),
        ("tokens", "1 2", "1 2 3", "token 3: expected '3', got end of output"),
        ("tokens", "1 2 3 4", "1 2 3", "token 4: expected end of output, got '4'"),
        ("exact", "a\nc\n", "a\nb\n", "line 2: expected 'b', got 'c'"),
        ("float", "1.001", "1", "token 1: expected '1', got '1.001' (error 0.001 > 1e-06)"),
        ("lines_unordered", "a\na", "a\nb", "line 'b': expected 1 time(s), got 0"),
        ("lines_unordered", "a\nb\nc", "a\nb", "line 'c': expected 0 time(s), got 1"),
    ],
)
def test_reasons_name_the_first_difference(
    comparator: str, got: str, expected: str, reason: str
) -> None:
    assert compare_output(got, expected, comparator) == (False, reason)


def test_long_tokens_are_cut_in_reasons() -> None:
    _, reason = compare_output("x" * 10_000, "y", "tokens")
    assert len(reason) < 120


def test_tolerances_are_honoured() -> None:
    assert compare_output("1.01", "1", "float", abs_tol=0.1, rel_tol=0)[0]
    assert not compare_output("1.01", "1", "float", abs_tol=0.001, rel_tol=0)[0]
    assert compare_output("101", "100", "float", abs_tol=0, rel_tol=0.01)[0]
    # relative to the expected value, not the larger of both (math.isclose would pass it)
    assert not compare_output("1.1", "1", "float", abs_tol=0, rel_tol=0.095)[0]
    assert not compare_output("1.0000001", "1", "float", abs_tol=0, rel_tol=0)[0]


def test_unknown_comparator_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'tokens'"):
        compare_output("1", "1", "tokenz")


def test_checker_is_not_a_plain_comparator() -> None:
    with pytest.raises(ConfigError, match="judge_io"):
        compare_output("1", "1", "checker")


@pytest.mark.parametrize("tol", [-1.0, float("nan"), float("inf")])
def test_bad_tolerance_is_a_config_error(tol: float) -> None:
    with pytest.raises(ConfigError, match="abs_tol"):
        compare_output("1", "1", "float", abs_tol=tol)


# --- properties ---------------------------------------------------------------------------

_token = st.text(min_size=1, max_size=8).filter(lambda t: re.search(r"[ \t\n\r\f\v]", t) is None)
_gap = st.text(" \t\n\r\f\v", min_size=1, max_size=3)


@given(st.text(), st.sampled_from(sorted(COMPARATORS)))
def test_output_matches_itself(text: str, comparator: str) -> None:
    assert compare_output(text, text, comparator) == (True, "")


@given(st.lists(_token, max_size=10), st.data())
def test_tokens_ignore_whitespace_layout(tokens: list[str], data: st.DataObject) -> None:
    gaps = [data.draw(_gap) for _ in tokens]
    relaid = data.draw(_gap.map(lambda g: g if tokens else "")) + "".join(
        t + g for t, g in zip(tokens, gaps)
    )
    assert compare_output(relaid, " ".join(tokens), "tokens") == (True, "")
    assert compare_output(relaid, " ".join(tokens), "float")[0]


@given(st.lists(_token, min_size=1, max_size=10), _token)
def test_an_extra_token_always_fails(tokens: list[str], extra: str) -> None:
    expected = " ".join(tokens)
    for comparator in ("tokens", "float"):
        assert not compare_output(f"{expected} {extra}", expected, comparator)[0]
        assert not compare_output(expected, f"{expected} {extra}", comparator)[0]


_line = st.text(st.characters(blacklist_characters="\r\n"), max_size=6).filter(str.strip)


@given(st.lists(_line, max_size=8), st.randoms())
def test_lines_unordered_ignores_order(lines: list[str], rnd: random.Random) -> None:
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert compare_output("\n".join(shuffled), "\n".join(lines), "lines_unordered")[0]
