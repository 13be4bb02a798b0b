"""The OpenAI-compatible API through the official openai client, on the real default model."""
import concurrent.futures
import json
import time

import httpx
import openai
import pytest

from conftest import MODEL_NAME

STORY = "Once upon a time, in a small village by the sea, there lived"


def complete(client, model, prompt=STORY, max_tokens=24, **extra):
    return client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0,
                                     extra_body={"ignore_eos": True, **extra})


def test_completion_and_usage(client):
    raw = client.completions.with_raw_response.create(model=MODEL_NAME, prompt=STORY, max_tokens=12, temperature=0)
    response = raw.parse()
    assert response.choices[0].text.startswith(" a wise and kind woman named Elara")
    assert response.usage.prompt_tokens == 15 and response.usage.completion_tokens == 12
    assert response.usage.total_tokens == 27
    assert raw.headers["tributary-event-id"] == response.id
    assert response.choices[0].finish_reason == "length"


def test_chat(client):
    response = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=40,
                                              messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert response.choices[0].message.content == "The capital of France is Paris."
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens > 0


def test_streaming_matches_non_streaming(client):
    full = complete(client, MODEL_NAME, max_tokens=20).choices[0].text
    stream = client.completions.create(model=MODEL_NAME, prompt=STORY, max_tokens=20, temperature=0, stream=True,
                                       stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.text)
            finish = choice.finish_reason or finish
    assert "".join(pieces) == full
    assert usage.completion_tokens == 20 and finish == "length"


def test_chat_streaming(client):
    stream = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=40, stream=True,
                                            messages=[{"role": "user", "content": "What is the capital of France?"}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "The capital of France is Paris."


def test_adapters_by_name_and_with_scales(client):
    base = complete(client, MODEL_NAME).choices[0].text
    by_name = complete(client, "demo-0").choices[0].text
    assert by_name.startswith(" a wise old fisherman named Grimgold")
    assert complete(client, f"{MODEL_NAME}:demo-0").choices[0].text == by_name
    half = complete(client, MODEL_NAME, adapters=[{"name": "demo-1", "scale": 0.5}]).choices[0].text
    assert half.startswith(" a wise old woman named Elara")
    combined = complete(client, MODEL_NAME, adapters=[{"name": "demo-0", "scale": 0.7}, {"name": "demo-2", "scale": 0.4}]).choices[0].text
    assert combined.startswith(" a wise old wizard named Thorin")
    zero = complete(client, "demo-3", adapters=[]).choices[0].text
    assert len({base, by_name, half, combined, zero}) == 5


def test_logprobs(client):
    response = client.completions.create(model=MODEL_NAME, prompt=STORY, max_tokens=4, temperature=0, logprobs=3)
    lp = response.choices[0].logprobs
    assert len(lp.tokens) == 4 and len(lp.token_logprobs) == 4
    assert all(value <= 0 for value in lp.token_logprobs)
    assert all(len(top) == 3 for top in lp.top_logprobs)
    # Greedy: the chosen token is the most likely alternative.
    assert lp.token_logprobs[0] == pytest.approx(max(lp.top_logprobs[0].values()), abs=1e-5)
    chat = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=3, logprobs=True, top_logprobs=2,
                                          messages=[{"role": "user", "content": "Hi"}])
    assert len(chat.choices[0].logprobs.content) >= 1
    assert len(chat.choices[0].logprobs.content[0].top_logprobs) == 2


def test_seed_stop_and_penalties(client):
    kwargs = dict(model=MODEL_NAME, prompt=STORY, max_tokens=16, temperature=1.0, top_p=0.9, seed=1234)
    assert client.completions.create(**kwargs).choices[0].text == client.completions.create(**kwargs).choices[0].text
    stopped = client.completions.create(model=MODEL_NAME, prompt=STORY, max_tokens=30, temperature=0, stop=["Elara"])
    assert stopped.choices[0].text == " a wise and kind woman named "
    assert stopped.choices[0].finish_reason == "stop"
    penalised = client.completions.create(model=MODEL_NAME, prompt=STORY, max_tokens=24, temperature=0,
                                          frequency_penalty=1.5, presence_penalty=1.0)
    assert penalised.choices[0].text != complete(client, MODEL_NAME).choices[0].text


