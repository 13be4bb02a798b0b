#!/usr/bin/env python3
"""Write chat-template fixtures rendered from each GGUF's own `tokenizer.chat_template`.

Rendering follows transformers' `apply_chat_template`: a sandboxed, immutable Jinja2 environment with
trim_blocks and lstrip_blocks on (keep_trailing_newline off, so a template's final newline is
dropped), the loopcontrols extension, `raise_exception(message)`, a `tojson` filter that keeps
non-ASCII text, and the variables `messages`, `add_generation_prompt`, `tools` (None), `documents`
(None), `bos_token` and `eos_token`.

Output (in --out, default Models/cache/fixtures/chat):
    <model>.json  {"source": str, "cases": [{"messages": [{"role": str, "content": str}],
                                             "add_generation_prompt": bool, "expected": str}]}
gemma3 is skipped: its GGUF carries no chat template.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gguf_tokenizer import CACHE_DIR, GGUFTokenizerError, read_gguf_vocab  # noqa: E402

try:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError as error:  # pragma: no cover - environment problem
    raise SystemExit(
        f"chat_fixtures: missing Python package '{error.name}'. "
        "Install the pinned tools with: python3 -m pip install -r Scripts/requirements.txt"
    ) from error

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "qwen2": "qwen2.5-coder-0.5b-instruct.gguf",
}


def _raise_exception(message: str):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value, ensure_ascii: bool = False, indent=None, separators=None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def compile_template(source: str) -> jinja2.Template:
    """Compile a chat template the way transformers does."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(source)


def _m(role: str, content: str) -> dict:
    return {"role": role, "content": content}


CONVERSATIONS: list[list[dict]] = [
    [_m("user", "Hello!")],
    [_m("system", "You are a terse assistant."), _m("user", "What is 2 + 2?")],
    [_m("user", "Hi"), _m("assistant", "Hello! How can I help?"), _m("user", "Tell me a joke.")],
    [
        _m("system", "Answer in French."),
        _m("user", "Good morning"),
        _m("assistant", "Bonjour !"),
        _m("user", "Thank you"),
        _m("assistant", "Merci à vous."),
    ],
    [_m("user", "Write a haiku about rivers.\nUse three lines."), _m("assistant", "Water finds its way\n"
                                                                    "past stones that do not argue\n"
                                                                    "the sea keeps no score")],
    [_m("user", "Ünïcödé ✓ 日本語 👍🏽 and <b>markup</b> with  two spaces\tand a tab")],
    [_m("system", ""), _m("user", "")],
    [_m("user", "first"), _m("user", "second in a row")],
    [_m("system", "sys one"), _m("user", "q"), _m("system", "a second system message"), _m("user", "q2")],
]


def render_cases(template: jinja2.Template, bos: str | None, eos: str | None) -> list[dict]:
    """Render every conversation with and without the generation prompt."""
    cases = []
    for messages in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            expected = template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                       tools=None, documents=None, bos_token=bos or "", eos_token=eos or "")
            cases.append({"messages": messages, "add_generation_prompt": add_generation_prompt,
                          "expected": expected})
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="model cache (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=CACHE_DIR / "fixtures" / "chat",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="models to write (default: all)")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        start = time.perf_counter()
        try:
            vocab = read_gguf_vocab(args.cache / MODELS[name])
        except GGUFTokenizerError as error:
            print(f"chat_fixtures: {error} (fetch models with Scripts/fetch-models)", file=sys.stderr)
            return 1
        if not vocab.chat_template:
            print(f"chat_fixtures: {MODELS[name]} has no tokenizer.chat_template", file=sys.stderr)
            return 1
        try:
            template = compile_template(vocab.chat_template)
            cases = render_cases(template, vocab.token_text(vocab.bos_id), vocab.token_text(vocab.eos_id))
        except jinja2.TemplateError as error:
            print(f"chat_fixtures: {name}: template error: {error}", file=sys.stderr)
            return 1
        path = args.out / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"source": MODELS[name], "cases": cases}, ensure_ascii=False, indent=1) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
        print(f"{name}: {len(cases)} cases ({time.perf_counter() - start:.1f}s) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
