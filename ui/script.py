"""The page's browser side: formulas typeset with KaTeX from Gradio's own assets, citation jumps, copy buttons."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def katex_assets() -> tuple[str, str] | None:
    """KaTeX's module and stylesheet as Gradio ships them (hashed names under its `assets/` route), or None."""
    from gradio.route_utils import BUILD_PATH_LIB

    folder = Path(BUILD_PATH_LIB)
    found = [sorted(folder.glob(f"katex-*.{ext}")) for ext in ("js", "css")]
    if not all(len(names) == 1 for names in found):  # a Gradio upgrade may bundle it differently
        log.warning("no single KaTeX bundle in %s; formulas are shown as TeX", folder)
        return None
    return f"assets/{found[0][0].name}", f"assets/{found[1][0].name}"


def katex_head() -> str:
    """The KaTeX stylesheet link for the page's <head> (relative to Gradio's <base>, so any mount path works)."""
    assets = katex_assets()
    return f'<link rel="stylesheet" href="{assets[1]}">' if assets else ""


# `element` is the gr.HTML component; its `.math` spans (ui.render.math_span) are typeset once each.
TYPESET_JS = """
const katexUrl = KATEX_URL && new URL(KATEX_URL, document.baseURI).href;
let katex = null;
function typeset() {
  if (!katexUrl || !element.querySelector('.math:not([data-typeset])')) return;
  katex ??= import(katexUrl).then(module => module.default);
  katex.then(k => element.querySelectorAll('.math:not([data-typeset])').forEach(math => {
    const tex = math.textContent;
    math.dataset.typeset = '';
    k.render(tex, math, {displayMode: math.classList.contains('display'), throwOnError: false});
  }));
}
"""
# Any other HTML component showing formulas: typeset whatever each new value brings.
MATH_JS = """
new MutationObserver(typeset).observe(element, {childList: true, subtree: true});
typeset();
"""
# Gradio's page has a <base href>, so a plain "#t0-c1" link would navigate to the base URL (dropping
# ?__theme=dark and the conversation): jumps are done here.
CONVERSATION_JS = """
let seen = 0, following = false;
new MutationObserver(() => {
  // Gradio's autoscroll gives up once a tall answer pushes the bottom out of reach: bring each new
  // question to the top instead, so its answer streams in below it. Scrolled once, it would stop where
  // the page ended while the answer was still "Searching…": it is kept at the top until the answer is in.
  const turns = element.querySelectorAll('.turn');
  const last = turns[turns.length - 1];
  if (turns.length > seen) following = true;
  if (following && last) {
    last.scrollIntoView({block: 'start'});
    following = last.classList.contains('streaming');
  }
  seen = turns.length;
  typeset();
}).observe(element, {childList: true, subtree: true});
typeset();
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = Object.assign(document.createElement('textarea'), {value: text});
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
  return Promise.resolve();
}
element.addEventListener('click', event => {
  const cite = event.target.closest('a.cite');
  if (cite) {
    event.preventDefault();
    const id = cite.getAttribute('href').slice(1);
    const card = document.getElementById(id);
    if (!card) return;
    card.scrollIntoView({block: 'nearest'});
    card.focus({preventScroll: true});
    history.replaceState(history.state, '', location.pathname + location.search + '#' + id);
    return;
  }
  const button = event.target.closest('button.copy');
  if (button) copyText(button.dataset.copy).then(() => {
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
});
"""


def with_katex(js: str) -> str:
    """`js` after the typesetting function, with the URL of Gradio's KaTeX module filled in."""
    assets = katex_assets()
    return f"const KATEX_URL = {json.dumps(assets[0] if assets else None)};\n{TYPESET_JS}{js}"


def conversation_js() -> str:
    """The conversation's js_on_load: formulas, the scroll to each new question, citation jumps, copy buttons."""
    return with_katex(CONVERSATION_JS)


def math_js() -> str:
    """The js_on_load of an HTML component that shows formulas (the Quiz tab's card and result): KaTeX, as the chat."""
    return with_katex(MATH_JS)