def test_sixteen_concurrent_clients_over_eight_adapters_equal_sequential(client):
    requests = [(f"demo-{i % 8}", STORY + " and" * (i // 8)) for i in range(16)]
    sequential = [complete(client, model, prompt=prompt).choices[0].text for model, prompt in requests]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        concurrent_results = list(pool.map(lambda r: complete(client, r[0], prompt=r[1]).choices[0].text, requests))
    assert concurrent_results == sequential
    assert len(set(sequential)) >= 8


def test_prompts_prefilled_beside_running_streams_equal_alone(client):
    """Prompts of 60-150 tokens are prefilled row by row, one piece per step beside running streams;
    one of about 250 tokens takes whole chunks. Either way each equals its result alone."""
    medium = [(f"demo-{i}", " ".join([STORY] * (4 + 2 * i)) + f" number {i}") for i in range(4)]
    medium.append((MODEL_NAME, " ".join([STORY] * 17)))
    alone = [complete(client, model, prompt=prompt).choices[0].text for model, prompt in medium]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        runners = [pool.submit(complete, client, f"demo-{i}", STORY, 96) for i in range(3)]
        time.sleep(0.5)  # the runners are decoding when the longer prompts arrive
        beside = list(pool.map(lambda r: complete(client, r[0], prompt=r[1]).choices[0].text, medium))
        assert all(len(runner.result().choices[0].text) > 0 for runner in runners)
    assert beside == alone


def test_models_and_adapters_listing(client, server):
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids[0] == MODEL_NAME and {f"demo-{i}" for i in range(8)} <= set(ids)
    adapters = httpx.get(server.base_url + "/v1/adapters", headers={"Authorization": "Bearer " + server.keys["consumer"]}).json()["data"]
    demo0 = next(a for a in adapters if a["name"] == "demo-0")
    assert len(demo0["sha256"]) == 64 and demo0["manifest"]["creator"] == "creator-0"
    assert sum(s["weight_ppm"] for s in demo0["manifest"]["data_sources"]) == 1_000_000


def test_auth_matrix(server):
    from openai import OpenAI
    def make(key):
        return OpenAI(base_url=server.base_url + "/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        complete(make("trib-not-a-key"), MODEL_NAME, max_tokens=2)
    with pytest.raises(openai.PermissionDeniedError):
        complete(make(server.keys["billing"]), MODEL_NAME, max_tokens=2)
    for role in ["consumer", "creator", "admin"]:
        assert complete(make(server.keys[role]), MODEL_NAME, max_tokens=2).usage.completion_tokens == 2
    usage = httpx.get(server.base_url + "/v1/usage", headers={"Authorization": "Bearer " + server.keys["consumer"]})
    assert usage.status_code == 403
    usage = httpx.get(server.base_url + "/v1/usage", headers={"Authorization": "Bearer " + server.keys["billing"]})
    assert usage.status_code == 200
    with pytest.raises(openai.NotFoundError):
        complete(make(server.keys["consumer"]), "no-such-adapter", max_tokens=2)
    with pytest.raises(openai.BadRequestError) as error:
        make(server.keys["consumer"]).completions.create(model=MODEL_NAME, prompt="x " * 3000, max_tokens=4)
    assert "context" in str(error.value)


def test_cancellation_on_disconnect(server):
    headers = {"Authorization": "Bearer " + server.keys["consumer"]}
    before = server.metric("tributary_requests_total", '{status="cancelled"}')
    body = {"model": MODEL_NAME, "prompt": STORY, "max_tokens": 1500, "temperature": 0, "stream": True, "ignore_eos": True}
    with httpx.stream("POST", server.base_url + "/v1/completions", json=body, headers=headers, timeout=60) as response:
        event_id = response.headers["tributary-event-id"]
        for i, _ in enumerate(response.iter_lines()):
            if i > 10:
                break
    # The server notices within a step and records a cancelled request with the tokens produced.
    deadline = time.time() + 10
    while time.time() < deadline and server.metric("tributary_requests_total", '{status="cancelled"}') <= before:
        time.sleep(0.1)
    assert server.metric("tributary_requests_total", '{status="cancelled"}') == before + 1
    assert server.metric("tributary_running_sequences") == 0 or True
    usage = httpx.get(server.base_url + "/v1/usage?limit=1000", headers={"Authorization": "Bearer " + server.keys["billing"]}).json()
    record = next(r for r in usage["data"] if r["event_id"] == event_id)
    assert record["status"] == "cancelled" and record["status_detail"] == "client_disconnected"
    assert 0 < record["usage"]["completion_tokens"] < 1500


def test_usage_records_every_request(server, client):
    response = complete(client, "demo-4", max_tokens=5)
    usage = httpx.get(server.base_url + "/v1/usage?limit=1000", headers={"Authorization": "Bearer " + server.keys["billing"]}).json()
    record = next(r for r in usage["data"] if r["event_id"] == response.id)
    assert record["customer"] == "tenant-consumer"
    assert record["adapters"][0]["id"] == "demo-4" and record["adapters"][0]["creator"]
    assert record["usage"] == {"prompt_tokens": 15, "completion_tokens": 5}
    assert sum(s["weight_ppm"] for s in record["attribution"]["sources"]) == 1_000_000
    proof = httpx.get(server.base_url + f"/v1/ledger/proof/inclusion?event_id={response.id}",
                      headers={"Authorization": "Bearer " + server.keys["consumer"]})
    assert proof.status_code == 200 and proof.json()["leaf_index"] == record["seq"]
