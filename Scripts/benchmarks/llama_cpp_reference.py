#!/usr/bin/env python3
"""Measures llama.cpp (through the llama-cpp-python package) like `tributary bench` does.

Same model file, same thread count, same workload: load time, prefill of a PROMPT-token prompt
(pp), and single-stream decode of DECODE tokens (tg) after an 8-token prompt; medians of REPEATS.
Prints one JSON object per thread count.
"""
import argparse
import json
import statistics
import time


def measure(model_path: str, threads: int, prompt_tokens: int, decode_tokens: int, repeats: int) -> dict:
    from llama_cpp import Llama

    start = time.perf_counter()
    llm = Llama(model_path=model_path, n_threads=threads, n_threads_batch=threads,
                n_ctx=prompt_tokens + decode_tokens + 16, n_batch=prompt_tokens, n_ubatch=prompt_tokens,
                logits_all=False, verbose=False)
    load_seconds = time.perf_counter() - start
    vocabulary = llm.n_vocab()
    # The same deterministic prompt as `tributary bench`: ids spread over the vocabulary.
    prompt = [((i * 2654435761) % (vocabulary - 1000)) + 500 for i in range(prompt_tokens)]
    prefill, decode = [], []
    for _ in range(repeats):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        prefill.append(prompt_tokens / (time.perf_counter() - start))
        llm.reset()
        llm.eval(prompt[:8])
        token = prompt[8]
        llm.eval([token])
        start = time.perf_counter()
        for _ in range(decode_tokens - 1):
            llm.eval([token])
        decode.append((decode_tokens - 1) / (time.perf_counter() - start))
    return {
        "engine": "llama.cpp (llama-cpp-python %s)" % __import__("llama_cpp").__version__,
        "model": model_path, "threads": threads, "load_seconds": load_seconds,
        "prefill_tokens_per_second": statistics.median(prefill),
        "decode_tokens_per_second": statistics.median(decode),
        "prompt_tokens": prompt_tokens, "decode_tokens": decode_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for threads in [int(t) for t in args.threads.split(",")]:
        print(json.dumps(measure(args.model, threads, args.prompt_tokens, args.decode_tokens, args.repeats), sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
