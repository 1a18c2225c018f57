"""The Gradio Blocks layout: a chat tab, a notes tab and a quiz tab, each event wired to a handler."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.ingest import NOTE_SUFFIXES
from ui import chat, data, notes
from ui.quiz import QUIZ_CSS, quiz_tab
from ui.render import Turn, render_conversation
from ui.script import conversation_js, katex_head
from ui.theme import CSS

if TYPE_CHECKING:
    from rag.app import Rag

PROGRESS = gr.Progress()  # Gradio spots a progress parameter by this default and passes a fresh tracker


def build_blocks(rag: Rag) -> gr.Blocks:
    """The whole UI over one Rag container; nothing touches the store until a page loads."""
    with gr.Blocks(title="notes-rag", analytics_enabled=False) as demo:
        gr.HTML(
            '<div class="app-header"><h1>notes-rag</h1>'
            "<p>Ask your study notes; every answer is cited to the exact lines.</p></div>",
            # carried by the Blocks itself, so any mount gets the styles
            head=f"<style>{CSS}{QUIZ_CSS}</style>{katex_head()}",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat") as chat_page:
                restrict = chat_tab(rag)
            with gr.Tab("Notes", id="notes") as notes_page:
                listing, status, seen = notes_tab(rag, restrict)
            quiz_tab(rag)
        demo.load(lambda: notes.refresh(rag), outputs=listing, api_visibility="private")
        follow_index(rag, status, seen, listing, notes_page, chat_page)
    return demo


def settings_panel(rag: Rag) -> tuple[gr.Slider, gr.Dropdown, gr.Radio]:
    """How many passages, which notes, which answer mode."""
    llm = bool(rag.settings.llm_base_url)
    with gr.Accordion("Settings", open=True):
        k = gr.Slider(1, 20, value=5, step=1, label="Passages (k)")
        sources = gr.Dropdown(
            [],
            value=[],
            multiselect=True,
            label="Only these notes",
            info="Empty searches every note.",
            elem_id="restrict-sources",
            # The names are filled per page when it loads; an API client (gradio_client) sends its own, which the
            # answer checks against the index (an unknown note is said so, not refused by the widget).
            allow_custom_value=True,
        )
        mode = gr.Radio(
            ["extractive", "llm"] if llm else ["extractive"],
            value="extractive",
            label="Answer mode",
            interactive=llm,
            info=None if llm else "Set RAG_LLM_BASE_URL for generated answers.",
        )
    return k, sources, mode


def conversation_column() -> tuple[gr.HTML, gr.Row, list[gr.Button], gr.Textbox, gr.Button]:
    """The conversation, the example questions, the question box and "New chat"."""
    conversation = gr.HTML(
        render_conversation([]),
        label="conversation",  # the name an API client sees for this output
        elem_id="conversation",
        min_height=260,
        max_height=720,
        padding=True,
        js_on_load=conversation_js(),
    )
    with gr.Row(elem_classes="examples") as examples:
        buttons = [gr.Button(q, size="sm", variant="secondary") for q in chat.EXAMPLES]
    with gr.Row():
        question = gr.Textbox(
            placeholder="Ask your notes a question…",
            label="question",
            show_label=False,
            scale=6,
            autofocus=True,
            elem_id="question",
            submit_btn="Ask",
        )
        clear = gr.Button("New chat", scale=1, elem_id="new-chat")
    return conversation, examples, buttons, question, clear


def chat_tab(rag: Rag) -> gr.Dropdown:
    """Conversation, question box, examples, settings; `ask` is the API name clients call."""
    turns = gr.State([])
    with gr.Row():
        with gr.Column(scale=4):
            conversation, examples, buttons, question, clear = conversation_column()
        with gr.Column(scale=1, min_width=280):
            k, sources, mode = settings_panel(rag)

    def ask(
        question: str, turns: list[Turn], k: float, sources: list[str] | None, mode: str | None
    ) -> Iterator[chat.ChatOutput]:
        """Answer a question from the notes, with the cited passages."""
        yield from chat.respond(rag, question, turns, k, sources, mode)

    outputs = [conversation, turns, question, examples]
    inputs = [question, turns, k, sources, mode]
    # A question sent while the last answer is still arriving (Enter pressed as it appears) runs once that one is
    # done, reading the box then; Gradio's default ("once") would drop it and leave it in the box.
    question.submit(ask, inputs, outputs, api_name="ask", show_progress="hidden", trigger_mode="always_last")
    for button in buttons:
        button.click(lambda q: q, button, question, api_visibility="private", queue=False).then(
            ask, inputs, outputs, api_visibility="private", show_progress="hidden"
        )
    clear.click(chat.new_chat, None, outputs, api_visibility="private", queue=False)

    def answer(
        question: str, history: list[dict[str, str]] | None = None, sources: list[str] | None = None, k: int = 5
    ) -> dict[str, Any]:
        """The cited answer as data: answer (markdown), answered, search_query, mode and citations (each with
        n, source, start_line, end_line, cited_start_line, cited_end_line, heading, text), as POST /v1/ask.
        history: earlier turns, [{"role": "user" or "assistant", "content": str}]; sources: only these notes."""
        return data.answer_data(rag, question, history, sources, k)

    gr.api(answer, api_name="answer")
    return sources


@dataclass(frozen=True)
class Confirm:
    """The question asked before a delete, in the page with its own buttons (not the browser's confirm())."""

    box: gr.Column
    question: gr.HTML
    yes: gr.Button
    no: gr.Button


def confirm_panel() -> Confirm:
    """The hidden confirmation panel, shown under the Delete button when it is pressed."""
    # a panel column, not a gr.Group: a group flattens the buttons in it (no radius, no border)
    with gr.Column(visible=False, variant="panel", elem_id="delete-confirm") as box:
        question = gr.HTML(elem_classes="confirm-question", padding=True)
        with gr.Row():
            yes = gr.Button("Delete", variant="stop", elem_id="delete-yes")
            no = gr.Button("Cancel", elem_id="delete-cancel")
    return Confirm(box, question, yes, no)


def notes_controls(rag: Rag) -> tuple[gr.Textbox, gr.File, gr.Button, gr.Dropdown, gr.Button, Confirm, gr.Button,
                                      gr.Checkbox, gr.Button]:
    """The API key (when one is set), upload, delete (with its confirmation) and re-index controls."""
    key = gr.Textbox(
        label="API key",
        type="password",
        visible=bool(rag.settings.api_key),
        info="Needed to change the notes (RAG_API_KEY).",
    )
    files = gr.File(file_count="multiple", file_types=list(NOTE_SUFFIXES), label="Upload notes", elem_id="upload")
    add = gr.Button("Add and index", variant="primary", elem_id="add-notes")
    with gr.Row():
        victim = gr.Dropdown([], label="Delete a note", elem_id="delete-choice", scale=3)
        remove = gr.Button("Delete", variant="stop", elem_id="delete-note", scale=1)
    confirm = confirm_panel()
    undo = gr.Button("Undo delete", visible=False, elem_id="undo-delete")  # shown after a delete, naming the note
    rebuild = gr.Checkbox(label="Rebuild from scratch", value=False)
    again = gr.Button("Re-index", elem_id="reindex")
    return key, files, add, victim, remove, confirm, undo, rebuild, again


def ask_to_delete(source: str | None) -> tuple[Any, str, str]:
    """Show the confirmation naming the note (what its Delete button deletes, whatever is picked meanwhile)."""
    if not source:
        raise gr.Error("Pick a note to delete first.", print_exception=False)
    question = (f"<p>Delete the note <b>“{escape(source)}”</b>? Its file moves to the trash; "
                "<b>Undo</b> brings it back.</p>")
    return gr.update(visible=True), question, source


def notes_tab(rag: Rag, restrict: gr.Dropdown) -> tuple[list[gr.Component], gr.HTML, gr.State]:
    """Indexed notes; upload, delete, re-index with a progress bar and the per-file report; the index status line."""
    with gr.Row():
        with gr.Column(scale=3):
            status = gr.HTML(elem_id="index-status")
            table = gr.HTML(elem_id="notes-table")
            # The progress bar gets a slot of its own, shown only during a run, so it never covers the report.
            slot = gr.HTML(elem_id="index-progress", visible=False)
            report = gr.HTML(elem_id="index-report")
        with gr.Column(scale=2):
            controls = notes_controls(rag)
    asked = gr.State(None)  # the note the confirmation names
    deleted = gr.State(None)  # the note this page deleted last: what Undo restores
    listing: list[gr.Component] = [table, controls[3], restrict]
    seen = gr.State(None)  # what this page's list shows; see follow_index
    wire_notes(rag, [report, *listing], slot, seen, controls, asked, deleted)
    return listing, status, seen


def wire_notes(rag: Rag, changed: list[gr.Component], slot: gr.HTML, seen: gr.State, controls: tuple[Any, ...],
               asked: gr.State, deleted: gr.State) -> None:
    """The Notes tab's buttons: each write runs with its progress bar in `slot`, then updates what is `changed`."""
    key, files, add, victim, remove, confirm, undo, rebuild, again = controls

    def on_upload(files: list[str] | None, key: str | None, progress: gr.Progress = PROGRESS) -> Any:
        return notes.upload(rag, files, key, progress)

    def on_delete(source: str | None, key: str | None, progress: gr.Progress = PROGRESS) -> Any:
        done = notes.delete(rag, source, key, progress)
        return (*done, gr.update(visible=True, value=f"Undo: restore {source}"), source)

    def on_undo(source: str | None, key: str | None, progress: gr.Progress = PROGRESS) -> Any:
        return (*notes.restore(rag, source, key, progress), gr.update(visible=False), None)

    def on_reindex(rebuild: bool, key: str | None, progress: gr.Progress = PROGRESS) -> Any:
        return notes.reindex(rag, rebuild, key, progress)

    quick: dict[str, Any] = {"api_visibility": "private", "queue": False}

    def show_slot() -> Any:
        return gr.update(visible=True)

    def run(event: Any, fn: Callable[..., Any], inputs: list[gr.Component], also: Sequence[gr.Component] = ()) -> Any:
        """Then `fn` with its progress bar in the slot, then the slot hidden and what the page lists noted."""
        return event.then(fn, inputs, [*changed, *also], show_progress_on=slot, api_visibility="private").then(
            lambda: gr.update(visible=False), None, slot, **quick
        ).then(lambda: notes.seen_now(rag), None, seen, **quick)

    run(add.click(show_slot, None, slot, **quick), on_upload, [files, key]).then(lambda: None, None, files, **quick)
    remove.click(ask_to_delete, victim, [confirm.box, confirm.question, asked], api_visibility="private")
    confirm.no.click(lambda: (gr.update(visible=False), None), None, [confirm.box, asked], **quick)
    yes = confirm.yes.click(lambda: (gr.update(visible=False), gr.update(visible=True)), None, [confirm.box, slot],
                            **quick)
    run(yes, on_delete, [asked, key], [undo, deleted])
    run(undo.click(show_slot, None, slot, **quick), on_undo, [deleted, key], [undo, deleted])
    run(again.click(show_slot, None, slot, **quick), on_reindex, [rebuild, key])


STATUS_SECONDS = 2.0  # how often an open Notes tab looks at the index status (an in-memory read)


def follow_index(rag: Rag, status: gr.HTML, seen: gr.State, listing: list[gr.Component], shown: gr.Tab,
                 hidden: gr.Tab) -> None:
    """Keep the Notes tab's status line (and, after a run, its list) current while that tab is open.

    The folder watcher indexes behind the page's back; the timer runs only while the tab is shown.
    """
    timer = gr.Timer(STATUS_SECONDS, active=False)
    outputs = [status, seen, *listing]
    _, victim, restrict = listing

    def tick(seen: Any, victim: str | None, restricted: list[str] | None) -> notes.FollowOutput:
        return notes.follow(rag, seen, victim, restricted)

    def on_show(seen: Any, victim: str | None, restricted: list[str] | None) -> tuple[Any, ...]:
        return (*notes.follow(rag, seen, victim, restricted), gr.Timer(active=True))

    shown.select(on_show, [seen, victim, restrict], [*outputs, timer], api_visibility="private",
                 show_progress="hidden", queue=False)
    hidden.select(lambda: gr.Timer(active=False), None, timer, api_visibility="private", queue=False)
    timer.tick(tick, [seen, victim, restrict], outputs, api_visibility="private", show_progress="hidden",
               queue=False)
