#!/usr/bin/env python3
"""Export a Hugging Face model directory (safetensors) from a llama-architecture GGUF file.

    Scripts/export-hf --gguf Models/cache/SmolLM2-135M-Instruct.Q4_1.gguf --out DIR [--shards N]
                      [--dtype f32|f16|bf16]

Writes into DIR:
    config.json                 LlamaForCausalLM configuration read from the GGUF metadata
    model.safetensors           or, with --shards N > 1, model-0000i-of-0000N.safetensors plus
                                model.safetensors.index.json {"metadata": {"total_size"}, "weight_map"}
    tokenizer.json              the reference tokenizer built from the GGUF (gguf_tokenizer.py)
    tokenizer_config.json       chat template, bos/eos tokens, add_bos_token, model_max_length

Weights are dequantized with `gguf.quants.dequantize`, reshaped from GGUF's fastest-first dimension
order to row-major [out, in], and renamed to Hugging Face names. llama.cpp's converter interleaves the
rows of q_proj and k_proj (so that RoPE rotates adjacent pairs); the export undoes that so the
Hugging Face weights use the "rotate halves" layout. Re-running with the same arguments gives the same
files; files of an earlier export with a different --shards are removed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gguf_tokenizer import (  # noqa: E402
    CACHE_DIR,
    GGUFTokenizerError,
    gguf_scalar,
    gguf_string,
    hf_tokenizer_from_vocab,
    read_gguf_vocab,
)

try:
    import gguf
    import numpy as np
    from gguf.quants import dequantize
    from safetensors import TensorSpec, serialize_file
except ImportError as error:  # pragma: no cover - environment problem
    raise SystemExit(
        f"export_hf: missing Python package '{error.name}'. "
        "Install the pinned tools with: python3 -m pip install -r Scripts/requirements.txt"
    ) from error

DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}  # --dtype -> torch / safetensors name

# GGUF tensor name -> Hugging Face name ({i} = layer index).
GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.bias": "self_attn.o_proj.bias",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
LAYER_ORDER = list(LAYER_NAMES.values())
_UMASK = os.umask(0o022)
os.umask(_UMASK)
OUTPUT_FILES = re.compile(r"^model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?$")


class ExportError(Exception):
    """The GGUF cannot be exported (wrong architecture, unexpected tensors or metadata)."""


def gguf_to_hf_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (interleaved pairs -> rotate-halves layout)."""
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise ExportError(f"cannot un-permute {rows} rows into {n_head} heads")
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_to_gguf_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's converter permutation (rotate-halves layout -> interleaved pairs)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _short_float(value: float) -> float:
    """A float32 metadata value as the shortest decimal that round-trips (9.99999975e-06 -> 1e-05)."""
    return float(str(np.float32(value)))


