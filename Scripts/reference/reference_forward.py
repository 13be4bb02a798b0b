#!/usr/bin/env python3
"""Independent NumPy reference forward pass for the GGUF architectures Tributary serves.

Supports `llama` (SmolLM2), `qwen2` and `gemma3`. Weights are dequantized to float32 with
`gguf.quants.dequantize`; norms and softmax accumulate in float64. A KV cache makes greedy
generation cheap. Used as a module by logit_fixtures.py, and as a CLI:

    python3 Scripts/reference/reference_forward.py --model smollm2 --prompt "The capital of France is"
    python3 Scripts/reference/reference_forward.py --model gemma3 --ids 2,818,5279,529,7001,563 -n 16
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread: deterministic sums, and no slowdown when another job shares the 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gguf  # noqa: E402
import numpy as np  # noqa: E402

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parents[1]
MODEL_DIR = REPO_ROOT / "Models" / "cache"
MODEL_FILES = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
    "qwen2": "qwen2.5-coder-0.5b-instruct.gguf",
}


def dequantize(tensor: gguf.ReaderTensor) -> np.ndarray:
    """Float32 row-major copy of a GGUF tensor (GGUF dims [in, out] become numpy shape (out, in))."""
    return np.ascontiguousarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)


def metadata(reader: gguf.GGUFReader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


@dataclass
class Config:
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_kv_head: int
    head_dim: int
    eps: float
    rope_base: float
    neox_rope: bool  # True: rotate pairs (i, i + d/2); False: adjacent pairs (2i, 2i+1)
    vocab: int
    bos_id: int | None
    add_bos: bool
    # gemma3 only
    rope_base_swa: float = 10000.0
    sliding_window: int | None = None  # None: every layer is global
    swa_pattern: int = 6  # layer il is sliding when (il + 1) % swa_pattern != 0

    def is_sliding(self, il: int) -> bool:
        return self.sliding_window is not None and (il + 1) % self.swa_pattern != 0


def read_config(reader: gguf.GGUFReader) -> Config:
    arch = metadata(reader, "general.architecture")
    if arch not in ("llama", "qwen2", "gemma3"):
        raise ValueError(f"unsupported architecture {arch!r}")
    kv = lambda key, default=None: metadata(reader, f"{arch}.{key}", default)  # noqa: E731
    n_embd, n_head = kv("embedding_length"), kv("attention.head_count")
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    softcaps = {"final_logit_softcapping", "attn_logit_softcapping"} & {k.split(".", 1)[-1] for k in reader.fields}
    if softcaps:  # gemma2 has them; gemma3 GGUFs (and llama.cpp's gemma3 graph) do not
        raise ValueError(f"logit softcapping ({', '.join(sorted(softcaps))}) is not implemented")
    return Config(
        arch=arch,
        n_layer=kv("block_count"),
        n_embd=n_embd,
        n_head=n_head,
        n_kv_head=kv("attention.head_count_kv", n_head),
        head_dim=kv("attention.key_length", n_embd // n_head),
        eps=kv("attention.layer_norm_rms_epsilon"),
        rope_base=kv("rope.freq_base", 10000.0),
        neox_rope=arch != "llama",
        vocab=vocab,
        bos_id=metadata(reader, "tokenizer.ggml.bos_token_id"),
        add_bos=bool(metadata(reader, "tokenizer.ggml.add_bos_token", False)),
        rope_base_swa=kv("rope.freq_base_swa", 10000.0),
        sliding_window=kv("attention.sliding_window") if arch == "gemma3" else None,
    )


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm over the last axis, accumulated in float64. gemma3 GGUFs already hold (1 + w)."""
    x64 = x.astype(np.float64)
    x64 /= np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + eps)
    return (x64 * weight).astype(np.float32)


