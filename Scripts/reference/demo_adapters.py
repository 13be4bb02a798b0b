#!/usr/bin/env python3
"""Write deterministic demo LoRA adapters (PEFT format) for SmolLM2-135M-Instruct.

The adapters are synthetic: random low-rank matrices (not trained), sized so that each one visibly
changes SmolLM2's greedy continuation while the text stays fluent-ish. Every folder holds
adapter_config.json, adapter_model.safetensors (float32, Hugging Face layout: q_proj/k_proj rows are NOT
permuted to llama.cpp's order) and a tributary.json manifest (creator, licence, data sources).

    Scripts/make-demo-adapters                          # Models/cache/adapters/demo-0 ... demo-7
    Scripts/make-demo-adapters --count 3 --out /tmp/a
    Scripts/make-demo-adapters --tiny 1000 --out /tmp/registry   # rank 2, q_proj only, for stress tests

Runs are byte-identical: every matrix comes from its own seeded generator
(numpy PCG64, seeded with [adapter seed, layer, module index]).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_forward as rf  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
N_LAYER = 30
HIDDEN, FFN, KV_DIM = 576, 1536, 192  # KV_DIM = 3 KV heads x 64

MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PARENT = {m: "self_attn" if m in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp" for m in MODULES}
SHAPE = {  # (out, in)
    "q_proj": (HIDDEN, HIDDEN), "k_proj": (KV_DIM, HIDDEN), "v_proj": (KV_DIM, HIDDEN),
    "o_proj": (HIDDEN, HIDDEN), "gate_proj": (FFN, HIDDEN), "up_proj": (FFN, HIDDEN), "down_proj": (HIDDEN, FFN),
}
# Root-mean-square of SmolLM2's weights per module (mean over layers, measured on the Q4_1 GGUF).
# An adapter's "strength" is the RMS of its delta s * B @ A relative to these.
TYPICAL_RMS = {"q_proj": 0.20, "k_proj": 0.21, "v_proj": 0.19, "o_proj": 0.17,
               "gate_proj": 0.19, "up_proj": 0.20, "down_proj": 0.19}

# Data sources the manifests draw from (some are shared between adapters).
SOURCES = {
    "ds-coastal-folktales": "contributor-ines",
    "ds-harbour-logbooks": "contributor-kofi",
    "ds-childrens-stories": "contributor-mei",
    "ds-sea-shanties": "contributor-ines",
    "ds-lighthouse-diaries": "contributor-tomas",
    "ds-fishing-manuals": "contributor-amara",
    "ds-village-records": "contributor-kofi",
    "ds-tide-tables": "contributor-lena",
}

# The eight demo adapters. strength: delta RMS / TYPICAL_RMS. seed: base of the per-matrix seeds.
DEMOS = [
    dict(r=16, alpha=32, strength=0.06, seed=101,
         sources=[("ds-coastal-folktales", 0.5), ("ds-harbour-logbooks", 0.3), ("ds-childrens-stories", 0.2)]),
    dict(r=16, alpha=32, strength=0.06, seed=202,
         sources=[("ds-sea-shanties", 3), ("ds-coastal-folktales", 1)]),
    dict(r=16, alpha=16, strength=0.06, seed=323,
         sources=[("ds-lighthouse-diaries", 0.45), ("ds-village-records", 0.35), ("ds-tide-tables", 0.15),
                  ("ds-childrens-stories", 0.05)]),
    dict(r=16, alpha=8, use_rslora=True, strength=0.06, seed=424,
         sources=[("ds-fishing-manuals", 2.5), ("ds-harbour-logbooks", 1.5)]),
    dict(r=16, alpha=32, strength=0.06, seed=505,
         rank_pattern={"q_proj": 8, "layers.5.mlp.up_proj": 32},
         alpha_pattern={"down_proj": 64, "layers.2.self_attn.v_proj": 8},
         sources=[("ds-village-records", 0.6), ("ds-sea-shanties", 0.4)]),
    dict(r=16, alpha=32, strength=0.10, seed=616, modules=["q_proj", "v_proj"],
         sources=[("ds-tide-tables", 7), ("ds-lighthouse-diaries", 2), ("ds-fishing-manuals", 1)]),
    dict(r=8, alpha=16, strength=0.06, seed=707,
         sources=[("ds-childrens-stories", 0.7), ("ds-coastal-folktales", 0.3)]),
    dict(r=64, alpha=64, strength=0.06, seed=808,
         sources=[("ds-harbour-logbooks", 0.25), ("ds-sea-shanties", 0.25), ("ds-village-records", 0.25),
                  ("ds-fishing-manuals", 0.25)]),
]

TINY_SEED = 9001


def pattern_value(patterns: dict, name: str, default):
    """PEFT's rank_pattern / alpha_pattern lookup (see reference_forward.pattern_key)."""
    key = rf.pattern_key(patterns, name)
    return default if key is None else patterns[key]


