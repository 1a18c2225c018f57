"""Word equations (OMML, the `m:` elements of a .docx) as LaTeX that KaTeX renders (pure).

No package on PyPI does this well (omml2latex 0.1 does not import on Python 3.11, dwml is unmaintained since 2020,
officemath2latex writes `\\nicefrac`, which KaTeX refuses), so this covers the elements Word's equation editor
writes: fractions, scripts, radicals, sums and integrals, delimiters, functions, accents, bars, braces, limits,
matrices and equation arrays; anything else gives the LaTeX of what it contains.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
FUNCTIONS = frozenset(("sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
                       "tanh", "coth", "log", "ln", "lg", "exp", "lim", "liminf", "limsup", "max", "min", "sup", "inf",
                       "det", "gcd", "arg", "deg", "dim", "ker", "hom", "Pr"))
GREEK = dict(zip("αβγδεζηθικλμνξπρςστυφχψωϵϑϕϖϱΓΔΘΛΞΠΣΥΦΨΩ", (
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "xi",
    "pi", "rho", "varsigma", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "epsilon", "vartheta", "phi",
    "varpi", "varrho", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega")))
OPERATORS = dict(zip("±∓×÷·⋅∙≤≥≠≈≡∼≅∝∞∂∇→←↔⇒⇐⇔↦∈∉∋⊂⊆⊃⊇∪∩∅∀∃¬∧∨⊕⊗∘…⋯⋮⋱∑∏∫∠⊥∥ℓℏ⟨⟩∣≪≫⊤≜↑↓", (
    "pm", "mp", "times", "div", "cdot", "cdot", "cdot", "leq", "geq", "neq", "approx", "equiv", "sim", "cong",
    "propto", "infty", "partial", "nabla", "to", "leftarrow", "leftrightarrow", "Rightarrow", "Leftarrow",
    "Leftrightarrow", "mapsto", "in", "notin", "ni", "subset", "subseteq", "supset", "supseteq", "cup", "cap",
    "emptyset", "forall", "exists", "neg", "wedge", "vee", "oplus", "otimes", "circ", "ldots", "cdots", "vdots",
    "ddots", "sum", "prod", "int", "angle", "perp", "parallel", "ell", "hbar", "langle", "rangle", "mid", "ll", "gg",
    "top", "triangleq", "uparrow", "downarrow")))
SYMBOLS = {char: f"\\{name} " for char, name in (GREEK | OPERATORS).items()} | {
    "−": "-", "∗": "*", "′": "'", "″": "''", "\u2061": "", "\u2062": "", "\u2063": ",", "\u2064": "+",  # invisible
    "{": "\\{", "}": "\\}", "#": "\\#", "%": "\\%", "&": "\\&", "$": "\\$", "_": "\\_", "\\": "\\backslash ",
    "~": "\\sim ", "°": "^{\\circ}", "ℝ": "\\mathbb{R}", "ℕ": "\\mathbb{N}", "ℤ": "\\mathbb{Z}", "ℚ": "\\mathbb{Q}",
    "ℂ": "\\mathbb{C}"}
NARY = {"∑": "\\sum", "∏": "\\prod", "∐": "\\coprod", "∫": "\\int", "∬": "\\iint", "∭": "\\iiint", "∮": "\\oint",
        "⋃": "\\bigcup", "⋂": "\\bigcap", "⋁": "\\bigvee", "⋀": "\\bigwedge", "⨁": "\\bigoplus", "⨂": "\\bigotimes"}
ACCENTS = {"\u0302": "\\hat", "\u0303": "\\tilde", "\u0304": "\\bar", "\u0305": "\\overline", "\u20d7": "\\vec",
           "\u0307": "\\dot", "\u0308": "\\ddot", "\u0301": "\\acute", "\u0300": "\\grave", "\u0306": "\\breve",
           "\u030c": "\\check", "\u20e1": "\\overleftrightarrow"}
DELIMITERS = {"": ".", "{": "\\{", "}": "\\}", "‖": "\\|", "⟨": "\\langle ", "⟩": "\\rangle ", "〈": "\\langle ",
              "〉": "\\rangle ", "⌊": "\\lfloor ", "⌋": "\\rfloor ", "⌈": "\\lceil ", "⌉": "\\rceil "}
COMMAND_SPACE = re.compile(r"(\\[A-Za-z]+) +(?![A-Za-z])")  # the space after `\alpha ` only a letter needs


def equation_latex(omath: Any) -> str:
    """The LaTeX of one `m:oMath` element, without delimiters."""
    return COMMAND_SPACE.sub(r"\1", " ".join(latex(omath).split()))


def latex(element: Any) -> str:
    """The LaTeX of an OMML element: its own form where it has one, else that of its children in order."""
    convert = CONVERTERS.get(element.tag)
    return convert(element) if convert else "".join(
        latex(child) for child in element if not local(child).endswith(("Pr", "del")))


def local(element: Any) -> str:
    return str(element.tag).rpartition("}")[2]


def part(element: Any, name: str) -> str:
    """The LaTeX of a named argument (`m:num`, `m:sub`, …), "" if it has none."""
    child = element.find(f"{M}{name}")
    return latex(child) if child is not None else ""


def prop(element: Any, name: str, default: str) -> str:
    """A property's `m:val` from the element's own `…Pr` (`m:chr`, `m:type`…), `default` where it is not set."""
    props = next((child for child in element if local(child) == local(element) + "Pr"), None)
    found = props.find(f"{M}{name}") if props is not None else None
    return default if found is None else found.get(f"{M}val", "")


def flag(element: Any, name: str) -> bool:
    """An on/off property (`m:degHide`…), on when set without a value."""
    return prop(element, name, "off") in ("", "on", "1", "true")


def run(element: Any) -> str:
    """Text: letters as they are (Word's math italic as plain), symbols as commands, a normal-text run in \\text."""
    text = "".join(node.text or "" for node in element.iter(f"{M}t"))
    text = "".join(unicodedata.normalize("NFKC", char) if 0x1D400 <= ord(char) <= 0x1D7FF or char == "ℎ" else char
                   for char in text)
    style = element.find(f"{M}rPr")
    if style is not None and style.find(f"{M}nor") is not None and re.search(r"[A-Za-z]{2}", text):
        return f"\\text{{{text}}}"
    if style is not None and style.find(f"{M}sty") is not None and text.strip() in FUNCTIONS:
        return f"\\{text.strip()} "  # Word sets the function names it knows upright
    return "".join(SYMBOLS.get(char, char) for char in text)


def base(element: Any) -> str:
    """The `m:e` a script attaches to, braced unless it is one symbol."""
    text = part(element, "e").strip()
    return text if len(text) == 1 or re.fullmatch(r"\\[A-Za-z]+", text) else f"{{{text}}}"


def scripts(element: Any, pre: bool = False) -> str:
    sub, sup = part(element, "sub"), part(element, "sup")
    marks = (f"_{{{sub}}}" if element.find(f"{M}sub") is not None else "") + \
        (f"^{{{sup}}}" if element.find(f"{M}sup") is not None else "")
    return f"{{}}{marks}{base(element)}" if pre else base(element) + marks


def fraction(element: Any) -> str:
    num, den = part(element, "num"), part(element, "den")
    kind = prop(element, "type", "bar")
    if kind in ("lin", "skw"):
        return f"{{{num}}}/{{{den}}}"
    return f"\\genfrac{{}}{{}}{{0pt}}{{}}{{{num}}}{{{den}}}" if kind == "noBar" else f"\\frac{{{num}}}{{{den}}}"


def radical(element: Any) -> str:
    degree, inner = part(element, "deg").strip(), part(element, "e")
    return f"\\sqrt{{{inner}}}" if flag(element, "degHide") or not degree else f"\\sqrt[{degree}]{{{inner}}}"


def nary(element: Any) -> str:
    """A sum, product or integral with its limits (hidden ones left out) and what it applies to."""
    symbol = prop(element, "chr", "∫") or "∫"
    text = NARY.get(symbol, SYMBOLS.get(symbol, symbol).strip())
    for script, mark in (("sub", "_"), ("sup", "^")):
        if not flag(element, f"{script}Hide") and part(element, script):
            text += f"{mark}{{{part(element, script)}}}"
    return f"{text} {part(element, 'e')}"


def delimiter(element: Any) -> str:
    """Brackets around the `m:e` parts, which the separator (`|` by default) divides."""
    opening, closing = prop(element, "begChr", "("), prop(element, "endChr", ")")
    separator = SYMBOLS.get(sep := prop(element, "sepChr", "|"), sep)
    inner = separator.join(latex(child) for child in element.findall(f"{M}e"))
    return f"\\left{DELIMITERS.get(opening, opening)}{inner}\\right{DELIMITERS.get(closing, closing)}"


def accent(element: Any) -> str:
    command = ACCENTS.get(prop(element, "chr", "\u0302"), "\\hat")
    return f"{command}{{{part(element, 'e')}}}"


def bar(element: Any) -> str:
    command = "\\overline" if prop(element, "pos", "bot") == "top" else "\\underline"
    return f"{command}{{{part(element, 'e')}}}"


def group_character(element: Any) -> str:
    """A brace (or an arrow) over or under an expression."""
    symbol, top = prop(element, "chr", "⏟") or "⏟", prop(element, "pos", "bot") == "top"
    if symbol in "⏞⏟":
        return ("\\overbrace" if symbol == "⏞" else "\\underbrace") + f"{{{part(element, 'e')}}}"
    return ("\\overset" if top else "\\underset") + f"{{{run_of(symbol)}}}{{{part(element, 'e')}}}"


def limit(element: Any) -> str:
    """`lim` under its limit (`\\lim_{n\\to\\infty}`), or any expression with one under or over it."""
    over, text, lim = local(element) == "limUpp", part(element, "e").strip(), part(element, "lim")
    if text.lstrip("\\") in FUNCTIONS:
        return f"{text}{'^' if over else '_'}{{{lim}}}"
    return ("\\overset" if over else "\\underset") + f"{{{lim}}}{{{text}}}"


def function(element: Any) -> str:
    """`\\sin x`: a name Word did not set upright is still one LaTeX knows."""
    name = part(element, "fName").strip()
    return ("\\" if name in FUNCTIONS else "") + f"{name} {part(element, 'e')}"


def matrix(element: Any) -> str:
    rows = [" & ".join(latex(cell) for cell in row.findall(f"{M}e")) for row in element.findall(f"{M}mr")]
    return "\\begin{matrix}" + " \\\\ ".join(rows) + "\\end{matrix}"


def equation_array(element: Any) -> str:
    """Aligned rows; a `&` typed in a row is Word's alignment mark, as it is LaTeX's."""
    rows = [latex(row).replace("\\&", "&") for row in element.findall(f"{M}e")]
    return "\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}"


def run_of(symbol: str) -> str:
    return SYMBOLS.get(symbol, symbol).strip()


CONVERTERS: dict[str, Callable[[Any], str]] = {f"{M}{name}": convert for name, convert in (
    ("r", run), ("f", fraction), ("sSup", scripts), ("sSub", scripts), ("sSubSup", scripts),
    ("sPre", lambda element: scripts(element, pre=True)), ("rad", radical), ("nary", nary), ("d", delimiter),
    ("acc", accent), ("bar", bar), ("groupChr", group_character), ("limLow", limit), ("limUpp", limit),
    ("func", function), ("m", matrix), ("eqArr", equation_array))}
