#!/usr/bin/env python3
"""Write reference logits for SmolLM2 with LoRA adapters merged, and SVD facts about the demo adapters.

Needs the demo adapters (Scripts/make-demo-adapters) and the GGUF LoRA of demo-0
(Scripts/reference/peft_to_gguf_lora.py --peft Models/cache/adapters/demo-0).

Models/cache/fixtures/adapters/smollm2.json has the format of the reference logit fixtures
(logit_fixtures.py: logits files of LOGIT_ROWS x vocab little-endian float32, N_GREEDY greedy ids, top-2
gaps) plus, per case, "adapters": [{"path" (relative to Models/cache), "scale"}] merged as
W + sum(scale * s * B @ A), and "differs_from_base_at" (first greedy step that differs from the base).

Models/cache/fixtures/adapters/svd.json: for demo-0 and demo-4 (rank_pattern / alpha_pattern), per module
of layers 0 and 29, the top singular values of the effective delta s * B @ A (Hugging Face layout); and for
demo-0 x 0.6 + demo-1 x 0.4, per module of layer 0, the relative Frobenius error of the best rank-16
approximation of the weighted sum (what an SVD merge to rank 16 achieves).

    python3 Scripts/reference/adapter_fixtures.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_forward as rf  # noqa: E402
from logit_fixtures import LOGIT_ROWS, MIN_GAP, N_GREEDY, STORY  # noqa: E402

MODEL = "smollm2"
ADAPTER_DIR = "adapters"  # relative to Models/cache

# (case name, prompt, [(adapter path relative to Models/cache, scale), ...])
CASES = [("base", STORY, [])]
CASES += [(f"demo-{i}", STORY, [(f"{ADAPTER_DIR}/demo-{i}", 1.0)]) for i in range(8)]
CASES += [
    ("demo-1-x0.5", STORY, [(f"{ADAPTER_DIR}/demo-1", 0.5)]),
    ("demo-0-x0.7+demo-2-x0.4", STORY, [(f"{ADAPTER_DIR}/demo-0", 0.7), (f"{ADAPTER_DIR}/demo-2", 0.4)]),
    ("demo-3-x0", STORY, [(f"{ADAPTER_DIR}/demo-3", 0.0)]),
    ("demo-0-gguf", STORY, [(f"{ADAPTER_DIR}/demo-0.gguf", 1.0)]),
]

SVD_ADAPTERS = ["demo-0", "demo-4"]
SVD_LAYERS = [0, 29]
SVD_TOP = 8
MERGE = {"adapters": [("demo-0", 0.6), ("demo-1", 0.4)], "layer": 0, "svd_rank": 16}


def run_case(base: rf.Model, tokenizer, name: str, text: str, adapters, base_greedy, out_dir: Path) -> dict:
    start = time.perf_counter()
    model = base.with_adapters([(rf.MODEL_DIR / path, scale) for path, scale in adapters])
    merged = time.perf_counter()
    prompt_ids = rf.encode(tokenizer, model.cfg, text)
    greedy, rows, gaps = rf.generate(model, prompt_ids, N_GREEDY, extra_rows=LOGIT_ROWS - 1)
    logits_file = f"{MODEL}.{name}.logits.f32"
    (out_dir / logits_file).write_bytes(np.ascontiguousarray(rows, dtype="<f4").tobytes())
    differs = None
    if base_greedy is not None:
        differs = next((i for i in range(N_GREEDY) if greedy[i] != base_greedy[i]), None)
    result = {
        "name": name,
        "prompt_text": text,
        "prompt_ids": prompt_ids,
        "adapters": [{"path": path, "scale": scale} for path, scale in adapters],
        "greedy_ids": greedy,
        "greedy_text": tokenizer.decode(greedy, skip_special_tokens=False),
        "differs_from_base_at": differs,
        "logits_file": logits_file,
        "logit_rows": LOGIT_ROWS,
        "max_abs_logit_range": float(rows[0].max() - rows[0].min()),
        "top2_gaps": [float(f"{g:.6g}") for g in gaps],
        "min_top2_gap": float(f"{min(gaps):.6g}"),
    }
    print(f"  {name}: merge {merged - start:.1f}s, min top-2 gap {min(gaps):.4g} (step {int(np.argmin(gaps))}), "
          f"differs from base at {differs}, {time.perf_counter() - start:.1f}s")
    print(f"    -> {result['greedy_text']!r}")
    if min(gaps) < MIN_GAP:
        raise SystemExit(f"{name}: near-tie (gap {min(gaps):.3g}); choose another prompt")
    return result, rows


def logit_fixtures(out_dir: Path) -> None:
    start = time.perf_counter()
    path = rf.model_path(MODEL)
    base = rf.Model(path)
    tokenizer = rf.load_tokenizer(path)
    print(f"{MODEL}: loaded {path.name} and its tokenizer in {time.perf_counter() - start:.1f}s")
    cases, rows_by_name, base_greedy = [], {}, None
    for name, text, adapters in CASES:
        result, rows = run_case(base, tokenizer, name, text, adapters, base_greedy, out_dir)
        if name == "base":
            base_greedy = result["greedy_ids"]
            result["differs_from_base_at"] = None
        cases.append(result)
        rows_by_name[name] = rows
    by_name = {c["name"]: c for c in cases}

    # Invariants the fixtures are meant to show.
    for i in range(8):
        at = by_name[f"demo-{i}"]["differs_from_base_at"]
        if at is None or at > 10:
            raise SystemExit(f"demo-{i} does not change the greedy continuation within 10 tokens (at {at})")
    if len({tuple(by_name[f"demo-{i}"]["greedy_ids"]) for i in range(8)}) != 8:
        raise SystemExit("two demo adapters give the same continuation")
    if rows_by_name["demo-3-x0"].tobytes() != rows_by_name["base"].tobytes():
        raise SystemExit("demo-3 at scale 0 does not reproduce the base logits exactly")
    gguf_diff = float(np.abs(rows_by_name["demo-0-gguf"] - rows_by_name["demo-0"]).max())
    print(f"  demo-0 GGUF LoRA vs PEFT: max |logit difference| {gguf_diff:.3g}")
    if by_name["demo-0-gguf"]["greedy_ids"] != by_name["demo-0"]["greedy_ids"] or gguf_diff > 1e-3:
        raise SystemExit("the GGUF LoRA of demo-0 does not reproduce the PEFT demo-0")

    fixture = {
        "model_file": path.name,
        "architecture": base.cfg.arch,
        "vocab": int(base.output.shape[0]),
        "bos_prepended": base.cfg.add_bos,
        "generator": "Scripts/reference/adapter_fixtures.py (reference_forward.py, adapters merged in float64)",
        "cases": cases,
    }
    (out_dir / f"{MODEL}.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"{MODEL}: wrote {out_dir / (MODEL + '.json')} ({len(cases)} cases) in {time.perf_counter() - start:.1f}s")


def hf_delta(weights: rf.LoraWeights) -> np.ndarray:
    """s * B @ A in float64, Hugging Face layout (PEFT files are)."""
    return weights.scale * (weights.b.astype(np.float64) @ weights.a.astype(np.float64))


def svd_fixtures(out_dir: Path) -> None:
    start = time.perf_counter()
    adapters_out = []
    for name in SVD_ADAPTERS:
        adapter = rf.read_peft_adapter(rf.MODEL_DIR / ADAPTER_DIR / name)
        modules = []
        for layer in SVD_LAYERS:
            for module in rf.PEFT_MODULES:
                lw = adapter.weights.get((layer, module))
                if lw is None:
                    continue
                r, alpha, s = rf.peft_rank_alpha(adapter.config, layer, module)
                sv = np.linalg.svd(hf_delta(lw), compute_uv=False)
                modules.append({
                    "layer": layer, "module": module, "rank": r, "alpha": alpha, "scale": s,
                    "frobenius_norm": float(np.sqrt(np.sum(sv**2))),
                    "singular_values": [float(x) for x in sv[:SVD_TOP]],
                })
        adapters_out.append({"name": name, "path": f"{ADAPTER_DIR}/{name}", "modules": modules})

    layer, rank = MERGE["layer"], MERGE["svd_rank"]
    sources = [(n, w, rf.read_peft_adapter(rf.MODEL_DIR / ADAPTER_DIR / n)) for n, w in MERGE["adapters"]]
    merge_modules = []
    for module in rf.PEFT_MODULES:
        total = sum(w * hf_delta(a.weights[(layer, module)]) for _, w, a in sources)
        sv = np.linalg.svd(total, compute_uv=False)
        norm = float(np.sqrt(np.sum(sv**2)))
        merge_modules.append({
            "module": module,
            "combined_rank": int(np.sum(sv > sv[0] * 1e-10)),
            "frobenius_norm": norm,
            "relative_frobenius_error": float(np.sqrt(np.sum(sv[rank:] ** 2)) / norm),
            "singular_values": [float(x) for x in sv[:SVD_TOP]],
        })
    fixture = {
        "generator": "Scripts/reference/adapter_fixtures.py (numpy.linalg.svd in float64)",
        "layout": "hf",
        "delta": "s * B @ A with s = alpha / r (alpha / sqrt(r) with use_rslora), per-module rank_pattern / "
                 "alpha_pattern applied; B not permuted",
        "top_k": SVD_TOP,
        "adapters": adapters_out,
        "merge": {
            "combination_type": "svd",
            "adapters": [{"name": n, "path": f"{ADAPTER_DIR}/{n}", "weight": w} for n, w, _ in sources],
            "layer": layer,
            "svd_rank": rank,
            "matrix": "sum(weight_i * s_i * B_i @ A_i)",
            "relative_frobenius_error": "|M - M_rank| / |M|, M_rank = best rank-svd_rank approximation (Eckart-Young)",
            "modules": merge_modules,
        },
    }
    (out_dir / "svd.json").write_text(json.dumps(fixture, indent=1) + "\n")
    errors = ", ".join(f"{m['module']} {m['relative_frobenius_error']:.4f}" for m in merge_modules)
    print(f"svd: wrote {out_dir / 'svd.json'} in {time.perf_counter() - start:.1f}s; rank-{rank} merge errors: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=rf.MODEL_DIR / "fixtures" / "adapters")
    args = parser.parse_args()
    missing = [path for _, _, adapters in CASES for path, _ in adapters if not (rf.MODEL_DIR / path).exists()]
    if missing:
        raise SystemExit(f"missing adapters under {rf.MODEL_DIR}: {sorted(set(missing))}; run Scripts/make-demo-adapters "
                         "and Scripts/reference/peft_to_gguf_lora.py --peft Models/cache/adapters/demo-0")
    args.out.mkdir(parents=True, exist_ok=True)
    svd_fixtures(args.out)
    logit_fixtures(args.out)


if __name__ == "__main__":
    main()
