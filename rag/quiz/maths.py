"""Formulas compared as formulas: LaTeX or plain text (`a / (b + c)`, `||w||`, Greek names) parsed into sympy
expressions, equal when they agree at random points (pure)."""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import sympy

from rag.quiz.wording import word_set

log = logging.getLogger(__name__)
GREEK = tuple(word_set("""alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu
xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega"""))
GREEK_NAMES = re.findall(r"\w+", """alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho
sigma tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega""")
UNICODE_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ", GREEK_NAMES))
FUNCTIONS = word_set("""sin cos tan tanh sinh cosh exp log ln sqrt max min sum prod frac text mathrm operatorname hat
bar tilde left right cdot times odot approx sigma softmax relu argmax argmin""")
# Plain-text math typed by a learner, rewritten into the LaTeX the parser reads.
PLAIN_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\|\|([^|]+)\|\|", r"\\left|\1\\right|"),  # ||w||: a norm, compared as a magnitude on both sides
    (r"\\\|([^|]+?)\\\|", r"\\left|\1\\right|"),
    (r"\\lVert\s*(.+?)\s*\\rVert", r"\\left|\1\\right|"),
    (r"(?<![\\\w])sqrt\s*\(", r"\\sqrt("),
    (r"\^\s*\(([^()]*)\)", r"^{\1}"),  # e^(-x) -> e^{-x}
    (r"\^\s*(-?\w+(?:\.\d+)?)", r"^{\1}"),  # e^-x -> e^{-x}, x^2 -> x^{2}
    (r"(?<![\\\w])(sum|prod)_", r"\\\1_"),
    (r"(?<![\\\w])(exp|log|ln|sin|cos|tan|tanh|max|min)\s*\(", r"\\\1("),
    (r"(\w)_hat(?=_|\b)", r"\\hat{\1}"),  # y_hat
    (r"[·×⋅∘⊙]|\\odot|\\circ|\\times|\\ast", r" \\cdot "),
    (r"−|–", "-"),
    (r"\s*(?:\\cap|∩)\s*", " "),  # |A ∩ B|: the overlap of A and B, read alike on both sides
    (r"\s*(?:\\cup|∪)\s*", " + "),
    (r"√\s*\(", r"\\sqrt("),
    (r"≈|\\simeq|\\sim(?![a-z])", "="),
)
RELATION = re.compile(r"\\approx|\\simeq|\\equiv|:=|≈|(?<![<>!=\\])=(?!=)")
POINTS = 4  # random points two expressions must agree at
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Formula:
    """A formula's rows (an aligned block has several), each as its parsed sides ("FPR", "FP / (FP + TN)") and
    its text for when none parses."""

    text: str
    rows: tuple[tuple[sympy.Expr, ...], ...]
    row_texts: tuple[str, ...]
    names: frozenset[str]  # its multi-letter names ("fp", "tn"): a learner's FP is one symbol, not F times P

    @property
    def shown(self) -> list[sympy.Expr]:
        """The sides that say how to compute something, not only name it."""
        return [s for row in self.rows for s in row if not is_name(s)]


def parse_formula(text: str, names: frozenset[str] | None = None) -> Formula:
    """A formula's rows of sides as sympy expressions (those that parse). `names` are the expected formula's
    multi-letter names ("FP" in \\text{FP}), kept whole in a learner's text; an expected formula's own are read
    from it."""
    if names is None:
        names = text_names(text)
    latex = to_latex(text, names)
    latex = re.sub(r"\\(?:begin|end)\{(?:aligned|align\*?|array|split|gather)\}(?:\{[^}]*\})?|&", " ", latex)
    texts = tuple(t for t in re.split(r"\\\\", latex) if re.search(r"\w", t))
    rows = tuple(tuple(e for e in map(parse_side, top_level_split(t)) if e is not None) for t in texts)
    return Formula(text, rows, texts, names)


def text_names(latex: str) -> frozenset[str]:
    """The names a formula sets as words: \\text{FP}, \\mathrm{MSE} (its bare letters "kn" are k times n)."""
    found = re.findall(r"\\(?:text|mathrm|operatorname|textit|mathit)\s*\{([^{}]+)\}", latex)
    return frozenset(n for n in (bare_name(f) for f in found) if len(n) > 1 and not n.isdigit())


