"""Find the program a model meant to submit in its full response.

Why this is stricter than "grab the first code block": a reasoning model writes drafts,
shell commands and sample outputs before its final program, and a reward that grades the
wrong block teaches the wrong thing. The rules, in order:

1. Only the text after the last ``</think>`` is graded. A ``<think>`` left open in the
   graded prose (outside any code block) means the model never finished reasoning: no
   program. If an ``<answer>`` tag is present, only the inside of the last one is read
   (an unclosed last tag runs to the end: the model ran out of tokens).
2. Fenced blocks (```````` or ``~~~``, three or more, CommonMark closing rules) are
   candidates when their tag names the task's language, or when they are untagged.
   Blocks tagged with another language (``bash``, ``text``, ``json``...) never are.
3. The last candidate wins, with one guard: an untagged block counts only if it looks
   like a program, so a sample output after the solution (an untagged block holding
   ``5``) does not replace it. When no block passes that test, the last untagged block
   is still taken (a broken program is the model's answer, and gets judged as such).
4. Without any fence, the whole graded text is the program only if it plausibly *is* one
   (Python: it compiles and does something: def, class, import, print/input or an
   assignment; C++: ``#include`` or ``int main``). Prose never becomes a program.
5. A final fence that is never closed runs to the end of the text (the model ran out of
   tokens mid-program: judge what it wrote).

Parsing is linear in the response. Python plausibility uses :func:`compile` on the host,
which parses but never runs the text (constant folding is size-capped by CPython).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from rlvr_gym.errors import ConfigError, did_you_mean

__all__ = ["LANGUAGE_TAGS", "extract_program"]

LANGUAGE_TAGS: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3", "py3"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "c"}),
}
"""Fence tags (lowercased) accepted for each task language."""

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL | re.IGNORECASE)
# An opening fence: any indentation, 3+ backticks or tildes, then an info string. A
# backtick fence's info string may not contain a backtick (CommonMark), which keeps
# one-line spans like ```x``` from opening a block.
_OPEN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}(?=[^`]*$)|~{3,})(?P<info>.*)$")
_CPP_MARKERS = re.compile(r"#\s*include\b|\bint\s+main\s*\(")
# Compiling model text makes CPython warn about it (invalid escapes, ``2(1)``...). Those
# warnings are about the model's code, not ours: silence them for this file name only.
# One filter added at import, rather than catch_warnings() per call, which is not
# thread-safe and could leave every warning of the process silenced.
_FILE_NAME = "<rlvr_gym extracted program>"
warnings.filterwarnings("ignore", module=re.escape(_FILE_NAME))


@dataclass(frozen=True)
class _Block:
    """One fenced block: its lowercased tag ("" when untagged) and its content."""

    tag: str
    body: str


def extract_program(response: str, language: str) -> str | None:
    """Return the program to judge from a model response, or ``None`` if there is none.

    Args:
        response: the full model response (reasoning, prose, code blocks).
        language: the task language, a key of :data:`LANGUAGE_TAGS` (``python``, ``cpp``).

    Returns:
        The program without its fence lines, CRLF turned into LF, leading blank lines and
        trailing whitespace removed, ending in one newline (tabs and indentation are left
        as written). ``None`` when the reasoning is unclosed, nothing code-like is found,
        or the code is blank.

    Raises:
        ConfigError: ``language`` has no fence tags here (a typo, or a new language that
            needs an entry in :data:`LANGUAGE_TAGS`).
    """
    tags = LANGUAGE_TAGS.get(language)
    if tags is None:
        raise ConfigError(
            f"no program extraction rules for language {language!r}; known: "
            f"{', '.join(sorted(LANGUAGE_TAGS))}{did_you_mean(language, LANGUAGE_TAGS)}"
        )
    text = response.replace("\r\n", "\n")
    cut = text.rfind(_THINK_CLOSE)
    if cut >= 0:
        text = text[cut + len(_THINK_CLOSE) :]
    answers = _ANSWER.findall(text)
    if answers:
        text = answers[-1]
    blocks, prose, fenced = _parse(text)
    if _THINK_OPEN in prose:
        return None  # reasoning opened (or reopened) and never closed: no answer yet
    if fenced:
        code = _choose(blocks, tags, language)
    else:
        code = text if _looks_like_code(text, language) else None
    return _normalise(code) if code is not None else None


def _parse(text: str) -> tuple[list[_Block], str, bool]:
    """Split ``text`` into fenced blocks and the prose around them.

    Returns:
        ``(blocks, prose, fenced)``: the blocks in order, the text outside them, and
        whether any fence was seen (an empty block still means the model used fences).
    """
    lines = text.split("\n")
    blocks: list[_Block] = []
    prose: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        opening = _OPEN_FENCE.match(lines[i])
        if opening is None:
            prose.append(lines[i])
            i += 1
            continue
        fenced = True
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        indent = len(opening.group("indent"))
        body: list[str] = []
        i += 1
        while i < len(lines) and closing.match(lines[i]) is None:
            body.append(_unindent(lines[i], indent))
            i += 1
        i += 1  # the closing fence (or past the end: an unterminated block runs to it)
        info = opening.group("info").strip().split()
        tag = info[0].strip("{}").lstrip(".").lower() if info else ""
        blocks.append(_Block(tag, "\n".join(body)))
    return blocks, "\n".join(prose), fenced


def _unindent(line: str, indent: int) -> str:
    """Drop up to ``indent`` leading spaces: a fence nested in a list indents its body."""
    stripped = line[:indent].lstrip(" ")
    return stripped + line[indent:] if indent else line


def _choose(blocks: list[_Block], tags: frozenset[str], language: str) -> str | None:
    """The last tagged block, or a later untagged one that looks like code (module doc)."""
    candidates = [b for b in blocks if b.body.strip() and (b.tag in tags or not b.tag)]
    for block in reversed(candidates):
        if block.tag or _looks_like_code(block.body, language):
            return block.body
    return candidates[-1].body if candidates else None


def _looks_like_code(text: str, language: str) -> bool:
    """Whether unfenced or untagged text is plausibly a program rather than prose/output."""
    if not text.strip():
        return False
    if language == "cpp":
        return _CPP_MARKERS.search(text) is not None
    if language == "python":
        return _python_does_something(text)
    return False


def _python_does_something(text: str) -> bool:
    """True if ``text`` compiles as a module with a def/class/import/print/input/assignment.

    A bare expression such as ``5`` or ``hello`` compiles too, which is why compiling
    alone is not enough to tell a program from a sample output.
    """
    try:
        tree = ast.parse(text, _FILE_NAME, "exec")
        compile(tree, _FILE_NAME, "exec")  # errors the parser leaves to the compiler
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError, Warning):
        return False
    for node in ast.walk(tree):
        if isinstance(
            node,
            (
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.ClassDef,
                ast.Import,
                ast.ImportFrom,
                ast.Assign,
                ast.AugAssign,
                ast.AnnAssign,
            ),
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("print", "input")
        ):
            return True
    return False


def _normalise(code: str) -> str | None:
    """Drop leading blank lines and trailing whitespace; ``None`` for blank code."""
    lines = code.rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines) + "\n" if lines else None
