"""The UI's look: a theme with system fonts only (no font CDN) and the chat/card styles."""

from __future__ import annotations

import gradio as gr


def build_theme() -> gr.themes.Base:
    """Gradio's Soft theme with local fonts: the default themes would fetch Google fonts."""
    return gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        font=[gr.themes.Font("system-ui"), gr.themes.Font("-apple-system"), "Segoe UI", "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


CSS = """
.app-header h1 { margin: 0; font-size: 1.6rem; }
.app-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.chat { display: flex; flex-direction: column; gap: 18px; padding: 4px 2px; }
.chat.empty { align-items: center; justify-content: center; min-height: 200px; text-align: center; }
.chat .hello { font-size: 1.25rem; font-weight: 600; }
.chat .hello-sub { color: var(--body-text-color-subdued); }
.turn { display: flex; flex-direction: column; gap: 6px; }
.bubble { padding: 10px 14px; border-radius: 14px; line-height: 1.55; max-width: 92%; }
.bubble.question { align-self: flex-end; background: var(--color-accent-soft);
  border: 1px solid var(--border-color-accent-subdued); white-space: pre-wrap; }
.bubble.answer { align-self: flex-start; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); box-shadow: var(--block-shadow); }
.bubble.answer .text > :first-child { margin-top: 0; }
.bubble.answer .text > :last-child { margin-bottom: 0; }
.bubble.answer .text p { margin: 0 0 8px; }
.bubble.answer .text pre { font-size: 0.82rem; padding: 8px 10px; border-radius: 8px; overflow-x: auto;
  background: var(--background-fill-secondary); }
.bubble.pending { color: var(--body-text-color-subdued); font-style: italic; }
.bubble.not-found { background: #fff8e6; border: 1px dashed #d99a00; color: #5c4400; }
.dark .bubble.not-found { background: #3a2e0a; border-color: #b88400; color: #f3e2b3; }
.nf-label { font-weight: 700; font-size: 0.8rem; text-transform: uppercase; letter-spacing: .05em;
  margin-bottom: 4px; }
.nf-label::before { content: "⚠ "; }
.answer-note { margin-top: 6px; font-size: 0.85rem; font-style: italic;
  color: var(--body-text-color-subdued); }
.attribution, .quotes { margin: 4px 0; font-size: 0.85rem; }
.attribution summary, .quotes summary { cursor: pointer; color: var(--body-text-color-subdued); }
.attribution li.unsupported { text-decoration: line-through; color: var(--body-text-color-subdued); }
.attribution li.unsupported .by { text-decoration: none; display: inline-block; }
.attribution .by { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.chat a.cite { text-decoration: none; font-weight: 600; font-size: 0.85em; padding: 0 2px; border-radius: 4px;
  color: var(--color-accent); }
.chat a.cite:hover { background: var(--color-accent-soft); }
.query-used { font-size: 0.78rem; color: var(--body-text-color-subdued); margin-left: 4px; }
.badge { display: inline-block; font-size: 0.7rem; padding: 0 6px; margin-right: 6px; border-radius: 8px;
  border: 1px solid var(--border-color-primary); }
.cards-title { font-size: 0.8rem; font-weight: 600; color: var(--body-text-color-subdued);
  margin: 6px 0 0 4px; text-transform: uppercase; letter-spacing: .05em; }
.cards { display: flex; flex-direction: column; gap: 8px; }
.card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 10px;
  background: var(--background-fill-secondary); scroll-margin-top: 12px; }
.card:target, .card:focus { outline: 2px solid var(--color-accent); }
.card-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; font-size: 0.85rem; }
.card-head .num { display: inline-flex; align-items: center; justify-content: center; min-width: 1.5em;
  height: 1.5em; border-radius: 50%; background: var(--color-accent); color: white; font-weight: 700;
  font-size: 0.8rem; }
.card-head .src { font-family: var(--font-mono); font-weight: 600; }
.card-head .heading { color: var(--body-text-color-subdued); flex: 1 1 0; min-width: 0; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.card-head .lines { margin-left: auto; font-family: var(--font-mono); font-size: 0.78rem; padding: 0 6px;
  border-radius: 6px; background: var(--color-accent-soft); }
.excerpt { font-family: var(--font-mono); font-size: 0.8rem; margin-top: 6px; overflow-x: auto; }
.excerpt .ln { display: block; white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 6px 0 4em;
  text-indent: -3.6em; border-left: 3px solid transparent; }
.excerpt .ln .no { display: inline-block; width: 3.6em; text-indent: 0; color: var(--body-text-color-subdued);
  user-select: none; }
.excerpt .ln.cited { background: rgba(250, 204, 21, 0.28); border-left-color: #eab308; }
.excerpt .ln.formula-rest { display: none; }
.excerpt .ln.formula .no::after { content: "–" attr(data-to); }
.excerpt .ln.formula .no { display: block; width: auto; }  /* "1036–1038" above the typeset formula */
.excerpt .ln.more { color: var(--body-text-color-subdued); }
.card details summary { cursor: pointer; font-size: 0.8rem; color: var(--color-accent); margin-top: 6px; }
.excerpt.full { max-height: 360px; overflow: auto; }
.notes-table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
/* Gradio's prose styles box every table cell; these tables read better ruled by rows only. */
table.notes-table th, table.notes-table td { text-align: left; padding: 4px 8px; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; }
.bubble.answer { min-width: 0; }
.bubble.answer .table-scroll { overflow-x: auto; max-width: 100%; margin: 6px 0; }
.bubble.answer table { font-size: 0.88rem; margin: 0; }
.bubble.answer .math.display { display: block; overflow-x: auto; overflow-y: hidden; }
.excerpt .math.display { display: inline-block; max-width: 100%; overflow-x: auto; vertical-align: middle; }
.excerpt .math.display .katex-display { margin: 0; }
.query-used button.copy { font-size: 0.75rem; font-weight: 500; line-height: 1.5; padding: 0 8px;
  margin-right: 8px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.query-used button.copy:hover { background: var(--color-accent-soft); }
.bubble.answer th, .bubble.answer td { padding: 4px 8px !important;
  border-color: var(--border-color-primary) !important; }
table.notes-table tfoot td { color: var(--body-text-color-subdued); border-bottom: none !important; }
.notes-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.notes-table tr.st-failed td, .notes-table tr.st-skipped td { color: #b45309; }
/* The progress slot is tall enough for the counter line above the bar ("193/316 texts | 4.6s"). */
#index-progress { min-height: 96px; }
.report-summary { font-weight: 600; margin-bottom: 6px; }
.index-status { color: var(--body-text-color-subdued); font-size: 0.9rem; padding: 2px 8px; }
.index-status.failed { color: #b45309; }
.notes-empty { color: var(--body-text-color-subdued); padding: 8px; }
.examples button { font-size: 0.85rem; }
"""