@lru_cache(maxsize=2048)
def parse_side(latex: str) -> sympy.Expr | None:
    from latex2sympy2_extended import latex2sympy

    latex = latex.strip().strip(",.;:")
    if not re.search(r"\w", latex):
        return None
    try:
        expr = latex2sympy(latex)
    except Exception as exc:  # the parser raises bare Exceptions and AttributeErrors on what it does not read
        log.debug("formula side not parsed: %r (%s)", latex, exc)
        return None
    return expr if isinstance(expr, sympy.Expr) else None


def to_latex(text: str, names: frozenset[str]) -> str:
    """LaTeX or plain text -> the LaTeX the parser reads: no delimiters, Greek by name, norms as magnitudes."""
    text = re.sub(r"^\s*(?:\$\$?|\\\[|\\\()|(?:\$\$?|\\\]|\\\))\s*$", "", text.strip())
    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\s*([.])", "", text)
    text = re.sub(r"\\(?:displaystyle|quad|qquad|,|;|!)", " ", text)
    text = re.sub(r"\\(?:mathbf|boldsymbol|bm|mathcal|vec|mathbb)\s*\{([^{}]*)\}", r"\1", text)  # \\mathbf{C}_t is C_t
    text = re.sub(r"\^\s*(?:\\top|T|\{\\top\}|\{T\})(?![\w{])", "", text)  # transposes: compared as scalars
    text = re.sub(r"\\(?:leftarrow|gets|coloneqq)", "=", text)
    text = re.sub(r"[.,;]\s*$", "", text.strip())
    for letter, name in UNICODE_GREEK.items():
        text = text.replace(letter, f"\\{name} ")
    for pattern, repl in PLAIN_REWRITES:
        text = re.sub(pattern, repl, text)
    text = re.sub(rf"(?<![\\\w])({'|'.join(GREEK)})(?![A-Za-z])", r"\\\1", text)  # sigma -> \sigma
    text = re.sub(r"\\sum_\{?(\w)\}?(?!\s*[\^=])", r"\\sum_{\1=1}^{N}", text)  # \sum_j: over all j
    text = re.sub(r"\\sigma\s*\(", r"\\sigma\\left(", text)  # a function applied, not sigma times (...)

    text = re.sub(r"\\(?:text|mathrm|operatorname|textit|mathit)\s*\{([^{}]+)\}",
                  lambda m: re.sub(r"\W", "", m.group(1)), text)  # \\text{False Positives} -> FalsePositives

    def whole(m: re.Match[str]) -> str:  # FP, TN: one name when the expected formula has it
        word = m.group(0)
        return f"\\text{{{word}}}" if word.lower() in names else word

    return re.sub(r"(?<![\\\w])[A-Za-z]{2,}(?!\w)", whole, text)


def top_level_split(latex: str) -> list[str]:
    """"a = b = c" -> its sides (a relation inside braces or brackets is part of a side)."""
    sides, depth, start = [], 0, 0
    for m in re.finditer(r"[{(\[]|[})\]]|" + RELATION.pattern, latex):
        token = m.group(0)
        if token in "{([":
            depth += 1
        elif token in "})]":
            depth -= 1
        elif depth == 0:
            sides.append(latex[start:m.start()])
            start = m.end()
    sides.append(latex[start:])
    return [s for s in sides if s.strip()]


def bare_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def canonical(expr: sympy.Expr) -> sympy.Expr:
    """Symbols renamed to their bare names, so \\hat{y}_i and y_hat_i, C_t and c_t are one symbol."""
    return expr.xreplace({s: sympy.Symbol(bare_name(s.name)) for s in expr.free_symbols})


