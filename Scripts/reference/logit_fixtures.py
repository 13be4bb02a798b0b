#!/usr/bin/env python3
"""Write reference logits and greedy continuations for the real models, from reference_forward.py.

For each model, Models/cache/fixtures/reference/<model>.json lists cases; each case's logits file
<model>.<case>.logits.f32 (same folder) is little-endian float32 [LOGIT_ROWS, vocab]: row 0 holds
the logits at the last prompt position, row k (1..4) the logits after feeding greedy_ids[k-1].
greedy_ids are N_GREEDY argmax tokens (lowest id on exact ties), not stopped at EOS. Every case also
records the top-2 logit gap at each greedy step; the script fails if one is below MIN_GAP.

    python3 Scripts/reference/logit_fixtures.py                 # all models
    python3 Scripts/reference/logit_fixtures.py --models gemma3
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path

# One BLAS thread: deterministic sums, and no slowdown when another job shares the 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import reference_forward as rf

N_GREEDY = 32
LOGIT_ROWS = 5
MIN_GAP = 1e-3

STORY = "Once upon a time, in a small village by the sea, there lived"
CHATML = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
GEMMA_CHAT = "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"
CODE = 'def is_prime(n):\n    """Return True if n is a prime number."""\n'

NAMES = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
         "Liam", "Marta", "Nikos", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tomas", "Uma", "Victor", "Wen",
         "Ximena", "Yusuf", "Zoe"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Kyoto", "Lima", "Dublin", "Hanoi", "Quebec", "Tunis", "Perth", "Bergen",
          "Seville", "Krakow", "Manila", "Denver", "Porto", "Tallinn"]
JOBS = ["baker", "pilot", "nurse", "teacher", "carpenter", "chemist", "librarian", "gardener", "painter",
        "farmer", "architect", "tailor", "plumber"]


def guest_list_prompt(guests: int = 38) -> str:
    """About 650 gemma3 tokens; the answer (Lisbon) sits more than 512 tokens before the question,
    so only the global layers can see it."""
    lines = ["The following is the guest list of the harbour festival, with each guest's home city and job."]
    for i in range(guests):
        initial = chr(ord("A") + (i * 7) % 26)
        lines.append(f"{i + 1}. {NAMES[i % 26]} {initial}. lives in {CITIES[(i * 5) % 17]} "
                     f"and works as a {JOBS[(i * 3) % 13]}.")
    lines.append("Question: Which city does guest number 1, Alice A., live in?\nAnswer:")
    return "\n".join(lines)


CASES = {
    "smollm2": [("plain", STORY), ("chat", CHATML)],
    "gemma3": [("plain", STORY), ("chat", GEMMA_CHAT), ("long", guest_list_prompt())],
    "qwen2": [("plain", STORY), ("chat", CHATML), ("code", CODE)],
}


def run_case(model: rf.Model, tokenizer, model_name: str, case: str, text: str, out_dir: Path) -> dict:
    start = time.perf_counter()
    prompt_ids = rf.encode(tokenizer, model.cfg, text)
    greedy, rows, gaps = rf.generate(model, prompt_ids, N_GREEDY, extra_rows=LOGIT_ROWS - 1)
    logits_file = f"{model_name}.{case}.logits.f32"
    (out_dir / logits_file).write_bytes(np.ascontiguousarray(rows, dtype="<f4").tobytes())
    result = {
        "name": case,
        "prompt_text": text,
        "prompt_ids": prompt_ids,
        "greedy_ids": greedy,
        "greedy_text": tokenizer.decode(greedy, skip_special_tokens=False),
        "logits_file": logits_file,
        "logit_rows": LOGIT_ROWS,
        "max_abs_logit_range": float(rows[0].max() - rows[0].min()),
        "top2_gaps": [float(f"{g:.6g}") for g in gaps],
        "min_top2_gap": float(f"{min(gaps):.6g}"),
    }
    if model.cfg.sliding_window is not None and len(prompt_ids) > model.cfg.sliding_window:
        model.ignore_sliding_window = True
        unwindowed, _, _ = rf.generate(model, prompt_ids, N_GREEDY)
        model.ignore_sliding_window = False
        differs = [i for i in range(N_GREEDY) if unwindowed[i] != greedy[i]]
        if not differs:
            raise SystemExit(f"{model_name}/{case}: the sliding window does not change the greedy tokens")
        result["without_sliding_window"] = {
            "greedy_ids": unwindowed,
            "greedy_text": tokenizer.decode(unwindowed, skip_special_tokens=False),
            "first_differing_step": differs[0],
        }
    print(f"  {case}: {len(prompt_ids)} prompt tokens, min top-2 gap {min(gaps):.4g} "
          f"(step {int(np.argmin(gaps))}), {time.perf_counter() - start:.1f}s")
    print(f"    -> {result['greedy_text']!r}")
    if "without_sliding_window" in result:
        print(f"    without window: {result['without_sliding_window']['greedy_text']!r}")
    if min(gaps) < MIN_GAP:
        raise SystemExit(f"{model_name}/{case}: near-tie (gap {min(gaps):.3g}); choose another prompt")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--out", type=Path, default=rf.MODEL_DIR / "fixtures" / "reference")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    for name in args.models:
        start = time.perf_counter()
        path = rf.model_path(name)
        model = rf.Model(path)
        loaded = time.perf_counter()
        tokenizer = rf.load_tokenizer(path)
        print(f"{name}: loaded {path.name} in {loaded - start:.1f}s, "
              f"tokenizer built in {time.perf_counter() - loaded:.1f}s")
        cases = [run_case(model, tokenizer, name, case, text, args.out) for case, text in CASES[name]]
        fixture = {
            "model_file": path.name,
            "architecture": model.cfg.arch,
            "vocab": int(model.output.shape[0]),
            "bos_prepended": model.cfg.add_bos,
            "generator": "Scripts/reference/reference_forward.py",
            "cases": cases,
        }
        (args.out / f"{name}.json").write_text(json.dumps(fixture, indent=1) + "\n")
        print(f"{name}: wrote {args.out / (name + '.json')} in {time.perf_counter() - start:.1f}s")
        del model
        gc.collect()


if __name__ == "__main__":
    main()
