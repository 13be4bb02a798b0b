#!/usr/bin/env python3
"""Write dequantization fixtures: SHA-256 of every tensor of the real models, plus a synthetic GGUF.

Output (paths in the index are relative to Models/cache):
    Models/cache/fixtures/dequant/index.json
    Models/cache/fixtures/dequant/synthetic.gguf   one tensor per type, GGUF dims SYNTH_SHAPE
    Models/cache/fixtures/dequant/<tensor>.f32     expected little-endian float32 values, row-major

Each sha256 is taken over the float32 little-endian bytes of gguf.quants.dequantize(...) in row-major
order (GGUF dims [in, out] -> numpy (out, in)). gguf-py computes, all in float32 without fused
multiply-add: Q4_0/Q5_0/Q8_0 d*q; Q4_1/Q5_1 d*q + m; Q4_K/Q5_K (d*sc)*q - (dmin*m); Q6_K (d*sc)*q.

    python3 Scripts/reference/dequant_fixtures.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_FILES = [
    "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b-instruct.gguf",
]
SYNTH_SHAPE = [512, 6]  # GGUF order: 6 rows of 512 (two K-quant super-blocks per row)
SYNTH_TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]
# Byte offsets of the f16 scale fields inside one block of the types gguf-py cannot quantize.
K_QUANT_F16_FIELDS = {Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}


def float32_bytes(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f4").tobytes()


def entry(file: str, tensor: gguf.ReaderTensor) -> tuple[dict, np.ndarray]:
    values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return {
        "file": file,
        "tensor": tensor.name,
        "type": tensor.tensor_type.name,
        "shape": [int(d) for d in tensor.shape],
        "count": int(tensor.n_elements),
        "sha256": hashlib.sha256(float32_bytes(values)).hexdigest(),
    }, values


def synthetic_floats(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Rows of very different magnitudes, one all-zero row (zero scales) and one shifted row."""
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    x *= np.logspace(-3, 1, rows, dtype=np.float32)[:, None]
    x[1] = 0.0
    x[2] += 3.0  # all positive: exercises the minimum of Q4_1/Q5_1
    return x


def synthetic_tensor(rng: np.random.Generator, qtype: Q, floats: np.ndarray) -> np.ndarray:
    """Raw tensor data for `qtype` (numpy dtype for float types, uint8 bytes for quantized ones)."""
    if qtype == Q.F32:
        return floats
    if qtype == Q.F16:
        data = floats.astype(np.float16)
        data[3, :4] = np.array([6e-8, -6e-8, 3e-5, -0.0], dtype=np.float16)  # subnormals and -0
        return data
    if qtype == Q.BF16:
        data = gguf.quants.quantize(floats, qtype)  # uint8, two bytes per element
        halves = data.view(np.uint16)
        halves[3, :3] = [0x0001, 0x8001, 0x8000]  # bf16 subnormals and -0
        return data
    if qtype not in K_QUANT_F16_FIELDS:
        return gguf.quants.quantize(floats, qtype)
    # K-quants: random whole blocks, then finite small f16 values in the scale fields.
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    rows, cols = floats.shape
    n_blocks = rows * cols // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in K_QUANT_F16_FIELDS[qtype]:
        scales = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        blocks[:, offset : offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(rows, cols // block_size * type_size)


def write_synthetic(out_dir: Path, cache_dir: Path, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    cols, rows = SYNTH_SHAPE
    path = out_dir / "synthetic.gguf"
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name("Tributary dequantization fixtures")
    for qtype in SYNTH_TYPES:
        data = synthetic_tensor(rng, qtype, synthetic_floats(rng, rows, cols))
        raw = qtype if data.dtype == np.uint8 else None
        writer.add_tensor(f"synthetic.{qtype.name.lower()}", data, raw_dtype=raw)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Expected values come from reading the written file back, exactly as for the real models.
    entries = []
    rel = path.relative_to(cache_dir).as_posix()
    for tensor in gguf.GGUFReader(path).tensors:
        item, values = entry(rel, tensor)
        expected = out_dir / f"{tensor.name}.f32"
        expected.write_bytes(float32_bytes(values))
        item["expected_file"] = expected.relative_to(cache_dir).as_posix()
        if not np.all(np.isfinite(values)):
            raise SystemExit(f"{tensor.name}: non-finite expected values")
        entries.append(item)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "Models" / "cache", help="model folder")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()

    cache_dir = args.cache.resolve()
    out_dir = cache_dir / "fixtures" / "dequant"
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tensors = []
    for name in MODEL_FILES:
        path = cache_dir / name
        if not path.exists():
            print(f"skipping missing {path}")
            continue
        start = time.perf_counter()
        reader = gguf.GGUFReader(path)
        tensors += [entry(name, t)[0] for t in reader.tensors]
        print(f"{name}: {len(reader.tensors)} tensors in {time.perf_counter() - start:.1f}s")
    tensors += write_synthetic(out_dir, cache_dir, args.seed)
    index = {"root": "Models/cache", "tensors": tensors}
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {out_dir / 'index.json'} ({len(tensors)} tensors) in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
