# notes-rag: the API and web UI in one container; `docker compose up` pairs it with a Chroma server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAG_DATA_DIR=/data \
    RAG_CORPUS_DIR=/app/corpus \
    TIKTOKEN_CACHE_DIR=/app/.tiktoken

# The same order as `make run`: torch first and pinned. PyPI's Linux torch wheel pulls CUDA (GBs); the CPU
# index offers 2.13.0+cpu, which satisfies the project's `torch==2.13.0` pin.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --extra-index-url "${TORCH_INDEX_URL}" torch==2.13.0

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag ./rag
COPY ui ./ui
COPY eval ./eval
# Export the ONNX model and seed tiktoken at build time, not on every first start: a new named volume
# on /data starts as a copy of the image's /data. Runs as uid 1000, the usual owner of ./corpus on the host.
RUN pip install . \
    && useradd --create-home --uid 1000 rag \
    && mkdir -p /data /app/corpus /app/.tiktoken \
    && RAG_CORPUS_DIR=/tmp python -c "from rag.app import build; build().embedder.embed(['warm up'])" \
    && python -c "from rag.tokens import seed_tiktoken_cache; seed_tiktoken_cache()" \
    && chown -R rag:rag /data /app/corpus /app/.tiktoken

USER rag
EXPOSE 8000
# `rag serve` listens on loopback only unless RAG_API_KEY is set (writes need the key on a shared
# interface): docker-compose.yml requires it. `docker run` needs `-e RAG_API_KEY=...` too.
CMD ["sh", "-c", "rag index && exec rag serve --host 0.0.0.0"]
