#!/usr/bin/env python3
"""Convert a PEFT LoRA directory into a llama.cpp GGUF LoRA file for a given base GGUF.

    python3 Scripts/reference/peft_to_gguf_lora.py --peft Models/cache/adapters/demo-0 \\
        --base Models/cache/SmolLM2-135M-Instruct.Q4_1.gguf --out Models/cache/adapters/demo-0.gguf
    python3 Scripts/reference/peft_to_gguf_lora.py ... --check      # also run llama.cpp (llama-cpp-python)

Output: general.architecture = the base's, general.type = "adapter", adapter.type = "lora",
adapter.lora.alpha (float32); tensors blk.{i}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}
.weight.lora_a (GGUF dims [in, r] = row-major [r, in]) and .lora_b (GGUF dims [r, out] = row-major [out, r]),
float32 (or --outtype f16). For a llama base, lora_b of q_proj / k_proj gets llama.cpp's HF -> GGUF row
permutation (the same one its converter applied to the base's Q/K weights).

One alpha per file: llama.cpp scales every pair by alpha / r with r = that pair's rank (lora_b's GGUF
ne[0]). The file's alpha is chosen as s_default * r_default, where s_default is PEFT's scale for a module
without overrides (lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora), so plain adapters keep their
lora_alpha and their B bytes. A module whose PEFT scale s_m differs (rank_pattern, alpha_pattern, rslora)
has its lora_b multiplied by s_m * r_m / alpha_file, so that alpha_file / r_m * B' = s_m * B.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import gguf
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_forward as rf  # noqa: E402


def convert(peft_dir: Path, base: Path, out: Path, outtype: str = "f32") -> dict:
    """Write the GGUF LoRA; returns a summary (alpha, folded modules, tensor count)."""
    adapter = rf.read_peft_adapter(peft_dir)
    reader = gguf.GGUFReader(base)
    cfg = rf.read_config(reader)
    base_shapes = {t.name: tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors}  # (out, in)
    config = adapter.config
    r0 = int(config["r"])
    s0 = float(config["lora_alpha"]) / (math.sqrt(r0) if config.get("use_rslora") else r0)
    alpha_file = s0 * r0
    if alpha_file == 0:
        raise SystemExit(f"{peft_dir}: lora_alpha 0 cannot be expressed (llama.cpp reads alpha 0 as 'no scaling')")
    dtype = np.float16 if outtype == "f16" else np.float32

    tensors = rf.adapter_gguf_tensors(adapter, cfg)  # B already in the GGUF's row order
    writer = gguf.GGUFWriter(str(out), cfg.arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha_file)
    writer.add_string(gguf.Keys.General.NAME, peft_dir.name)
    base_name = config.get("base_model_name_or_path")
    if base_name:
        writer.add_string("general.base_model.0.repo_url", f"https://huggingface.co/{base_name}")
    folded = {}
    for name, (a, b, s) in tensors.items():
        shape = base_shapes.get(name)
        if shape is None:
            raise SystemExit(f"{peft_dir}: the base model has no tensor {name}")
        if a.shape[1] != shape[1] or b.shape[0] != shape[0]:
            raise SystemExit(f"{peft_dir}: {name}: A {list(a.shape)} / B {list(b.shape)} do not fit the base "
                             f"matrix {list(shape)} (out, in)")
        r = a.shape[0]
        factor = s * r / alpha_file
        if factor != 1.0:
            b = (b.astype(np.float64) * factor).astype(np.float32)
            folded[name] = factor
        writer.add_tensor(name + ".lora_a", np.ascontiguousarray(a, dtype=dtype))
        writer.add_tensor(name + ".lora_b", np.ascontiguousarray(b, dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"alpha": alpha_file, "folded": folded, "pairs": len(tensors)}


def llama_cpp_run(base: Path, lora: Path | None, prompt_ids: list[int], n: int):
    """llama.cpp (llama-cpp-python) with an optional GGUF LoRA at scale 1: (logits at every prompt
    position [T, vocab], n greedy tokens)."""
    from llama_cpp import Llama

    kwargs = dict(model_path=str(base), n_threads=2, n_ctx=256, verbose=False, logits_all=True)
    if lora is not None:
        kwargs["lora_path"] = str(lora)
    llm = Llama(**kwargs)
    llm.eval(prompt_ids)
    logits = np.array(llm.scores[: len(prompt_ids)], dtype=np.float64)
    tokens = []
    for token in llm.generate(prompt_ids, temp=0.0, top_k=1, top_p=1.0, repeat_penalty=1.0, reset=True):
        tokens.append(int(token))
        if len(tokens) == n:
            break
    del llm
    return logits, tokens


def numpy_prompt_logits(model: rf.Model, prompt_ids: list[int]) -> np.ndarray:
    cache = model.new_cache(len(prompt_ids) + 1)
    return np.stack([model.forward([t], cache) for t in prompt_ids]).astype(np.float64)


def delta_agreement(cpp_delta: np.ndarray, ref_delta: np.ndarray) -> str:
    """How well llama.cpp's logit change (adapter - base) follows the NumPy one: correlation, and the
    least-squares gain g minimising |cpp - g * ref| (1 when the scale is right)."""
    x, y = ref_delta.ravel(), cpp_delta.ravel()
    return f"correlation {np.corrcoef(x, y)[0, 1]:.4f}, gain {float(x @ y / (x @ x)):.3f}"


def check(base: Path, peft_dir: Path, lora: Path, prompt: str, n: int) -> None:
    """Compare llama.cpp with and without the GGUF LoRA against the NumPy merged references. Control:
    the same conversion without the q/k row permutation must agree clearly worse."""
    model = rf.Model(base)
    tokenizer = rf.load_tokenizer(base)
    ids = rf.encode(tokenizer, model.cfg, prompt)

    def first_difference(x, y):
        return next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), None)

    merged = model.with_adapters([(peft_dir, 1.0)])
    ref_base, _, _ = rf.generate(model, ids, n)
    ref_peft, _, _ = rf.generate(merged, ids, n)
    ref_gguf, _, _ = rf.generate(model.with_adapters([(lora, 1.0)]), ids, n)
    cpp_base_logits, cpp_base = llama_cpp_run(base, None, ids, n)
    cpp_lora_logits, cpp_lora = llama_cpp_run(base, lora, ids, n)
    rows = [("numpy base", ref_base), ("llama.cpp base", cpp_base), ("numpy + PEFT (merged)", ref_peft),
            ("numpy + GGUF LoRA", ref_gguf), ("llama.cpp + GGUF LoRA", cpp_lora)]
    for label, toks in rows:
        print(f"  {label:22s} {tokenizer.decode(toks)!r}")
    print(f"  numpy PEFT vs numpy GGUF LoRA: first difference at {first_difference(ref_peft, ref_gguf)}")
    print(f"  llama.cpp base vs numpy base: first difference at {first_difference(cpp_base, ref_base)}")
    print(f"  llama.cpp LoRA vs llama.cpp base: first difference at {first_difference(cpp_lora, cpp_base)}")
    print(f"  llama.cpp LoRA vs numpy merged: first difference at {first_difference(cpp_lora, ref_peft)}")

    ref_delta = numpy_prompt_logits(merged, ids) - numpy_prompt_logits(model, ids)
    print(f"  logit change over {len(ids)} prompt positions, llama.cpp vs numpy: "
          f"{delta_agreement(cpp_lora_logits - cpp_base_logits, ref_delta)}")
    with tempfile.TemporaryDirectory() as tmp:
        control = Path(tmp) / "unpermuted.gguf"
        permute = rf.hf_to_gguf_rows
        rf.hf_to_gguf_rows = lambda w, n_head: w
        try:
            convert(peft_dir, base, control)
        finally:
            rf.hf_to_gguf_rows = permute
        control_logits, _ = llama_cpp_run(base, control, ids, 1)
    print(f"  control without the q/k permutation:                  "
          f"{delta_agreement(control_logits - cpp_base_logits, ref_delta)}")
    if first_difference(cpp_lora, cpp_base) is None:
        raise SystemExit("llama.cpp's continuation with the adapter equals the base's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peft", type=Path, required=True, help="PEFT adapter directory")
    parser.add_argument("--base", type=Path, default=rf.model_path("smollm2"), help="base model GGUF")
    parser.add_argument("--out", type=Path, help="output .gguf (default: <peft dir>.gguf)")
    parser.add_argument("--outtype", choices=["f32", "f16"], default="f32")
    parser.add_argument("--check", action="store_true", help="compare llama.cpp's greedy output (llama_cpp)")
    parser.add_argument("--prompt", default="Once upon a time, in a small village by the sea, there lived")
    parser.add_argument("-n", type=int, default=16, help="greedy tokens for --check")
    args = parser.parse_args()
    out = args.out or args.peft.with_name(args.peft.name + ".gguf")
    start = time.perf_counter()
    summary = convert(args.peft, args.base, out, args.outtype)
    folded = ", ".join(f"{k} x{v:.4g}" for k, v in sorted(summary["folded"].items())[:6])
    more = len(summary["folded"]) - 6
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {summary['pairs']} pairs, alpha {summary['alpha']:g}) "
          f"in {time.perf_counter() - start:.1f}s")
    if summary["folded"]:
        print(f"  scale folded into lora_b of {len(summary['folded'])} modules: {folded}"
              + (f", ... ({more} more)" if more > 0 else ""))
    if args.check:
        check(args.base, args.peft, out, args.prompt, args.n)


if __name__ == "__main__":
    main()
