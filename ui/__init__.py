"""The web UI: Gradio Blocks over a Rag container, mounted on the FastAPI app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rag.settings import apply_offline_env

# Every ui.* module imports gradio; its analytics switch must be off before that import.
apply_offline_env()

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from rag.app import Rag

__all__ = ["build_ui", "mount_ui"]
log = logging.getLogger(__name__)


def build_ui(rag: Rag) -> gr.Blocks:
    """The chat and notes UI over `rag`; gradio is imported here, not when `ui` is."""
    from ui.blocks import build_blocks

    return build_blocks(rag)


def mount_ui(app: FastAPI, rag: Rag, path: str = "/") -> FastAPI:
    """Mount the UI on `app` with its system-font theme (mount_gradio_app ignores a Blocks' own theme)."""
    import gradio as gr

    from ui.theme import build_theme

    blocks = build_ui(rag)
    quieten_queue(blocks)
    return gr.mount_gradio_app(app, blocks, path=path, theme=build_theme(), footer_links=["api", "settings"])


# Gradio's queue polls for work every 1 ms and for progress every 10 ms while idle: over a thousand
# event-loop wake-ups a second, 2.6 % of a core on a server nobody is using (0.8 % with these values).
# A 20 ms wait to start an event and 10 progress updates a second are still instant to a person.
QUEUE_POLL_SECONDS = 0.02
PROGRESS_POLL_SECONDS = 0.1


def quieten_queue(blocks: gr.Blocks) -> None:
    """Make the UI's idle event queue poll less often (Gradio has no public setting for it)."""
    queue = blocks._queue
    names = ("sleep_when_free", "progress_update_sleep_when_free")
    if not all(hasattr(queue, name) for name in names):  # private: a Gradio upgrade may rename them
        log.warning("this Gradio's queue has no %s; the UI keeps Gradio's own polling", " / ".join(names))
        return
    queue.sleep_when_free = QUEUE_POLL_SECONDS
    queue.progress_update_sleep_when_free = PROGRESS_POLL_SECONDS