def read_config(reader: "gguf.GGUFReader", vocab, dtype: str) -> dict:
    """Build config.json from the llama.* metadata."""
    arch = gguf_string(reader, "general.architecture")
    if arch != "llama":
        raise ExportError(f"general.architecture is {arch!r}; export-hf only converts 'llama' GGUF models "
                          "(SmolLM2); gemma3 and qwen2 need their own Hugging Face layouts")
    kind = gguf_string(reader, "general.type")
    if kind not in (None, "model"):
        raise ExportError(f"general.type is {kind!r}, not a model")

    def get(key, default=None, required=True):
        f = reader.fields.get(f"llama.{key}")
        if f is None:
            if required and default is None:
                raise ExportError(f"missing metadata llama.{key}")
            return default
        if len(f.types) != 1:
            raise ExportError(f"llama.{key} is an array (per-layer values are not supported)")
        return gguf_scalar(reader, f"llama.{key}")

    hidden = int(get("embedding_length"))
    n_head = int(get("attention.head_count"))
    n_kv = int(get("attention.head_count_kv", n_head))
    head_dim = int(get("attention.key_length", hidden // n_head))
    if int(get("attention.value_length", head_dim)) != head_dim:
        raise ExportError("attention.key_length != attention.value_length")
    rope_dim = int(get("rope.dimension_count", head_dim))
    if rope_dim != head_dim:
        raise ExportError(f"partial rotary embeddings (rope.dimension_count {rope_dim} != head dim {head_dim})")
    scaling = gguf_string(reader, "llama.rope.scaling.type")
    if scaling not in (None, "none"):
        raise ExportError(f"RoPE scaling {scaling!r} is not supported by this exporter")
    if "rope_freqs.weight" in {t.name for t in reader.tensors}:
        raise ExportError("rope_freqs.weight (llama3-style RoPE frequency factors) is not supported")

    names = {t.name for t in reader.tensors}
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(get("feed_forward_length")),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "num_hidden_layers": int(get("block_count")),
        "head_dim": head_dim,
        "rms_norm_eps": _short_float(get("attention.layer_norm_rms_epsilon")),
        "rope_theta": _short_float(get("rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "max_position_embeddings": int(get("context_length")),
        "vocab_size": int(get("vocab_size", len(vocab.tokens))),
        "tie_word_embeddings": "output.weight" not in names,
        "hidden_act": "silu",
        "attention_bias": "blk.0.attn_q.bias" in names,
        "mlp_bias": False,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
        "bos_token_id": vocab.bos_id,
        "eos_token_id": vocab.eos_id,
        "torch_dtype": DTYPES[dtype],
    }
    if vocab.pad_id is not None:
        config["pad_token_id"] = vocab.pad_id
    if config["vocab_size"] != len(vocab.tokens):
        raise ExportError(f"llama.vocab_size {config['vocab_size']} != {len(vocab.tokens)} tokens")
    return config


def hf_name(gguf_name: str, n_layers: int) -> str:
    """The Hugging Face name of a GGUF tensor (ExportError for tensors this exporter does not know)."""
    if gguf_name in GLOBAL_NAMES:
        return GLOBAL_NAMES[gguf_name]
    match = re.fullmatch(r"blk\.(\d+)\.(.+)", gguf_name)
    if match and int(match.group(1)) < n_layers and match.group(2) in LAYER_NAMES:
        return f"model.layers.{int(match.group(1))}.{LAYER_NAMES[match.group(2)]}"
    raise ExportError(f"unexpected tensor {gguf_name!r}")


def _sort_key(name: str):
    match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if match:
        return (1, int(match.group(1)), LAYER_ORDER.index(match.group(2)))
    return ({"model.embed_tokens.weight": 0, "model.norm.weight": 2, "lm_head.weight": 3}[name], 0, 0)


def plan_tensors(reader: "gguf.GGUFReader", config: dict) -> list[tuple[str, object]]:
    """(HF name, GGUF tensor) pairs in Hugging Face order, with their shapes checked."""
    n_layers = config["num_hidden_layers"]
    hidden, ffn = config["hidden_size"], config["intermediate_size"]
    q_rows = config["num_attention_heads"] * config["head_dim"]
    kv_rows = config["num_key_value_heads"] * config["head_dim"]
    expected = {
        "input_layernorm.weight": (hidden,), "post_attention_layernorm.weight": (hidden,),
        "self_attn.q_proj.weight": (q_rows, hidden), "self_attn.k_proj.weight": (kv_rows, hidden),
        "self_attn.v_proj.weight": (kv_rows, hidden), "self_attn.o_proj.weight": (hidden, q_rows),
        "self_attn.q_proj.bias": (q_rows,), "self_attn.k_proj.bias": (kv_rows,),
        "self_attn.v_proj.bias": (kv_rows,), "self_attn.o_proj.bias": (hidden,),
        "mlp.gate_proj.weight": (ffn, hidden), "mlp.up_proj.weight": (ffn, hidden),
        "mlp.down_proj.weight": (hidden, ffn),
    }
    plan = []
    for t in reader.tensors:
        name = hf_name(t.name, n_layers)
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        if name.startswith("model.layers."):
            want = expected[name.split(".", 3)[3]]
        else:
            want = (hidden,) if name == "model.norm.weight" else (config["vocab_size"], hidden)
        if shape != want:
            raise ExportError(f"{t.name}: shape {list(shape)} (row-major), expected {list(want)}")
        plan.append((name, t))
    names = {name for name, _ in plan}
    for i in range(n_layers):
        for suffix in expected:
            if not suffix.endswith(".bias") and f"model.layers.{i}.{suffix}" not in names:
                raise ExportError(f"missing tensor for model.layers.{i}.{suffix}")
    for name in ("model.embed_tokens.weight", "model.norm.weight"):
        if name not in names:
            raise ExportError(f"missing tensor for {name}")
    plan.sort(key=lambda item: _sort_key(item[0]))
    return plan


def load_tensor(name: str, t, config: dict) -> np.ndarray:
    """Dequantize one GGUF tensor to float32 [out, in] in Hugging Face layout."""
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
    if name.endswith("self_attn.q_proj.weight") or name.endswith("self_attn.q_proj.bias"):
        w = gguf_to_hf_rows(w, config["num_attention_heads"])
    elif name.endswith("self_attn.k_proj.weight") or name.endswith("self_attn.k_proj.bias"):
        w = gguf_to_hf_rows(w, config["num_key_value_heads"])
    if not np.isfinite(w).all():
        raise ExportError(f"{t.name}: dequantized values are not all finite")
    return np.ascontiguousarray(w)


def convert_dtype(w: np.ndarray, dtype: str) -> np.ndarray:
    """float32 -> the output dtype (bf16 as uint16 bit patterns, rounded to nearest even)."""
    if dtype == "f32":
        return w
    if dtype == "f16":
        out = w.astype(np.float16)
        if not np.isfinite(out).all():
            raise ExportError("values overflow float16; use --dtype bf16 or f32")
        return out
    bits = w.view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def assign_shards(sizes: list[int], shards: int) -> list[int]:
    """Contiguous shard index per tensor, balancing bytes, every shard non-empty."""
    if shards > len(sizes):
        raise ExportError(f"--shards {shards} exceeds the number of tensors ({len(sizes)})")
    total = sum(sizes)
    out, shard, count, before = [], 0, 0, 0
    for index, size in enumerate(sizes):
        left = len(sizes) - index  # tensors not yet placed, this one included
        if count and shard < shards - 1 and (before >= total * (shard + 1) / shards or left == shards - 1 - shard):
            shard, count = shard + 1, 0
        out.append(shard)
        count += 1
        before += size
    return out


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_json(path: Path, value) -> None:
    _write_text(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def tokenizer_config(vocab, config: dict) -> dict:
    """tokenizer_config.json for a PreTrainedTokenizerFast over the exported tokenizer.json."""
    added = {
        str(token_id): {"content": text, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True}
        for token_id, text in vocab.special_tokens()
    }
    out = {
        "add_bos_token": bool(vocab.add_bos),
        "add_eos_token": bool(vocab.add_eos),
        "added_tokens_decoder": added,
        "bos_token": vocab.token_text(vocab.bos_id),
        "eos_token": vocab.token_text(vocab.eos_id),
        "unk_token": vocab.token_text(vocab.unk_id),
        "pad_token": vocab.token_text(vocab.pad_id),
        "clean_up_tokenization_spaces": False,
        "model_max_length": config["max_position_embeddings"],
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if vocab.chat_template:
        out["chat_template"] = vocab.chat_template
    return out


def export(gguf_path: Path, out_dir: Path, shards: int, dtype: str, log=print) -> dict:
    """Export `gguf_path` into `out_dir`; returns the config."""
    if not gguf_path.is_file():
        raise ExportError(f"no such GGUF file: {gguf_path}")
    if shards < 1:
        raise ExportError("--shards must be at least 1")
    try:
        reader = gguf.GGUFReader(gguf_path)
    except Exception as error:  # the reader raises ValueError and friends on bad files
        raise ExportError(f"{gguf_path}: not a readable GGUF file ({error})") from error
    arch = gguf_string(reader, "general.architecture")
    if arch != "llama":  # check before the (slower) tokenizer work
        raise ExportError(f"{gguf_path.name}: general.architecture is {arch!r}; export-hf only converts "
                          "'llama' GGUF models such as SmolLM2")
    vocab = read_gguf_vocab(gguf_path, reader)
    config = read_config(reader, vocab, dtype)
    plan = plan_tensors(reader, config)
    tokenizer = hf_tokenizer_from_vocab(vocab)

    itemsize = 4 if dtype == "f32" else 2
    sizes = [int(np.prod([int(d) for d in t.shape.tolist()])) * itemsize for _, t in plan]
    assignment = assign_shards(sizes, shards)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = (["model.safetensors"] if shards == 1
             else [f"model-{k + 1:05d}-of-{shards:05d}.safetensors" for k in range(shards)])

    weight_map = {}
    for k, filename in enumerate(files):
        keep, specs = [], {}
        for (name, t), shard in zip(plan, assignment):
            if shard != k:
                continue
            w = convert_dtype(load_tensor(name, t, config), dtype)
            keep.append(w)
            specs[name] = TensorSpec(dtype=DTYPES[dtype], shape=list(w.shape),
                                     data_ptr=w.ctypes.data, data_len=w.nbytes)
            weight_map[name] = filename
        tmp = out_dir / (filename + ".tmp")
        serialize_file(specs, str(tmp), metadata={"format": "pt"})
        os.chmod(tmp, 0o666 & ~_UMASK)  # the writer creates 0600 files; use the usual mode
        os.replace(tmp, out_dir / filename)
        log(f"  wrote {filename}: {len(specs)} tensors, {sum(w.nbytes for w in keep) / 1e6:.1f} MB")
        del keep, specs

    written = set(files)
    if shards > 1:
        index = {"metadata": {"total_size": sum(sizes)}, "weight_map": dict(sorted(weight_map.items()))}
        _write_json(out_dir / "model.safetensors.index.json", index)
        written.add("model.safetensors.index.json")
    for stale in sorted(out_dir.iterdir()):
        if OUTPUT_FILES.match(stale.name) and stale.name not in written:
            stale.unlink()
            log(f"  removed stale {stale.name}")

    _write_json(out_dir / "config.json", dict(sorted(config.items())))
    tmp = out_dir / "tokenizer.json.tmp"
    tokenizer.save(str(tmp), pretty=True)
    os.replace(tmp, out_dir / "tokenizer.json")
    _write_json(out_dir / "tokenizer_config.json", tokenizer_config(vocab, config))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="export-hf", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--gguf", type=Path, default=CACHE_DIR / "SmolLM2-135M-Instruct.Q4_1.gguf",
                        help="llama-architecture GGUF file")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: Models/cache/hf/<GGUF file stem>)")
    parser.add_argument("--shards", type=int, default=1, help="number of safetensors files")
    parser.add_argument("--dtype", choices=list(DTYPES), default="f32", help="weight dtype")
    args = parser.parse_args(argv)
    out = args.out or CACHE_DIR / "hf" / args.gguf.stem

    start = time.perf_counter()
    print(f"export-hf: {args.gguf} -> {out} (shards {args.shards}, {args.dtype})")
    try:
        config = export(args.gguf, out, args.shards, args.dtype)
    except (ExportError, GGUFTokenizerError) as error:
        print(f"export-hf: error: {error}", file=sys.stderr)
        return 1
    print(f"export-hf: done in {time.perf_counter() - start:.1f}s: {config['num_hidden_layers']} layers, "
          f"hidden {config['hidden_size']}, tied embeddings {config['tie_word_embeddings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
