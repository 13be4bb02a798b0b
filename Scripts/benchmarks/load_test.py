#!/usr/bin/env python3
"""Load generator for OpenAI-compatible servers (Tributary or llama.cpp's server).

Each client streams completions back to back (fixed output length via ignore_eos / n_predict) and
records time to first token and the gaps between tokens. Prints one JSON summary: aggregate
generated tokens/s, TTFT and inter-token latency percentiles, and the largest gap.
"""
import argparse
import json
import sys
import random
import statistics
import threading
import time

import httpx


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def prompt_text(tokens: int, seed: int) -> str:
    rng = random.Random(seed)
    words = ["river", "stone", "light", "market", "harbour", "winter", "garden", "signal", "paper", "engine", "forest", "quiet"]
    # About one token per word for this vocabulary.
    return "Story %d: " % seed + " ".join(rng.choice(words) for _ in range(max(tokens - 4, 1)))


def run_client(args, index, model, adapter_payload, results, stop_at, lock, http):
    # With --ramp, client i starts i/clients of the way through it, so arrivals spread out as they do
    # under a steady load instead of all landing in the first step.
    time.sleep(args.ramp * index / args.clients)
    headers = {"Authorization": "Bearer " + args.key} if args.key else {}
    with http:
        request_number = 0
        while time.time() < stop_at and request_number < args.requests_per_client:
            body = {"model": model, "prompt": prompt_text(args.prompt_tokens, index * 1000 + request_number),
                    "max_tokens": args.max_tokens, "temperature": 0, "stream": True, "ignore_eos": True,
                    "n_predict": args.max_tokens}
            body.update(adapter_payload)
            start = time.perf_counter()
            first, last, gaps, ends, tokens = None, None, [], [], 0
            try:
                # A fresh connection per request: a kept-alive connection the server has already closed
                # would otherwise fail the next request before it is sent.
                with http.stream("POST", args.base_url + "/v1/completions", json=body,
                                 headers={**headers, "Connection": "close"}) as response:
                    if response.status_code != 200:
                        with lock:
                            results["errors"] += 1
                        time.sleep(0.2)
                        continue
                    for line in response.iter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        chunk = json.loads(line[6:])
                        if not chunk.get("choices") or not chunk["choices"][0].get("text"):
                            continue
                        now = time.perf_counter()
                        if first is None:
                            first = now
                        else:
                            gaps.append(now - last)
                            ends.append(now)
                        last = now
                        tokens += 1
            except httpx.HTTPError as error:
                # A dropped connection or a timeout is an error, never a silently missing request.
                print("client %d request %d: %s: %s" % (index, request_number, type(error).__name__, error), file=sys.stderr)
                with lock:
                    results["errors"] += 1
                request_number += 1
                continue
            with lock:
                results["ttft"].append(first - start if first else 0)
                results["gaps"].extend(gaps)
                results["tokens"] += tokens
                results["requests"] += 1
                results["gap_times"].extend(zip(ends, gaps))
            request_number += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--model", required=True, help="the base model name")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--adapters", default="", help="comma-separated adapter names; clients spread over them")
    parser.add_argument("--zipf", type=float, default=0.0, help="Zipf exponent for adapter popularity (0: even)")
    parser.add_argument("--adapter-field", default="model", choices=["model", "lora", "lora-first"],
                        help="how to name the adapter: Tributary's model field, or llama.cpp's per-request lora list "
                             "(lora: each client's adapter at scale 1, the others 0; lora-first: always the first)")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the clients start, evenly spaced (0: all at once)")
    parser.add_argument("--label", default="")
    parser.add_argument("--gaps-out", default="", help="write every inter-token gap here, one per line: "
                                                       "the seconds since the start when it ended, and its length in ms")
    args = parser.parse_args()

    adapters = [a for a in args.adapters.split(",") if a]
    rng = random.Random(11)
    if adapters and args.zipf > 0:
        weights = [1 / (rank + 1) ** args.zipf for rank in range(len(adapters))]
        chosen = rng.choices(range(len(adapters)), weights=weights, k=args.clients)
    else:
        chosen = [i % len(adapters) for i in range(args.clients)] if adapters else [None] * args.clients
    results = {"ttft": [], "gaps": [], "tokens": 0, "requests": 0, "errors": 0, "gap_times": []}
    lock = threading.Lock()
    stop_at = time.time() + args.duration
    threads = []
    for index in range(args.clients):
        payload, model = {}, args.model
        if chosen[index] is not None:
            if args.adapter_field == "model":
                model = adapters[chosen[index]]
            else:
                active = 0 if args.adapter_field == "lora-first" else chosen[index]
                payload = {"lora": [{"id": i, "scale": 1.0 if i == active else 0.0} for i in range(len(adapters))]}
        elif args.adapter_field != "model":
            payload = {"lora": []}
        # Clients are made before the clock starts: each takes over a tenth of a second of CPU (its
        # TLS context), which on a small machine would be taken from the server under test.
        http = httpx.Client(timeout=600)
        threads.append(threading.Thread(target=run_client, args=(args, index, model, payload, results, stop_at, lock, http)))
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    summary = {
        "label": args.label, "clients": args.clients, "ramp_seconds": args.ramp, "adapters": len(adapters), "zipf": args.zipf,
        "requests": results["requests"], "errors": results["errors"], "generated_tokens": results["tokens"],
        "wall_seconds": wall, "tokens_per_second": results["tokens"] / wall if wall else 0,
        "ttft_p50": percentile(results["ttft"], 0.5), "ttft_p99": percentile(results["ttft"], 0.99),
        "itl_p50": percentile(results["gaps"], 0.5), "itl_p99": percentile(results["gaps"], 0.99),
        "itl_max": max(results["gaps"]) if results["gaps"] else 0,
    }
    print(json.dumps(summary, sort_keys=True), flush=True)
    if args.gaps_out:
        with open(args.gaps_out, "w") as out:
            for ended, gap in sorted(results["gap_times"]):
                out.write("%.4f %.2f\n" % (ended - start, gap * 1000))


if __name__ == "__main__":
    main()
