#!/usr/bin/env python3
"""Write tokenizer test fixtures (text -> token ids, ids -> text) for Tributary's Swift tokenizer.

For each model the same corpus is encoded with an independent Hugging Face `tokenizers` reference:

    smollm2     SmolLM2-135M-Instruct.Q4_1.gguf    reference built from GGUF metadata
    gemma3      gemma-3-270m-q4_k_m.gguf           reference built from GGUF metadata
    qwen2-gguf  qwen2.5-coder-0.5b-instruct.gguf   reference built from GGUF metadata
    qwen2-json  qwen-tokenizer/tokenizer.json      the Hugging Face file itself (NFC normalizer)

Output (in --out, default Models/cache/fixtures/tokenizer):
    <model>.json  {"source": str, "cases": [{"text": str, "parse_special": bool, "ids": [int]}]}
    decode.json   {<model>: {"source": str, "cases": [{"ids": [int], "skip_special_tokens": false,
                                                        "text": str}]}}

ids are `encode(text, add_special_tokens=False).ids` (no BOS). Hugging Face always recognises added
tokens, so `parse_special` marks the cases whose text contains the text of a control or user-defined
token: those ids assume special-token text maps to special ids. For the SentencePiece-style gemma3
vocabulary every case is also checked against the brute-force SPM re-implementation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gguf_tokenizer import (  # noqa: E402
    CACHE_DIR,
    REPO_ROOT,
    GGUFTokenizerError,
    SPMReference,
    Tokenizer,
    hf_tokenizer_from_vocab,
    read_gguf_vocab,
)

MODELS = {
    # name: (source relative to the cache, kind)
    "smollm2": ("SmolLM2-135M-Instruct.Q4_1.gguf", "gguf"),
    "gemma3": ("gemma-3-270m-q4_k_m.gguf", "gguf"),
    "qwen2-gguf": ("qwen2.5-coder-0.5b-instruct.gguf", "gguf"),
    "qwen2-json": ("qwen-tokenizer/tokenizer.json", "json"),
}


def _long_paragraph() -> str:
    """About 5 KB of varied prose, deterministic."""
    sentences = [
        "Tributary serves several fine-tuned adapters on one shared base model, batching their rows together.",
        "On 2024-03-15 at 09:41:07 the benchmark reported 1,234.5 tokens/s (±2.3%) across 16 clients.",
        "Don't forget: the model's cache isn't free; we'll measure it, and you'd better log what's evicted.",
        "Les élèves ont étudié la théorie à l'école, puis ils sont allés au café près de la gare.",
        "Der Größenvergleich über 100 Messungen ergab: Übertragungsrate 8,5 GB/s, Verzögerung 0,3 ms.",
        "В среду команда выпустила версию 2.0 — быстрее, надёжнее и с поддержкой новых моделей.",
        "開発チームは新しいトークナイザーを検証し、すべてのテストが成功しました。",
        "这个句子包含中文标点符号：逗号、句号。还有数字１２３和English words混合。",
        "Emoji make it fun 🎉🚀, and families 👩‍👩‍👦 or flags 🇫🇷 keep byte handling honest.",
        "    Indented code: for (i = 0; i < n; i++) { sum += a[i] * b[i]; }\n",
        "Tabs\tand\tnewlines\n\nbreak the text into pieces; URLs like https://example.org/a?b=c&d=e#f do too.",
        "\"Quoted text,\" she said, 'with nested quotes' — and an ellipsis…",
        "ΑΒΓΔ αβγδ, नमस्ते, مرحبا, 안녕하세요: mixed scripts in a single sentence.",
    ]
    parts = []
    n = 0
    while sum(len(p.encode("utf-8")) + 1 for p in parts) < 5000:
        sentence = sentences[n % len(sentences)]
        parts.append(f"{sentence} [{n}]" if n >= len(sentences) else sentence)
        n += 1
    return " ".join(parts)


CORPUS: list[str] = [
    # ASCII prose
    "Hello world",
    "Hello",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you today?",
    'I saw a girl with a telescope. She said: "It is mine."',
    # contractions
    "it's don't they're we've I'm you'll he'd",
    "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
    "The dog's bone, Sam'S hat, 'quoted words' and a lone ' apostrophe 's 't",
    "She'S here, He'Ll go, We'Re done, I'M in, they'Ve left, you'D see",
    # numbers
    "0 1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890",
    "pi is 3.14159, e is 2.71828; 1,000 or 1,000,000.00",
    "-42 +7 1e10 0x1F 0b1010 2024-01-31T10:30:59Z",
    "$1,234.56 and 50% off, 3/4 cup, 7th of 12",
    "fullwidth ９８７ arabic-indic ٣٤٥ devanagari १२३",
    # Latin with accents, Unicode normalisation
    "naïve café résumé façade Zürich São Paulo",
    "Ångström, Øresund, Łódź, Dvořák, Škoda, İstanbul",
    "ÀÉÎÕÜ àéîõü ß ẞ æ œ Ÿ",
    "e\u0301",
    "Cafe\u0301 vs Caf\u00e9 (decomposed vs precomposed)",
    # other scripts
    "Γειά σου Κόσμε! Η γρήγορη καφέ αλεπού.",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم! كيف حالك؟",
    "שלום עולם",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "你好，世界！今天天气很好。",
    "こんにちは世界。カタカナとひらがな、漢字。",
    "안녕하세요 세계! 한국어 텍스트입니다.",
    "สวัสดีชาวโลก",
    # emoji
    "I love it 😀😂🥲",
    "👍🏽 👋🏿 skin tones 👍",
    "👨‍👩‍👧‍👦 family ZWJ 🧑‍💻 🏳️‍🌈",
    "flags 🇯🇵🇺🇸🇩🇪 🇬🇧",
    "❤️ ✔︎ ©®™ ★☆ ♠♥",
    # code
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "struct Point: Equatable {\n    var x: Double\n    var y: Double\n}\nlet p = Point(x: 1, y: 2)\n",
    '{"name": "Tributary", "version": [1, 2, 3], "ok": true, "nested": {"a": null}}',
    'int main(void) {\n\tfor (int i = 0; i < 10; ++i) {\n\t\tprintf("%d\\n", i);\n\t}\n\treturn 0;\n}\n',
    "ls -la | grep '.swift' && echo $HOME > /tmp/out.txt 2>&1",
    '<table><tr><td>cell</td></tr></table> <b>bold</b> <div class="x">',
    # whitespace
    "a  b   c    d     e",
    "tab\tseparated\t\tvalues",
    "line1\n\n\nline2",
    "windows\r\nline\r\nendings\r\n",
    "trailing spaces   ",
    "   leading spaces",
    " \t \n \r\n  ",
    "\n",
    " ",
    "",
    " " * 40 + "forty spaces",
    "\t\t\tindented\n\t\t\t\tmore",
    "\u200bzero width \ufeffBOM \u00a0nbsp \u2028line separator \u3000ideographic space",
    "control\x01\x1fchars and del\x7f",
    # special-token-looking text
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos>",
    "<|endoftext|>",
    "<|im_start|><|im_start|>adjacent specials<|im_end|><|im_end|>",
    "<|im_start |> not special <im_start> <|IM_START|>",
    '<tool_call>{"name": "f"}</tool_call> <think>hmm</think>',
    "<0x41><0xE2> literal byte-token text",
    "<s> </s> <unk> <pad> [PAD151665]",
    # punctuation
    "!!! ??? ... --- *** ### @@@ ((())) [[]] {{}} <<>> ~~~ ``` ;;; ,,, '''",
    "Wait... what?! No\u2014really? (Yes.) «quotes» “curly” ‘single’ …",
    "a-b_c.d/e\\f|g:h;i",
    "aaaaaaaaaaaaaaaa bbbbbbbbbbbbb 1111111111 !!!!!!!!!",
    "∀x∈ℝ: x² ≥ 0, ∑ ∫ √2 ≈ 1.414, ½ ⅓",
    # URLs
    "https://example.com/path/to/page?query=1&lang=en#section",
    "Email first.last+tag@example.co.uk or visit www.example.org/~user/",
    # long words, mixed scripts
    "abcdefghij" * 20,
    "antidisestablishmentarianism Pneumonoultramicroscopicsilicovolcanoconiosis",
    "English, 日本語, русский, العربية, हिन्दी, 한국어 and emoji 🎉 in one line",
    "Mixed123Numbers456and文字789",
    "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
    _long_paragraph(),
]


def _build(name: str, cache: Path):
    """(tokenizer, source string, GGUFVocab or None, special texts) for one model."""
    source, kind = MODELS[name]
    path = cache / source
    if not path.is_file():
        raise GGUFTokenizerError(f"{path} is missing; fetch it with Scripts/fetch-models")
    if kind == "gguf":
        vocab = read_gguf_vocab(path)
        tok = hf_tokenizer_from_vocab(vocab)
        specials = [text for _, text in vocab.special_tokens()]
        return tok, source, vocab, specials
    tok = Tokenizer.from_file(str(path))
    specials = [t.content for t in tok.get_added_tokens_decoder().values()]
    return tok, source, None, specials


def _decode_cases(name: str, tok: Tokenizer, vocab) -> list[dict]:
    """A few id lists per model: plain text, special tokens, partial UTF-8, byte tokens."""
    lists = []
    enc = lambda text: tok.encode(text, add_special_tokens=False).ids  # noqa: E731
    lists.append(enc("Hello, world! 👋 café"))
    lists.append(enc(" leading space,  double space, trailing "))
    lists.append(enc("<|im_start|>user\nhi<|im_end|>\n" if "gemma" not in name
                     else "<start_of_turn>user\nhi<end_of_turn>\n"))
    if vocab is not None and vocab.bos_id is not None:
        lists.append([vocab.bos_id] + enc("Once upon a time") + ([vocab.eos_id] if vocab.eos_id is not None else []))
    emoji = enc("🎉")
    lists.append(emoji[:1])  # possibly a partial UTF-8 sequence
    lists.append(enc("日本語") + emoji)
    if name == "gemma3":
        byte = lambda b: tok.token_to_id(f"<0x{b:02X}>")  # noqa: E731
        lists.append([byte(0xE2), byte(0x82), byte(0xAC)])  # '€' from byte tokens
        lists.append([byte(0xE2)])  # lone lead byte
        lists.append([tok.token_to_id("▁Hello"), byte(0x41), tok.token_to_id("\n\n")])
    if name == "qwen2-json":
        lists.append(enc("<think>\nreasoning\n</think>\n\nanswer"))
    cases = []
    for ids in lists:
        cases.append({"ids": ids, "skip_special_tokens": False, "text": tok.decode(ids, skip_special_tokens=False)})
    return cases


def _show(path: Path) -> str:
    """A path relative to the repository root when it is inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _write_json(path: Path, header: dict, cases: list[dict]) -> None:
    """Write {header..., "cases": [...]} with one case per line, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = json.dumps(header, ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
    text = f'{head}, "cases": [\n{body}\n]}}\n'
    json.loads(text)  # sanity
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="model cache (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=CACHE_DIR / "fixtures" / "tokenizer",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="models to write (default: all)")
    parser.add_argument("--no-spm-check", action="store_true", help="skip the brute-force SPM comparison")
    args = parser.parse_args(argv)

    if len(CORPUS) < 60:
        raise AssertionError("corpus too small")
    decode: dict[str, dict] = {}
    results: dict[str, list[list[int]]] = {}
    problems = 0
    for name in args.models:
        start = time.perf_counter()
        try:
            tok, source, vocab, specials = _build(name, args.cache)
        except GGUFTokenizerError as error:
            print(f"tokenizer_fixtures: {error}", file=sys.stderr)
            return 1
        cases = []
        for text in CORPUS:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "parse_special": any(s in text for s in specials), "ids": ids})
        results[name] = [c["ids"] for c in cases]
        _write_json(args.out / f"{name}.json", {"source": source}, cases)
        decode[name] = {"source": source, "cases": _decode_cases(name, tok, vocab)}
        note = ""
        if vocab is not None and vocab.model == "llama" and not args.no_spm_check:
            ref = SPMReference(vocab)
            bad = [c for c in cases if ref.encode(c["text"]) != c["ids"]]
            note = f", brute-force SPM disagrees on {len(bad)} of {len(cases)}"
            for c in bad:
                problems += 1
                print(f"  SPM disagreement: {c['text'][:60]!r}\n    reference {c['ids'][:24]}\n"
                      f"    brute     {ref.encode(c['text'])[:24]}", file=sys.stderr)
        total = sum(len(c["ids"]) for c in cases)
        print(f"{name}: {len(cases)} cases, {total} ids, "
              f"{sum(c['parse_special'] for c in cases)} with special text{note} "
              f"({time.perf_counter() - start:.1f}s) -> {_show(args.out / f'{name}.json')}")

    if "qwen2-gguf" in results and "qwen2-json" in results:
        differ = [text for text, a, b in zip(CORPUS, results["qwen2-gguf"], results["qwen2-json"]) if a != b]
        print(f"qwen2-gguf vs qwen2-json: {len(differ)} cases differ: {[t[:40] for t in differ]}")

    path = args.out / "decode.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and set(decode) != set(MODELS):  # partial run: keep the other models' entries
        try:
            decode = {**json.loads(path.read_text(encoding="utf-8")), **decode}
        except (OSError, ValueError):
            pass
        decode = {name: decode[name] for name in MODELS if name in decode}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(decode, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    print(f"decode: {sum(len(d['cases']) for d in decode.values())} cases -> {_show(path)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