def lora_pair(seed: int, layer: int, module: str, r: int, s: float, strength: float):
    """A: PEFT's default (Kaiming-uniform) init, U(-1/sqrt(in), 1/sqrt(in)); B: Gaussian with the standard
    deviation that makes RMS(s * B @ A) = strength * TYPICAL_RMS[module] in expectation."""
    out_dim, in_dim = SHAPE[module]
    rng = np.random.default_rng([seed, layer, MODULES.index(module)])
    bound = 1.0 / math.sqrt(in_dim)
    a = rng.uniform(-bound, bound, size=(r, in_dim)).astype(np.float32)
    sigma = strength * TYPICAL_RMS[module] * math.sqrt(3.0 * in_dim / r) / s
    b = (rng.standard_normal((out_dim, r)) * sigma).astype(np.float32)
    return a, b


def peft_config(r: int, alpha: float, modules: list[str], use_rslora=False, rank_pattern=None, alpha_pattern=None):
    return {
        "alpha_pattern": alpha_pattern or {},
        "base_model_name_or_path": BASE_MODEL,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": r,
        "rank_pattern": rank_pattern or {},
        "revision": None,
        "target_modules": modules,
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": use_rslora,
    }


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def write_adapter(folder: Path, config: dict, tensors: dict, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "adapter_config.json", config)
    save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    write_json(folder / "tributary.json", manifest)


def peft_key(layer: int, module: str, ab: str) -> str:
    return f"base_model.model.model.layers.{layer}.{PARENT[module]}.{module}.lora_{ab}.weight"


def make_demo(index: int, spec: dict, out: Path) -> Path:
    r, alpha = spec["r"], spec["alpha"]
    modules = spec.get("modules", MODULES)
    rslora = spec.get("use_rslora", False)
    rank_pattern, alpha_pattern = spec.get("rank_pattern", {}), spec.get("alpha_pattern", {})
    tensors = {}
    for layer in range(N_LAYER):
        for module in modules:
            name = f"model.layers.{layer}.{PARENT[module]}.{module}"
            r_m = int(pattern_value(rank_pattern, name, r))
            alpha_m = float(pattern_value(alpha_pattern, name, alpha))
            s = alpha_m / math.sqrt(r_m) if rslora else alpha_m / r_m
            a, b = lora_pair(spec["seed"], layer, module, r_m, s, spec["strength"])
            tensors[peft_key(layer, module, "A")] = a
            tensors[peft_key(layer, module, "B")] = b
    config = peft_config(r, alpha, modules, rslora, rank_pattern, alpha_pattern)
    variant = [f"rank {r}", f"lora_alpha {alpha}"]
    if rslora:
        variant.append("rsLoRA scaling (alpha / sqrt(r))")
    if rank_pattern or alpha_pattern:
        variant.append(f"rank_pattern {json.dumps(rank_pattern)}, alpha_pattern {json.dumps(alpha_pattern)}")
    variant.append("all seven projections" if modules == MODULES else "only " + ", ".join(modules))
    name = f"demo-{index}"
    manifest = {
        "name": name,
        "creator": f"creator-{index % 3}",
        "description": f"Synthetic demo adapter for SmolLM2-135M-Instruct (random low-rank weights, not trained; "
                       f"{'; '.join(variant)}).",
        "license": "apache-2.0",
        "data_sources": [{"source_id": sid, "contributor_id": SOURCES[sid], "weight": w}
                         for sid, w in spec["sources"]],
    }
    folder = out / name
    write_adapter(folder, config, tensors, manifest)
    return folder