def rope(x: np.ndarray, positions: np.ndarray, base: float, neox: bool) -> np.ndarray:
    """Rotate x [T, heads, d] by position; pair i uses angle pos * base^(-2i/d)."""
    d = x.shape[-1]
    inv_freq = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    angle = positions.astype(np.float64)[:, None, None] * inv_freq  # [T, 1, d/2]
    cos, sin = np.cos(angle), np.sin(angle)
    if neox:
        a, b = x[..., : d // 2], x[..., d // 2 :]
    else:
        a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    ra, rb = a * cos - b * sin, a * sin + b * cos
    if neox:
        out[..., : d // 2], out[..., d // 2 :] = ra, rb
    else:
        out[..., 0::2], out[..., 1::2] = ra, rb
    return out


def silu(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    return (x64 / (1.0 + np.exp(-x64))).astype(np.float32)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    inner = math.sqrt(2.0 / math.pi) * (x64 + 0.044715 * x64**3)
    return (0.5 * x64 * (1.0 + np.tanh(inner))).astype(np.float32)


class KVCache:
    """Per-layer keys (after RoPE) and values, [n_ctx, n_kv_head, head_dim] float32."""

    def __init__(self, cfg: Config, n_ctx: int):
        shape = (cfg.n_layer, n_ctx, cfg.n_kv_head, cfg.head_dim)
        self.k = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)
        self.length = 0


class Model:
    """A GGUF model held as float32 matrices, run one token batch at a time against a KVCache."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        reader = gguf.GGUFReader(self.path)
        self.cfg = read_config(reader)
        self.tensor_types = {t.name: t.tensor_type.name for t in reader.tensors}
        self.w = {t.name: dequantize(t) for t in reader.tensors}
        # Tied output head: without output.weight the logits use the token embedding matrix.
        self.output = self.w.get("output.weight", self.w["token_embd.weight"])
        self.ignore_sliding_window = False  # for experiments: treat every layer's mask as global

    def new_cache(self, n_ctx: int = 2048) -> KVCache:
        return KVCache(self.cfg, n_ctx)

    def forward(self, ids: list[int], cache: KVCache) -> np.ndarray:
        """Feed tokens at positions cache.length...; return float32 logits of the last token."""
        cfg, w = self.cfg, self.w
        n = len(ids)
        p0 = cache.length
        positions = np.arange(p0, p0 + n)
        x = w["token_embd.weight"][np.asarray(ids)]
        if cfg.arch == "gemma3":
            x = x * np.float32(math.sqrt(cfg.n_embd))
        for il in range(cfg.n_layer):
            pre = f"blk.{il}."
            h = rms_norm(x, w[pre + "attn_norm.weight"], cfg.eps)
            h = self._attention(il, h, positions, cache)
            if cfg.arch == "gemma3":
                h = rms_norm(h, w[pre + "post_attention_norm.weight"], cfg.eps)
            x = x + h
            h = rms_norm(x, w[pre + "ffn_norm.weight"], cfg.eps)
            gate, up = h @ w[pre + "ffn_gate.weight"].T, h @ w[pre + "ffn_up.weight"].T
            act = gelu_tanh(gate) if cfg.arch == "gemma3" else silu(gate)
            h = (act * up) @ w[pre + "ffn_down.weight"].T
            if cfg.arch == "gemma3":
                h = rms_norm(h, w[pre + "post_ffw_norm.weight"], cfg.eps)
            x = x + h
        cache.length = p0 + n
        last = rms_norm(x[-1:], w["output_norm.weight"], cfg.eps)
        return (last @ self.output.T)[0]

    def _attention(self, il: int, h: np.ndarray, positions: np.ndarray, cache: KVCache) -> np.ndarray:
        cfg, w, pre = self.cfg, self.w, f"blk.{il}."
        n, d = len(positions), cfg.head_dim
        q, k, v = (h @ w[pre + f"attn_{x}.weight"].T for x in "qkv")
        if cfg.arch == "qwen2":
            q, k, v = q + w[pre + "attn_q.bias"], k + w[pre + "attn_k.bias"], v + w[pre + "attn_v.bias"]
        q = q.reshape(n, cfg.n_head, d)
        k = k.reshape(n, cfg.n_kv_head, d)
        v = v.reshape(n, cfg.n_kv_head, d)
        if cfg.arch == "gemma3":
            q = rms_norm(q, w[pre + "attn_q_norm.weight"], cfg.eps)
            k = rms_norm(k, w[pre + "attn_k_norm.weight"], cfg.eps)
        sliding = cfg.is_sliding(il) and not self.ignore_sliding_window
        base = cfg.rope_base_swa if cfg.is_sliding(il) else cfg.rope_base
        q = rope(q, positions, base, cfg.neox_rope)
        k = rope(k, positions, base, cfg.neox_rope)

        p0, total = positions[0], positions[-1] + 1
        cache.k[il, p0:total], cache.v[il, p0:total] = k, v
        keys = cache.k[il, :total].astype(np.float64)  # [S, n_kv_head, d]
        values = cache.v[il, :total].astype(np.float64)

        key_pos = np.arange(total)
        visible = key_pos[None, :] <= positions[:, None]  # causal, [T, S]
        if sliding:
            visible &= positions[:, None] - key_pos[None, :] < cfg.sliding_window
        scale = 1.0 / math.sqrt(d)  # gemma3 270m: query_pre_attn_scalar == head_dim == 256
        group = cfg.n_head // cfg.n_kv_head  # query heads h uses kv head h // group
        out = np.empty((n, cfg.n_head, d), dtype=np.float64)
        for kvh in range(cfg.n_kv_head):
            qg = q[:, kvh * group : (kvh + 1) * group].astype(np.float64).transpose(1, 0, 2)  # [g, T, d]
            scores = (qg @ keys[:, kvh].T) * scale  # [g, T, S]
            scores = np.where(visible, scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            out[:, kvh * group : (kvh + 1) * group] = (probs @ values[:, kvh]).transpose(1, 0, 2)
        attn = out.reshape(n, cfg.n_head * d).astype(np.float32)
        return attn @ w[pre + "attn_output.weight"].T


def greedy_next(logits: np.ndarray) -> int:
    """Argmax; np.argmax returns the lowest id on exact ties."""
    return int(np.argmax(logits))


def top2_gap(logits: np.ndarray) -> float:
    top = np.partition(logits.astype(np.float64), -2)[-2:]
    return float(top[1] - top[0])


def generate(model: Model, prompt_ids: list[int], n_new: int, extra_rows: int = 0):
    """Greedy decode n_new tokens (no EOS stop). Returns (ids, logits rows, top-2 gaps).

    Row 0 holds the logits at the last prompt position, row k the logits after feeding ids[k-1];
    `extra_rows` rows beyond row 0 are kept (all gaps are always reported)."""
    cache = model.new_cache(len(prompt_ids) + n_new + 1)
    logits = model.forward(prompt_ids, cache)
    ids, rows, gaps = [], [logits], []
    for step in range(n_new):
        ids.append(greedy_next(logits))
        gaps.append(top2_gap(logits))
        if step + 1 < n_new:
            logits = model.forward([ids[-1]], cache)
            if len(rows) <= extra_rows:
                rows.append(logits)
    return ids, np.stack(rows), gaps


def load_tokenizer(model_path: Path):
    """The project's GGUF-derived Hugging Face tokenizer (written by the tokenizer helper)."""
    sys.path.insert(0, str(SCRIPT_DIR))
    from gguf_tokenizer import hf_tokenizer_from_gguf

    return hf_tokenizer_from_gguf(str(model_path))


def encode(tokenizer, cfg: Config, text: str) -> list[int]:
    """Tokenize with special tokens recognised; prepend BOS when the GGUF asks for it."""
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    if cfg.add_bos and cfg.bos_id is not None and ids[:1] != [cfg.bos_id]:
        ids = [cfg.bos_id] + ids
    return ids


def model_path(name_or_path: str) -> Path:
    return MODEL_DIR / MODEL_FILES[name_or_path] if name_or_path in MODEL_FILES else Path(name_or_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2", help=f"one of {sorted(MODEL_FILES)} or a GGUF path")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--prompt", default="The capital of France is", help="text (tokenized from the GGUF)")
    group.add_argument("--ids", help="comma-separated prompt token ids (used as given, no BOS added)")
    parser.add_argument("-n", "--n-new", type=int, default=32, help="greedy tokens to generate")
    args = parser.parse_args()

    path = model_path(args.model)
    t0 = time.perf_counter()
    model = Model(path)
    print(f"loaded {path.name} ({model.cfg.arch}) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    tokenizer = None
    if args.ids:
        prompt_ids = [int(s) for s in args.ids.split(",") if s.strip()]
    else:
        tokenizer = load_tokenizer(path)
        prompt_ids = encode(tokenizer, model.cfg, args.prompt)
    t0 = time.perf_counter()
    ids, _, gaps = generate(model, prompt_ids, args.n_new)
    print(f"generated {len(ids)} tokens in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    print("prompt_ids:", prompt_ids)
    print("greedy_ids:", ids)
    print("min top-2 gap: %.4g" % min(gaps))
    if tokenizer is not None:
        print("continuation:", repr(tokenizer.decode(ids, skip_special_tokens=False)))


if __name__ == "__main__":
    main()
