"""Word equations (OMML) -> LaTeX: each element Word's equation editor writes, in the markup it writes."""

from __future__ import annotations

import pytest
from docx.oxml import parse_xml

from rag.ingest.omml import equation_latex

NS = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'


def r(text: str, upright: bool = False) -> str:
    style = '<m:rPr><m:sty m:val="p"/></m:rPr>' if upright else ""
    return f"<m:r>{style}<m:t>{text}</m:t></m:r>"


def e(*parts: str, tag: str = "e") -> str:
    return f"<m:{tag}>{''.join(parts)}</m:{tag}>"


@pytest.mark.parametrize(("omml", "latex"), [
    (r("𝛼") + r("+", True) + r("𝛽") + r("≤", True) + r("∞", True), r"\alpha+\beta\leq\infty"),
    (f'<m:f><m:fPr><m:type m:val="lin"/></m:fPr>{e(r("a"), tag="num")}{e(r("b"), tag="den")}</m:f>', "{a}/{b}"),
    (f"<m:sSubSup>{e(r('x'))}{e(r('i'), tag='sub')}{e(r('2'), tag='sup')}</m:sSubSup>", "x_{i}^{2}"),
    (f"<m:sPre>{e(r('1'), tag='sub')}{e(r('2'), tag='sup')}{e(r('X'))}</m:sPre>", "{}_{1}^{2}X"),
    (f"<m:rad>{e(r('3'), tag='deg')}{e(r('x'))}</m:rad>", r"\sqrt[3]{x}"),
    (f"<m:nary><m:naryPr><m:subHide m:val=\"1\"/><m:supHide m:val=\"1\"/></m:naryPr><m:sub/><m:sup/>{e(r('f'))}"
     "</m:nary>", r"\int f"),  # an integral is the default n-ary operator
    (f'<m:d><m:dPr><m:begChr m:val="|"/><m:endChr m:val="|"/></m:dPr>{e(r("x"))}</m:d>', r"\left|x\right|"),
    (f'<m:d><m:dPr><m:begChr m:val="⟨"/><m:sepChr m:val=","/><m:endChr m:val="⟩"/></m:dPr>{e(r("u"))}{e(r("v"))}'
     "</m:d>", r"\left\langle u,v\right\rangle"),
    (f'<m:d><m:dPr><m:begChr m:val="{{"/><m:endChr m:val=""/></m:dPr>{e(r("a"))}</m:d>', r"\left\{a\right."),
    (f"<m:limLow>{e(r('lim', True))}{e(r('𝑛'), r('→', True), r('∞', True), tag='lim')}</m:limLow>",
     r"\lim_{n\to\infty}"),
    (f'<m:acc><m:accPr><m:chr m:val="⃗"/></m:accPr>{e(r("v"))}</m:acc>', r"\vec{v}"),
    (f"<m:acc>{e(r('y'))}</m:acc>", r"\hat{y}"),  # a hat is the default accent
    (f'<m:bar><m:barPr><m:pos m:val="top"/></m:barPr>{e(r("x"))}</m:bar>', r"\overline{x}"),
    (f"<m:groupChr>{e(r('a'), r('+', True), r('b'))}</m:groupChr>", r"\underbrace{a+b}"),
    (f"<m:m><m:mr>{e(r('1'))}{e(r('0'))}</m:mr><m:mr>{e(r('0'))}{e(r('1'))}</m:mr></m:m>",
     r"\begin{matrix}1 & 0 \\ 0 & 1\end{matrix}"),
    (f"<m:eqArr>{e(r('𝑥'), r('&amp;=', True), r('1'))}{e(r('𝑦'), r('&amp;=', True), r('2'))}</m:eqArr>",
     r"\begin{aligned}x&=1 \\ y&=2\end{aligned}"),
    ('<m:r><m:rPr><m:nor/></m:rPr><m:t>if x odd</m:t></m:r>', r"\text{if x odd}"),
    (r("{50%}", True), r"\{50\%\}"),
])
def test_omml_elements_as_latex(omml: str, latex: str) -> None:
    assert equation_latex(parse_xml(f"<m:oMath {NS}>{omml}</m:oMath>")) == latex
