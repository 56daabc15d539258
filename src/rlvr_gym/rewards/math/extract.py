"""Find the final answer in a full model response.

Only the part of a response that states the answer is graded: the text after the last
``</think>`` (the R1 template), else the content of the last ``<answer>…</answer>``,
else the whole response. Inside that region, in order of precedence:

1. ``\\boxed{…}`` / ``\\boxed X`` / ``\\fbox{…}`` (nested braces handled);
2. explicit phrases ("the final answer is …", "Answer: …", GSM8K's ``#### N``);
3. optionally the last number.

Several boxes can be one answer (``\\boxed{1}`` and ``\\boxed{2}`` for a set of
solutions) or a hedge (``\\boxed{3}`` … ``\\boxed{5}``); the grader decides which by
looking at the gold, so every box of the *final group* is returned. In a response
without ``</think>`` the reasoning and the answer share one region, so a box that
merely repeats a question's blank, or an intermediate result boxed paragraphs
earlier, must not count: the final group is the last box plus the boxes before it in
the same paragraph. Everything here is linear-time string scanning, safe on
pathological input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK_CLOSE = "</think>"
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_BOX_CMD = re.compile(r"\\(?:boxed|fbox)\s*")
_EMPTY_BOX = re.compile(r"^\s*(?:\\phantom\{[^{}]*\}|\\(?:quad|qquad|,|;|!|\s)|~|\s)*\s*$")
_PHRASE = re.compile(
    r"(?:final\s+answer\s*(?:is|:|=)|the\s+answer\s+is|answer\s*:|answer\s+is|"
    r"\banswer\s*=)\s*:?\s*(.+)",
    re.IGNORECASE,
)
_EMPTY_BOX_CMD = re.compile(r"\\(?:boxed|fbox)\s*\{\s*\}")
_GSM8K = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Extraction:
    """Candidate final answers found in a response.

    Attributes:
        answers: Raw answer strings of the final group, in order of appearance.
        source: Where they came from: ``boxed``, ``phrase``, ``gsm8k``,
            ``last_number`` or ``none``.
        region: Which part of the response was graded: ``after_think``,
            ``answer_tag``, ``whole`` or ``unclosed_think``.
    """

    answers: tuple[str, ...]
    source: str
    region: str


def graded_region(response: str, *, require_think_close: bool = False) -> tuple[str, str]:
    """Return ``(text, region_name)``: the part of ``response`` that states the answer."""
    cut = response.rfind(_THINK_CLOSE)
    if cut >= 0:
        text, name = response[cut + len(_THINK_CLOSE) :], "after_think"
    elif require_think_close or "<think>" in response:
        # The model opened its reasoning and never closed it: it never answered.
        return "", "unclosed_think"
    else:
        text, name = response, "whole"
    tags = _ANSWER_TAG.findall(text)
    if tags:
        return tags[-1], "answer_tag"
    return text, name


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """Return the content of the brace group opening at ``text[start]`` and its end."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "\\":
            continue
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def find_boxes(text: str) -> list[tuple[str, int, int]]:
    """Return ``(content, start, end)`` for every ``\\boxed``/``\\fbox`` in ``text``."""
    boxes: list[tuple[str, int, int]] = []
    pos = 0
    while True:
        m = _BOX_CMD.search(text, pos)
        if m is None:
            return boxes
        j = m.end()
        if j < len(text) and text[j] == "{":
            group = _braced(text, j)
            if group is None:  # unbalanced: take the rest, trimmed of delimiters
                boxes.append((text[j + 1 :].strip().rstrip("$").strip(), m.start(), len(text)))
                return boxes
            content, end = group
        else:  # ``\boxed 5`` form: one token
            tok = re.match(r"[^\s$\\]+", text[j:])
            if tok is None:
                pos = j
                continue
            content, end = tok.group(0), j + tok.end()
        boxes.append((content, m.start(), end))
        pos = end


def _final_group(text: str, boxes: list[tuple[str, int, int]], whole: bool) -> list[str]:
    """Keep the last box and, unless the region is a dedicated answer, its paragraph."""
    kept = [b for b in boxes if not _EMPTY_BOX.match(b[0])]
    if not kept:
        return []
    if not whole:
        return [b[0] for b in kept]
    group = [kept[-1]]
    for prev in reversed(kept[:-1]):
        gap = text[prev[2] : group[0][1]]
        if _PARAGRAPH_BREAK.search(gap) or len(gap) > 300:
            break
        group.insert(0, prev)
    return [b[0] for b in group]


def _clean_phrase(raw: str) -> str:
    raw = raw.strip()
    # "Final Answer: The final answer is $8$." — take the innermost phrase.
    for _ in range(5):
        inner = _PHRASE.search(raw)
        if inner is None:
            break
        raw = inner.group(1).strip()
    # An answer phrase runs to the end of its sentence or line.
    raw = re.split(r"\n|\.\s|\.$", raw, maxsplit=1)[0]
    raw = _EMPTY_BOX_CMD.sub("", raw)
    return raw.strip().strip("$").strip()


def extract_answers(
    response: str,
    *,
    last_number_fallback: bool = True,
    require_think_close: bool = False,
    max_chars: int = 100_000,
) -> Extraction:
    """Extract the final answer candidates from a full model response."""
    if len(response) > max_chars:
        response = response[-max_chars:]
    text, region = graded_region(response, require_think_close=require_think_close)
    if not text.strip():
        return Extraction((), "none", region)
    boxes = find_boxes(text)
    if boxes:
        group = _final_group(text, boxes, whole=region == "whole")
        if group:
            return Extraction(tuple(group), "boxed", region)
    # Only empty boxes: an explicit phrase may still give the answer, but guessing the
    # last number would not be honest when the model left its box empty.
    number_fallback = last_number_fallback and not boxes
    gsm = _GSM8K.findall(text)
    if gsm:
        return Extraction((gsm[-1].strip(),), "gsm8k", region)
    phrases = _PHRASE.findall(text)
    if phrases:
        ans = _clean_phrase(phrases[-1])
        if ans:
            return Extraction((ans,), "phrase", region)
    if region == "answer_tag":
        return Extraction((text.strip().strip("$").strip(),), "answer_tag", region)
    if number_fallback:
        nums = _NUMBER.findall(text)
        if nums:
            return Extraction((nums[-1].rstrip(","),), "last_number", region)
    return Extraction((), "none", region)
