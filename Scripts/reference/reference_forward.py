#!/usr/bin/env python3
"""Independent NumPy reference forward pass for the GGUF architectures Tributary serves.

Supports `llama` (SmolLM2), `qwen2` and `gemma3`. Weights are dequantized to float32 with
`gguf.quants.dequantize`; norms and softmax accumulate in float64. A KV cache makes greedy
generation cheap. Used as a module by logit_fixtures.py, and as a CLI:

    python3 Scripts/reference/reference_forward.py --model smollm2 --prompt "The capital of France is"
    python3 Scripts/reference/reference_forward.py --model gemma3 --ids 2,818,5279,529,7001,563 -n 16
    python3 Scripts/reference/reference_forward.py --adapter Models/cache/adapters/demo-0 \
        --adapter Models/cache/adapters/demo-2:0.4 --prompt "Once upon a time"

LoRA adapters (PEFT directories or llama.cpp GGUF LoRA files) are merged into the float32 weights:
`load_model(path, adapters=[(path, scale), ...])` adds `scale * s * B @ A` to each targeted matrix
(see `merge_adapters`).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
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
        self.adapters: list[tuple[str, float]] = []  # merged so far, in order

    def merge_adapters(self, adapters) -> "Model":
        """Merge [(adapter path, scale), ...] into the weights in place; returns self.

        Each targeted matrix becomes W + sum over adapters of scale * s * B @ A, summed in float64 and
        rounded to float32 once. Unmodified matrices stay shared with any copy (see with_adapters)."""
        deltas: dict[str, np.ndarray] = {}
        for path, scale in adapters:
            adapter = read_adapter(path)
            for name, (a, b, s) in adapter_gguf_tensors(adapter, self.cfg).items():
                base = self.w.get(name)
                if base is None:
                    raise ValueError(f"{path}: the base model has no tensor {name}")
                if a.shape[1] != base.shape[1] or b.shape[0] != base.shape[0]:
                    raise ValueError(f"{path}: {name}: A {list(a.shape)} / B {list(b.shape)} do not fit the base "
                                     f"matrix {list(base.shape)} (out, in)")
                delta = (float(scale) * s) * (b.astype(np.float64) @ a.astype(np.float64))
                deltas[name] = deltas[name] + delta if name in deltas else delta
            self.adapters.append((str(path), float(scale)))
        for name, delta in deltas.items():
            self.w[name] = (self.w[name].astype(np.float64) + delta).astype(np.float32)
        return self

    def with_adapters(self, adapters) -> "Model":
        """A copy with the adapters merged; the base model is unchanged and unmodified tensors are shared."""
        clone = copy.copy(self)
        clone.w = dict(self.w)
        clone.adapters = list(self.adapters)
        return clone.merge_adapters(adapters)

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


# ---------------------------------------------------------------------------------------------------------
# LoRA adapters

PEFT_MODULES = {  # Hugging Face module -> (parent, GGUF tensor stem)
    "q_proj": ("self_attn", "attn_q"),
    "k_proj": ("self_attn", "attn_k"),
    "v_proj": ("self_attn", "attn_v"),
    "o_proj": ("self_attn", "attn_output"),
    "gate_proj": ("mlp", "ffn_gate"),
    "up_proj": ("mlp", "ffn_up"),
    "down_proj": ("mlp", "ffn_down"),
}
GGUF_TO_PEFT = {stem: module for module, (_, stem) in PEFT_MODULES.items()}
PEFT_KEY = re.compile(r"base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)\.weight")
GGUF_LORA_KEY = re.compile(r"blk\.(\d+)\.(\w+)\.weight\.lora_(a|b)")


@dataclass
class LoraWeights:
    a: np.ndarray  # [r, in] float32
    b: np.ndarray  # [out, r] float32, rows in the layout named by Adapter.layout
    scale: float  # s: alpha / r, alpha / sqrt(r) (rslora), or a GGUF LoRA's alpha / r


@dataclass
class Adapter:
    path: Path
    kind: str  # "peft" or "gguf"
    layout: str  # "hf": rows of B as Hugging Face orders them; "gguf": already in the GGUF's row order
    weights: dict  # (layer, PEFT module name) -> LoraWeights
    config: dict  # adapter_config.json, or the GGUF LoRA's metadata


def pattern_key(patterns: dict, module_name: str):
    """PEFT's rank_pattern / alpha_pattern lookup: the first key (in the dict's order) such that
    re.match(rf"(.*\\.)?({key})$", module_name); the key is a regular expression fragment, so
    "q_proj" matches every "....q_proj" and "layers.5.mlp.up_proj" matches one module."""
    for key in patterns or {}:
        if re.match(rf"(.*\.)?({key})$", module_name):
            return key
    return None


def peft_module_name(layer: int, module: str) -> str:
    """The module's name in the Hugging Face model (LlamaForCausalLM), as PEFT matches it."""
    return f"model.layers.{layer}.{PEFT_MODULES[module][0]}.{module}"


