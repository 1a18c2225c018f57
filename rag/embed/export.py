"""One-off export of the embedding transformer to a fused (and optionally int8) ONNX file.

Imported only when the cached ONNX file is missing: it needs torch and transformers.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger(__name__)

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
# Op types that show ORT's BERT optimizer actually fused the attention blocks.
FUSED_ATTENTION_OPS = ("Attention", "MultiHeadAttention", "QAttention")


class HiddenStates(torch.nn.Module):
    """Returns only the last hidden state, so the graph has one plain output."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state


def build_onnx_model(model_dir: Path, dest: Path, precision: str) -> Path:
    """Export, fuse and (for int8) quantise the model at `model_dir`; write `dest` atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Work next to `dest` so the final os.replace stays on one file system.
    with tempfile.TemporaryDirectory(prefix=".onnx-build-", dir=dest.parent) as tmp:
        work = Path(tmp)
        raw = export_transformer(model_dir, work / "raw.onnx")
        built = fuse_bert(raw, work / "fused.onnx", model_dir)
        if precision == "int8":
            built = quantize_int8(built, work / "int8.onnx")
        os.replace(built, dest)
    logger.info("ONNX %s model written to %s", precision, dest)
    return dest


def export_transformer(model_dir: Path, out: Path) -> Path:
    """Trace the transformer (eager attention, so ORT can fuse it) to ONNX with dynamic axes."""
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" on the terminal is noise in `rag index`
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True)
    model.eval()
    wrapped = HiddenStates(model)
    sample = torch.ones((2, 8), dtype=torch.long)
    dims = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer flags transformers' mask-padding check as a constant; for an encoder the
        # key length always equals the mask length, so the constant is right for every shape.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # Raised for the mask's advanced indexing, whose indices are never negative here.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator", category=UserWarning)
        torch.onnx.export(
            wrapped,
            (sample, sample, torch.zeros_like(sample)),
            str(out),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: dims for name in (*INPUT_NAMES, OUTPUT_NAME)},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    return out


def fuse_bert(raw: Path, out: Path, model_dir: Path) -> Path:
    """Run ORT's BERT optimizer (fused attention, LayerNorm, GELU) and save the result."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = _attention_shape(model_dir)
    optimized = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
    counts = op_counts(optimized.model)
    if not any(counts[op] for op in FUSED_ATTENTION_OPS):
        # Still correct, only slower: say so rather than fail the user's first query.
        logger.warning("ORT fused no attention block; the ONNX model will run unfused")
    optimized.save_model_to_file(str(out), use_external_data_format=False)
    return out


def quantize_int8(fused: Path, out: Path) -> Path:
    """Dynamic int8 quantisation, per channel (per tensor loses too much accuracy)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    advice = AdviceFilter()  # ORT logs "consider pre-processing" on the root logger: the graph is fused already
    root.addFilter(advice)
    try:
        quantize_dynamic(
            fused,
            out,
            per_channel=True,
            weight_type=QuantType.QInt8,
            # The fused graph has contrib ops whose output types ORT cannot infer.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.removeFilter(advice)
    return out


class AdviceFilter(logging.Filter):
    """Drops ONNX Runtime's advice to pre-process a model before quantising it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def op_counts(model: onnx.ModelProto) -> Counter[str]:
    """How many nodes of each op type an ONNX model has."""
    return Counter(node.op_type for node in model.graph.node)


def _attention_shape(model_dir: Path) -> tuple[int, int]:
    """Heads and hidden size from config.json (12 and 384 for all-MiniLM-L6-v2)."""
    import json

    config = json.loads((model_dir / "config.json").read_text())
    return int(config.get("num_attention_heads", 12)), int(config.get("hidden_size", 384))