def demo_spec(index: int) -> dict:
    """The demo spec for `index`: the hand-made variety first, then demo-0's shape with new seeds."""
    if index < len(DEMOS):
        return DEMOS[index]
    source_ids = sorted(SOURCES)
    spec = dict(DEMOS[0])
    spec["seed"] = 10_000 + index
    spec["sources"] = [(source_ids[index % len(source_ids)], 2 + index % 3), (source_ids[(index + 5) % len(source_ids)], 1)]
    return spec


def make_tiny(n: int, out: Path) -> None:
    """n rank-2 q_proj-only adapters tiny-0000 ... with distinct content (seeded by index)."""
    width = max(4, len(str(n - 1)))
    config = peft_config(2, 4, ["q_proj"])
    config_text = json.dumps(config, indent=2) + "\n"
    source_ids = sorted(SOURCES)
    for i in range(n):
        rng = np.random.default_rng([TINY_SEED, i])
        bound = 1.0 / math.sqrt(HIDDEN)
        # One draw per adapter (fast): A for all layers, then B for all layers.
        a_all = rng.uniform(-bound, bound, size=(N_LAYER, 2, HIDDEN)).astype(np.float32)
        sigma = 0.02 * TYPICAL_RMS["q_proj"] * math.sqrt(3.0 * HIDDEN / 2) / 2.0
        b_all = (rng.standard_normal((N_LAYER, HIDDEN, 2)) * sigma).astype(np.float32)
        tensors = {}
        for layer in range(N_LAYER):
            tensors[peft_key(layer, "q_proj", "A")] = a_all[layer]
            tensors[peft_key(layer, "q_proj", "B")] = b_all[layer]
        name = f"tiny-{i:0{width}d}"
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_text(config_text)
        save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
        manifest = {
            "name": name,
            "creator": f"creator-{i % 7}",
            "description": "Tiny synthetic adapter (rank 2, q_proj only) for registry stress tests.",
            "license": "apache-2.0",
            "data_sources": [
                {"source_id": source_ids[i % len(source_ids)], "contributor_id": SOURCES[source_ids[i % len(source_ids)]],
                 "weight": 1 + i % 5},
                {"source_id": source_ids[(i + 3) % len(source_ids)],
                 "contributor_id": SOURCES[source_ids[(i + 3) % len(source_ids)]], "weight": 1},
            ],
        }
        write_json(folder / "tributary.json", manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "Models" / "cache" / "adapters")
    parser.add_argument("--count", type=int, default=len(DEMOS),
                        help=f"demo adapters to write; the first {len(DEMOS)} are the varied demos, later ones are "
                             "rank-16 all-module adapters like demo-0 with their own seeds (benchmarks)")
    parser.add_argument("--tiny", type=int, metavar="N", help="write N tiny adapters instead of the demos")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.tiny is not None:
        if args.tiny < 1:
            parser.error("--tiny needs N >= 1")
        make_tiny(args.tiny, args.out)
        print(f"wrote {args.tiny} tiny adapters to {args.out} in {time.perf_counter() - start:.1f}s")
        return
    if not 1 <= args.count <= 1000:
        parser.error("--count must be between 1 and 1000")
    for i in range(args.count):
        folder = make_demo(i, demo_spec(i), args.out)
        size = (folder / "adapter_model.safetensors").stat().st_size
        print(f"  {folder.name}: {size / 1e6:.1f} MB")
    print(f"wrote {args.count} demo adapters to {args.out} in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