def peft_targets(target_modules, name: str) -> bool:
    """PEFT: a list matches a module whose name equals an entry or ends with "." + entry; a string is a
    regular expression that must match the whole name."""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, name) is not None
    return any(name == t or name.endswith("." + t) for t in target_modules or [])


def peft_rank_alpha(config: dict, layer: int, module: str) -> tuple[int, float, float]:
    """(r, alpha, s) of one module, honouring rank_pattern, alpha_pattern and use_rslora."""
    name = peft_module_name(layer, module)
    rank_patterns, alpha_patterns = config.get("rank_pattern") or {}, config.get("alpha_pattern") or {}
    key = pattern_key(rank_patterns, name)
    r = int(rank_patterns[key] if key is not None else config["r"])
    key = pattern_key(alpha_patterns, name)
    alpha = float(alpha_patterns[key] if key is not None else config["lora_alpha"])
    s = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    return r, alpha, s


def read_peft_adapter(path: str | Path) -> Adapter:
    """A PEFT LoRA directory (adapter_config.json + adapter_model.safetensors), validated; B in HF layout."""
    from safetensors.numpy import load_file

    path = Path(path)
    config = json.loads((path / "adapter_config.json").read_text())
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type {config.get('peft_type')!r} is not LORA")
    if config.get("use_dora"):
        problems.append("use_dora is not supported")
    if config.get("bias", "none") != "none":
        problems.append(f"bias {config.get('bias')!r} is not supported (only 'none')")
    if config.get("fan_in_fan_out"):
        problems.append("fan_in_fan_out (transposed weights) is not supported")
    if config.get("modules_to_save"):
        problems.append("modules_to_save is not supported")
    if config.get("layers_to_transform") is not None:
        problems.append("layers_to_transform is not supported")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    weights_file = path / "adapter_model.safetensors"
    if not weights_file.exists():
        raise ValueError(f"{path}: no adapter_model.safetensors (pickled .bin adapters are refused)")
    raw = load_file(str(weights_file))
    pairs: dict = {}
    for key, tensor in raw.items():
        m = PEFT_KEY.fullmatch(key)
        if not m or m.group(3) not in PEFT_MODULES or PEFT_MODULES[m.group(3)][0] != m.group(2):
            raise ValueError(f"{path}: unexpected tensor {key}")
        if tensor.ndim != 2 or not np.all(np.isfinite(tensor)):
            raise ValueError(f"{path}: {key}: not a finite 2-D matrix")
        pairs.setdefault((int(m.group(1)), m.group(3)), {})[m.group(4)] = tensor.astype(np.float32)
    weights = {}
    for (layer, module), ab in sorted(pairs.items()):
        name = peft_module_name(layer, module)
        if set(ab) != {"A", "B"}:
            raise ValueError(f"{path}: {name}: lora_A or lora_B is missing")
        if not peft_targets(config.get("target_modules"), name):
            raise ValueError(f"{path}: {name} has weights but is not in target_modules")
        r, _, s = peft_rank_alpha(config, layer, module)
        a, b = ab["A"], ab["B"]
        if a.shape[0] != r or b.shape[1] != r:
            raise ValueError(f"{path}: {name}: lora_A {list(a.shape)} / lora_B {list(b.shape)} disagree with "
                             f"the configured rank {r}")
        weights[(layer, module)] = LoraWeights(a, b, s)
    if not weights:
        raise ValueError(f"{path}: no LoRA weights")
    for layer in sorted({layer for layer, _ in weights}):  # every targeted module of a layer that has weights
        for module in PEFT_MODULES:
            name = peft_module_name(layer, module)
            if peft_targets(config.get("target_modules"), name) and (layer, module) not in weights:
                raise ValueError(f"{path}: {name} is in target_modules but has no weights")
    return Adapter(path, "peft", "hf", weights, config)


