"""Normalise a LaTeX answer string before it is parsed.

Models write the same answer many ways: ``\\dfrac12``, ``$\\frac{1}{2}$.``,
``\\left(1, 2\\right)``, ``40,\\!000``, ``30^\\circ``, ``5\\text{ cm}``. Normalisation
removes presentation only — never information that can change the value. In particular
base subscripts (``204_5``) and percent signs are kept for the parser to interpret, and
thousands separators are only removed when every group has exactly three digits (so the
list ``1,2`` stays a list).
"""

from __future__ import annotations

import re

# Presentation-only commands, removed outright.
_DROP = re.compile(
    r"\\(?:displaystyle|textstyle|scriptstyle|left|right|bigl|bigr|Bigl|Bigr|big|Big|"
    r"biggl|biggr|bigg|Bigg|middle|limits|nolimits|mathstrut|strut|vphantom\{[^{}]*\}|"
    r"hphantom\{[^{}]*\}|phantom\{[^{}]*\}|quad|qquad)(?![a-zA-Z])"
    r"|(?<!\\)\\[,;:! ]"  # spacing commands, but not the second half of a row break
)
_REALS = re.compile(r"\\mathbb\s*\{?\s*R\s*\}?|ℝ")
_TEXT_CMD = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mathsf|mathtt|"
    r"mbox|hbox|operatorname|boldsymbol|bm|emph|mathbb|mathcal)\s*\{([^{}]*)\}"
)
_FRAC_VARIANTS = re.compile(r"\\(?:dfrac|tfrac|cfrac)")
# \frac12, \frac1x, \frac{1}2 -> braced arguments.
_FRAC_SHORT = re.compile(r"\\frac\s*(\{[^{}]*\}|[0-9a-zA-Z])\s*(\{[^{}]*\}|[0-9a-zA-Z])")
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\textdegree")
_THOUSANDS_BRACE = re.compile(r"(\d)\{,\}(?=\d{3})")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_UNIT_WORDS = (
    r"(?:units?|square\s+units?|sq\.?\s*units?|cm|centimeters?|mm|millimeters?|km|"
    r"kilometers?|meters?|m|inches|inch|in|feet|foot|ft|yards?|yd|miles?|mi|mph|"
    r"km/h|hours?|hrs?|minutes?|mins?|seconds?|secs?|s|days?|weeks?|months?|years?|"
    r"dollars?|cents?|degrees?|pounds?|lbs?|ounces?|oz|grams?|g|kg|kilograms?|liters?|"
    r"litres?|l|ml|gallons?|cups?|points?|people|persons?|students?|marbles?|apples?|"
    r"books?|cookies?|pages?|times|ways|sq\s*ft|square\s+feet|square\s+inches|"
    r"square\s+meters|cubic\s+\w+|percent)"
)
_TRAILING_UNIT = re.compile(
    rf"^(?P<num>.*?[\d}}a-zA-Z)])\s*(?:\\text\{{\s*{_UNIT_WORDS}\s*\}}|\\mbox\{{\s*"
    rf"{_UNIT_WORDS}\s*\}}|\\mathrm\{{\s*{_UNIT_WORDS}\s*\}}|\s+{_UNIT_WORDS})"
    r"(?:\^\{?[23]\}?)?\s*$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def _strip_outer(s: str) -> str:
    """Remove math delimiters and trailing punctuation around the answer."""
    prev = None
    while prev != s:
        prev = s
        s = s.strip()
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left) : len(s) - len(right)]
        s = s.rstrip(".;: ").rstrip()
        if s.endswith("\\") and not s.endswith("\\\\"):
            s = s[:-1]
    return s


def strip_units(s: str) -> str:
    """Drop a trailing unit word (``5\\text{ cm}``, ``12 inches``) after a value."""
    m = _TRAILING_UNIT.match(s)
    if m and m.group("num").strip():
        return m.group("num").strip()
    return s


def normalize(answer: str) -> str:
    """Return a canonical LaTeX string for ``answer`` (presentation removed)."""
    s = _strip_outer(answer)
    s = s.replace("\\$", "").replace("$", "")
    s = _REALS.sub(r"(-\\infty,\\infty)", s)
    s = _DEGREE.sub("", s)
    s = strip_units(s)
    for _ in range(3):  # nested \text{\textbf{..}}
        new = _TEXT_CMD.sub(r"\1", s)
        if new == s:
            break
        s = new
    s = s.replace(",\\!", ",")  # 40,\!000
    s = _DROP.sub(" ", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _FRAC_SHORT.sub(_brace_frac, s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = s.replace("\\%", "%").replace("\\\\%", "%")
    s = s.replace("\\infty", "\\infty ").replace("\\dots", "").replace("\\ldots", "")
    s = s.replace("\\cdots", "")
    s = _THOUSANDS_BRACE.sub(r"\1", s)
    s = _SPACES.sub(" ", s).strip()
    s = strip_units(s)
    s = _strip_braces(_strip_outer(s))
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    return s


def _strip_braces(s: str) -> str:
    """Remove grouping braces around the whole answer (``{{1}}`` is ``1``) in one pass."""
    lead = len(s) - len(s.lstrip("{"))
    trail = len(s) - len(s.rstrip("}"))
    if not lead or not trail:
        return s
    # The outer k braces wrap everything iff depth never drops below k inside.
    depth, low = 0, lead
    for ch in s[: len(s) - trail]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            low = min(low, depth)
    k = min(lead, trail, low)
    return s[k : len(s) - k].strip() if k else s


def _brace_frac(m: re.Match[str]) -> str:
    def arg(a: str) -> str:
        return a if a.startswith("{") else "{" + a + "}"

    return "\\frac" + arg(m.group(1)) + arg(m.group(2))
