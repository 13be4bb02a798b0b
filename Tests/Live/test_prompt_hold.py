"""The prompt hold (`tributary serve --prompt-hold SECONDS`) on the real model with the openai client:
a new prompt waits while another stream generates, until that stream finishes or the hold runs out,
and its answer is the same as alone."""
import tempfile
import threading
import time

from openai import OpenAI

from conftest import MODEL_NAME, Server, make_key

HOLD_SECONDS = 3.0
# Eight tokens whatever they are, so the newcomer always takes its prefill and eight steps.
NEWCOMER = dict(model=MODEL_NAME, prompt="The capital of France is", max_tokens=8, temperature=0, extra_body={"ignore_eos": True})


def newcomer_beside_stream(client: OpenAI, stream_tokens: int) -> dict:
    """Streams `stream_tokens` tokens; once the first arrives, a newcomer asks for a short completion.
    Returns when each ended (perf_counter seconds) and the newcomer's text."""
    times: dict = {}

    def newcomer():
        times["newcomer_sent"] = time.perf_counter()
        times["newcomer_text"] = client.completions.create(**NEWCOMER).choices[0].text
        times["newcomer_done"] = time.perf_counter()

    thread = None
    stream = client.completions.create(model="demo-0", prompt="Once upon a time", max_tokens=stream_tokens,
                                       temperature=0, stream=True, extra_body={"ignore_eos": True})
    for chunk in stream:
        if thread is None and chunk.choices and chunk.choices[0].text:
            thread = threading.Thread(target=newcomer)
            thread.start()
    times["stream_done"] = time.perf_counter()
    thread.join()
    return times


def test_prompt_hold_waits_for_the_running_stream_then_runs_out():
    directory = tempfile.mkdtemp(prefix="tributary-hold-")
    server = Server(directory, ["--prompt-hold", str(HOLD_SECONDS)])
    key = make_key(server.keys_file, "consumer", "hold")
    server.start()
    try:
        client = OpenAI(base_url=server.base_url + "/v1", api_key=key, max_retries=0, timeout=120)
        alone = client.completions.create(**NEWCOMER).choices[0].text

        # A short stream (40 tokens, well under the hold) finishes first: the newcomer, sent while it
        # still had most of its tokens to go, waits for it.
        short = newcomer_beside_stream(client, 40)
        assert short["newcomer_sent"] < short["stream_done"] - 0.2, short
        assert short["newcomer_done"] > short["stream_done"], short
        assert short["newcomer_text"] == alone

        # A long stream (600 tokens, several times the hold): the newcomer starts when the hold runs
        # out, beside the stream, and is done long before it.
        long = newcomer_beside_stream(client, 600)
        waited = long["newcomer_done"] - long["newcomer_sent"]
        assert waited >= HOLD_SECONDS - 0.2, long
        assert long["newcomer_done"] < long["stream_done"], long
        assert long["newcomer_text"] == alone
    finally:
        assert server.stop() == 0


def test_prompt_hold_must_be_seconds():
    server = Server(tempfile.mkdtemp(prefix="tributary-hold-bad-"))
    for value in ["-1", "nan"]:
        result = server.tributary("serve", "--model", "unused.gguf", f"--prompt-hold={value}")
        assert result.returncode != 0
        assert "--prompt-hold takes seconds" in result.stderr, result.stderr