def read_gguf_lora(path: str | Path) -> Adapter:
    """A llama.cpp GGUF LoRA file. s = alpha / r with r from the tensor shapes (alpha 0 or absent: s = 1,
    as llama.cpp does). B is already in the GGUF's row order."""
    path = Path(path)
    reader = gguf.GGUFReader(path)
    if metadata(reader, "general.type") != "adapter" or metadata(reader, "adapter.type") != "lora":
        raise ValueError(f"{path}: not a GGUF LoRA (general.type / adapter.type)")
    alpha = float(metadata(reader, "adapter.lora.alpha", 0.0))
    parts: dict = {}
    for t in reader.tensors:
        m = GGUF_LORA_KEY.fullmatch(t.name)
        if not m or m.group(2) not in GGUF_TO_PEFT:
            raise ValueError(f"{path}: unexpected tensor {t.name}")
        parts.setdefault((int(m.group(1)), GGUF_TO_PEFT[m.group(2)]), {})[m.group(3)] = dequantize(t)
    weights = {}
    for (layer, module), ab in sorted(parts.items()):
        if set(ab) != {"a", "b"}:
            raise ValueError(f"{path}: layer {layer} {module}: lora_a or lora_b is missing")
        a, b = ab["a"], ab["b"]
        if a.shape[0] != b.shape[1]:
            raise ValueError(f"{path}: layer {layer} {module}: lora_a {list(a.shape)} and lora_b {list(b.shape)} "
                             "have different ranks")
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError(f"{path}: layer {layer} {module}: NaN or Inf")
        weights[(layer, module)] = LoraWeights(a, b, alpha / a.shape[0] if alpha else 1.0)
    config = {"general.architecture": metadata(reader, "general.architecture"), "adapter.lora.alpha": alpha}
    return Adapter(path, "gguf", "gguf", weights, config)


def read_adapter(path: str | Path) -> Adapter:
    path = Path(path)
    return read_peft_adapter(path) if path.is_dir() else read_gguf_lora(path)


def hf_to_gguf_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's HF -> GGUF row order for llama q_proj / k_proj (n_head = KV heads for k): within each
    head, the two halves [0, d/2) and [d/2, d) are interleaved (row j of the first half goes to 2j, of the
    second to 2j + 1). Applies to W and to lora_B alike (both index output rows)."""
    out = w.shape[0]
    return w.reshape(n_head, 2, out // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_to_hf_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of hf_to_gguf_rows."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def adapter_gguf_tensors(adapter: Adapter, cfg: Config) -> dict:
    """{GGUF tensor name: (A, B in the GGUF's row order, s)}. PEFT adapters on a llama GGUF get
    llama.cpp's q/k row permutation on B; GGUF LoRA files already carry it."""
    if adapter.kind == "gguf" and adapter.config["general.architecture"] != cfg.arch:
        raise ValueError(f"{adapter.path}: adapter architecture {adapter.config['general.architecture']!r} "
                         f"!= model architecture {cfg.arch!r}")
    result = {}
    for (layer, module), lw in adapter.weights.items():
        if layer >= cfg.n_layer:
            raise ValueError(f"{adapter.path}: layer {layer} does not exist (the model has {cfg.n_layer})")
        b = lw.b
        if adapter.layout == "hf" and cfg.arch == "llama" and module in ("q_proj", "k_proj"):
            b = hf_to_gguf_rows(b, cfg.n_head if module == "q_proj" else cfg.n_kv_head)
        result[f"blk.{layer}.{PEFT_MODULES[module][1]}.weight"] = (lw.a, b, lw.scale)
    return result


def load_model(path: str | Path, adapters=None) -> Model:
    """Model(path) with [(adapter path, scale), ...] merged into its weights."""
    model = Model(path)
    return model.merge_adapters(adapters) if adapters else model


def parse_adapter_arg(text: str) -> tuple[str, float]:
    """PATH or PATH:SCALE (default scale 1)."""
    head, sep, tail = text.rpartition(":")
    if sep:
        try:
            return head, float(tail)
        except ValueError:
            pass
    return text, 1.0


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
    parser.add_argument("--adapter", action="append", default=[], metavar="PATH[:SCALE]",
                        help="merge a LoRA adapter (PEFT directory or GGUF LoRA file), scale 1 by default; "
                             "repeatable")
    args = parser.parse_args()

    path = model_path(args.model)
    t0 = time.perf_counter()
    model = Model(path)
    print(f"loaded {path.name} ({model.cfg.arch}) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if args.adapter:
        t0 = time.perf_counter()
        model.merge_adapters([parse_adapter_arg(a) for a in args.adapter])
        merged = ", ".join(f"{p} x {s:g}" for p, s in model.adapters)
        print(f"merged {merged} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
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
