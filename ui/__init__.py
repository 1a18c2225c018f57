"""The web UI: Gradio Blocks over a Rag container, mounted on the FastAPI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.settings import apply_offline_env

# Every ui.* module imports gradio; its analytics switch must be off before that import.
apply_offline_env()

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from rag.app import Rag

__all__ = ["build_ui", "mount_ui"]


def build_ui(rag: Rag) -> gr.Blocks:
    """The chat and notes UI over `rag`; gradio is imported here, not when `ui` is."""
    from ui.blocks import build_blocks

    return build_blocks(rag)


def mount_ui(app: FastAPI, rag: Rag, path: str = "/") -> FastAPI:
    """Mount the UI on `app` with its system-font theme (mount_gradio_app ignores a Blocks' own theme)."""
    import gradio as gr

    from ui.theme import build_theme

    return gr.mount_gradio_app(app, build_ui(rag), path=path, theme=build_theme(), footer_links=["api", "settings"])