def equivalent(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Two expressions agree at random points of their symbols (a sum's bounds as small integers)."""
    a, b = canonical(a), canonical(b)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if {s.name for s in a.free_symbols} != {s.name for s in b.free_symbols}:
        return False  # a missing or extra term's symbol
    rng = random.Random(7)
    bounds = {lim for e in (a, b) for s in e.atoms(sympy.Sum, sympy.Product) for lim in s.limits
              for lim in lim[1:] if isinstance(lim, sympy.Symbol)}
    agreed = 0
    for _ in range(POINTS * 2):
        values = {s: (rng.randint(2, 4) if s in bounds else rng.uniform(0.2, 0.9)) for s in symbols}
        try:
            x = complex(a.subs(values).doit().evalf())
            y = complex(b.subs(values).doit().evalf())
        except (TypeError, ValueError, ZeroDivisionError, AttributeError):
            continue
        if not all(math.isfinite(v) for v in (x.real, x.imag, y.real, y.imag)):
            continue
        if abs(x - y) > TOLERANCE * max(1.0, abs(x), abs(y)):
            return False
        agreed += 1
        if agreed >= POINTS:
            return True
    return agreed > 0 or same_structure(a, b)


def same_structure(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Expressions no point evaluates (a function the notes leave undefined: phi(x_i)) are equal when they
    simplify to the same thing."""
    try:
        return a == b or sympy.simplify(a - b) == 0
    except (TypeError, ValueError, AttributeError, NotImplementedError):
        return False


def is_name(expr: sympy.Expr) -> bool:
    """A side that only names what is computed ("FPR", "h_t", "J(beta)"), not how."""
    from sympy.core.function import AppliedUndef

    return isinstance(expr, sympy.Symbol | AppliedUndef) or (isinstance(expr, sympy.Mul) and all(
        isinstance(f, sympy.Symbol) for f in expr.args) and len(expr.args) <= 4 and all(
        len(bare_name(f.name)) == 1 for f in expr.args))  # MSE read as M*S*E


def judge(expected: Formula, given: Sequence[Formula], spoken: Sequence[bool] = ()) -> bool | None:
    """True if the given formulas say every row of the expected one; False if one typed formula says how to
    compute and equals no row (a wrong formula); None if nothing comparable was given. A formula read from words
    ("FP divided by FP plus TN") has no brackets: it can match, not be wrong."""
    spoken = list(spoken) or [False] * len(given)

    def says_row(g: Formula, n: int) -> bool | None:
        targets = [s for s in expected.rows[n] if not is_name(s)]
        if targets and g.shown:
            return any(equivalent(t, s) for t in targets for s in g.shown)
        return text_match(expected.row_texts[n], g.text) if not targets else None

    if not any(any(s for s in row if not is_name(s)) for row in expected.rows):  # none parses: the whole text
        verdicts = [[text_match(expected.text, g.text)] for g in given]
        if any(v[0] for v in verdicts):
            return True
        wrong = any(not said and v[0] is False for said, v in zip(spoken, verdicts))
        return False if wrong else None

    verdicts = [[says_row(g, n) for n in range(len(expected.rows))] for g in given]
    if expected.rows and all(any(v[n] for v in verdicts) for n in range(len(expected.rows))):
        return True
    wrong = any(not said and row and not any(row) and any(v is False for v in row)
                for said, row in zip(spoken, verdicts))
    return False if wrong else None


def text_match(expected: str, given: str) -> bool | None:
    """Notation the parser does not read (cases, concatenation): the same symbols and operators in the same order,
    exactly (one sign differs in a wrong formula, so no fuzzy match)."""
    a, b = math_tokens(expected), math_tokens(given)
    if not b or not re.search(r"[=+\-*/^]", given):
        return None
    return strip_name(a) == strip_name(b)


def strip_name(tokens: list[str]) -> list[str]:
    """Tokens after the first "=" when the text names what it computes ("o_t = ...")."""
    return tokens[tokens.index("=") + 1:] if "=" in tokens else tokens


def math_tokens(text: str) -> list[str]:
    latex = to_latex(text, frozenset())
    latex = re.sub(r"\\(?:text|mathrm|mathbf|operatorname|left|right|cdot)\b", " ", latex)
    return [t.lower() for t in re.findall(r"[A-Za-z]+|\d+|[=+\-*/^]", latex)]
