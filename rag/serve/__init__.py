"""Serving: create_app(rag) -> FastAPI, its routers (REST, OpenAI-compatible, quiz, MCP), wire models, error table."""
