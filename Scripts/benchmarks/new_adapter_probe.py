#!/usr/bin/env python3
"""Do running streams pause when a request arrives for an adapter that is not loaded yet?

Starts N streaming clients on already-used adapters, then sends one request naming a cold adapter
(its first use loads it from disk) and reports the running streams' inter-token gaps before and
around that moment: median, the largest gap in the window, and the loader's own first-token time.

With --step-trace PATH (the server started with TRIBUTARY_STEP_TRACE=PATH) it also reports the
engine's own steps, as the time from one step's end to the next one's (a running stream's gap as
the engine produced it): the median before the arrival and the longest between the arrival and
the end of the window, without the load generator's and the HTTP layer's jitter.
"""
import argparse
import json
import statistics
import threading
import time

import httpx


def stream(base, key, model, max_tokens, marks, label, http=None):
    body = {"model": model, "prompt": "Tell me a long story about rivers and the sea.", "max_tokens": max_tokens,
            "temperature": 0, "stream": True, "ignore_eos": True}
    owned = http is None
    http = http or httpx.Client(timeout=600)
    try:
        with http.stream("POST", base + "/v1/completions", json=body, headers={"Authorization": "Bearer " + key}) as response:
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    marks.append((time.perf_counter(), label))
    finally:
        if owned:
            http.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--warm", default="demo-0,demo-1,demo-2,demo-3,demo-4,demo-5,demo-6,demo-7")
    parser.add_argument("--cold", default="demo-77")
    parser.add_argument("--step-trace", help="the server's TRIBUTARY_STEP_TRACE file")
    args = parser.parse_args()
    marks = []
    warm = args.warm.split(",")
    # Long enough (400 tokens, about 10 s at 8 streams) to run well past the arrival window.
    threads = [threading.Thread(target=stream, args=(args.base_url, args.key, a, 400, marks, a)) for a in warm]
    for t in threads:
        t.start()
    # The newcomer's client is made in advance: creating one (its TLS context, on these two cores)
    # takes over a tenth of a second of the load generator's CPU, which is not the server's doing.
    cold_client = httpx.Client(timeout=600)
    time.sleep(4)
    arrival = time.perf_counter()
    arrival_wall = time.time()
    cold_marks = []
    stream(args.base_url, args.key, args.cold, 8, cold_marks, "cold", http=cold_client)
    cold_client.close()
    for t in threads:
        t.join()
    gaps_before, gaps_window = [], []
    window_end = arrival + (cold_marks[0][0] - arrival if cold_marks else 1) + 0.5
    # Every running stream must still be streaming after the window, or the window says nothing.
    still_running = all(any(t > window_end for t, l in marks if l == label) for label in warm)
    for label in warm:
        times = sorted(t for t, l in marks if l == label)
        for a, b in zip(times, times[1:]):
            if b < arrival:
                gaps_before.append(b - a)
            elif a < window_end:
                gaps_window.append(b - a)
    engine = {}
    if args.step_trace:
        engine = engine_steps(args.step_trace, arrival_wall, arrival_wall + (window_end - arrival), len(warm))
    print(json.dumps({
        **engine,
        "streams": len(warm), "cold_adapter": args.cold,
        "cold_first_token_seconds": (cold_marks[0][0] - arrival) if cold_marks else None,
        "gap_median_before_ms": statistics.median(gaps_before) * 1000,
        "gap_max_before_ms": max(gaps_before) * 1000,
        "gap_max_around_arrival_ms": max(gaps_window) * 1000 if gaps_window else None,
        "gap_max_around_arrival_in_steps": max(gaps_window) / statistics.median(gaps_before) if gaps_window else None,
        "streams_ran_through_window": still_running,
    }, sort_keys=True))


def engine_steps(path, arrival, window_end, streams):
    """The engine's steps around the arrival, from its step trace.

    A running stream gets one token per step, so the time between two consecutive steps' ends is
    its gap as the engine produced it (the step itself plus the scheduler's work between steps).
    """
    steps = []
    for line in open(path):
        end, ms, decode, prefill = line.split()
        steps.append((float(end), float(ms), int(decode), int(prefill)))
    # (end, interval since the previous step's end in ms, duration ms, decode rows, prefill rows)
    intervals = [(b[0], (b[0] - a[0]) * 1000, b[1], b[2], b[3]) for a, b in zip(steps, steps[1:])]
    before = [gap for end, gap, ms, decode, prefill in intervals
              if arrival - 2 <= end < arrival and decode == streams and prefill == 0]
    window = [(gap, decode, prefill) for end, gap, ms, decode, prefill in intervals if arrival <= end - gap / 1000 and end - gap / 1000 < window_end]
    if not before or not window:
        return {"engine_steps_missing": "no steps before or after the arrival in the trace; is it the server's TRIBUTARY_STEP_TRACE file?"}
    median = statistics.median(before)
    longest = max(window)
    # The same length of time just before the arrival, for the machine's own jitter.
    span = window_end - arrival
    baseline = [gap for end, gap, ms, decode, prefill in intervals if arrival - span <= end < arrival]
    return {
        "engine_median_step_before_ms": median,
        "engine_longest_step_before_ms": max(baseline, default=None),
        "engine_longest_step_in_window_ms": longest[0],
        "engine_longest_step_in_steps": longest[0] / median,
        "engine_longest_step_rows": {"decode": longest[1], "prefill": longest[2]},
        "engine_newcomer_steps": [{"ms": round(gap, 2), "decode": d, "prefill": p} for gap, d, p in window if p > 0],
    }


if __name__ == "__main__":
    main()
