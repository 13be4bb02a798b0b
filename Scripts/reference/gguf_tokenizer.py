#!/usr/bin/env python3
"""Reference Hugging Face tokenizers built from GGUF tokenizer metadata.

`hf_tokenizer_from_gguf(path)` reads the `tokenizer.ggml.*` keys of a GGUF file and builds a
`tokenizers.Tokenizer` with no help from llama.cpp, so that Tributary's Swift tokenizer can be checked
against an independent implementation:

* `gpt2` (byte-level BPE): vocabulary and merges straight from the file, the pre-tokenizer named by
  `tokenizer.ggml.pre` (`smollm`, `qwen2`, `gpt2`/`default`), byte-level decoder.
* `llama` (SentencePiece-style vocabulary with scores, e.g. gemma3): merges derived from the scores
  the way transformers' SentencePieceExtractor does, BPE with byte fallback, `' '` -> `'▁'`.

Control (type 3) and user-defined (type 4) tokens become special added tokens in both cases.

Run as a script to print a summary of a GGUF tokenizer; for SentencePiece-style vocabularies it also
compares the reference with `spm_reference_encode`, a brute-force re-implementation of llama.cpp's SPM
algorithm:

    Scripts/reference/gguf_tokenizer.py --gguf Models/cache/gemma-3-270m-q4_k_m.gguf --check
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import gguf
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
except ImportError as error:  # pragma: no cover - environment problem
    raise SystemExit(
        f"gguf_tokenizer: missing Python package '{error.name}'. "
        "Install the pinned tools with: python3 -m pip install -r Scripts/requirements.txt"
    ) from error

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "Models" / "cache"

# llama.cpp's token types (tokenizer.ggml.token_type).
TYPE_NORMAL = 1
TYPE_UNKNOWN = 2
TYPE_CONTROL = 3
TYPE_USER_DEFINED = 4
TYPE_UNUSED = 5
TYPE_BYTE = 6

SPECIAL_TYPES = (TYPE_CONTROL, TYPE_USER_DEFINED)

# The Qwen2 pre-tokenizer split pattern (as written in Qwen's own tokenizer.json).
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SPIECE_SPACE = "\u2581"  # '▁', SentencePiece's visible space


class GGUFTokenizerError(Exception):
    """A GGUF file whose tokenizer metadata is missing, malformed or of an unsupported kind."""


@dataclass
class GGUFVocab:
    """The tokenizer part of a GGUF file's metadata."""

    path: Path
    architecture: str
    model: str  # tokenizer.ggml.model: 'gpt2', 'llama', ...
    pre: str | None  # tokenizer.ggml.pre
    tokens: list[str]
    token_types: list[int]
    scores: list[float] | None
    merges: list[str] | None
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool | None
    add_eos: bool | None
    add_space_prefix: bool | None
    chat_template: str | None

    def special_tokens(self) -> list[tuple[int, str]]:
        """(id, text) of every control or user-defined token, in id order."""
        return [(i, t) for i, (t, k) in enumerate(zip(self.tokens, self.token_types)) if k in SPECIAL_TYPES]

    def token_text(self, token_id: int | None) -> str | None:
        """The text of a token id, or None for a missing id."""
        if token_id is None or not 0 <= token_id < len(self.tokens):
            return None
        return self.tokens[token_id]


def gguf_string(reader: "gguf.GGUFReader", key: str) -> str | None:
    """A string metadata value, or None when the key is absent."""
    f = reader.fields.get(key)
    if f is None:
        return None
    if f.types != [gguf.GGUFValueType.STRING]:
        raise GGUFTokenizerError(f"{key} is not a string (types {f.types})")
    return bytes(f.parts[-1]).decode("utf-8")


def gguf_scalar(reader: "gguf.GGUFReader", key: str):
    """A numeric or boolean metadata value, or None when the key is absent."""
    f = reader.fields.get(key)
    if f is None:
        return None
    if not f.types or f.types[0] in (gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING):
        raise GGUFTokenizerError(f"{key} is not a scalar (types {f.types})")
    return f.parts[-1].tolist()[0]


def gguf_string_array(reader: "gguf.GGUFReader", key: str) -> list[str] | None:
    """An array-of-strings metadata value (UTF-8), or None when the key is absent."""
    f = reader.fields.get(key)
    if f is None:
        return None
    if f.types != [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING]:
        raise GGUFTokenizerError(f"{key} is not an array of strings (types {f.types})")
    out = []
    for n, index in enumerate(f.data):
        raw = bytes(f.parts[index])
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise GGUFTokenizerError(f"{key}[{n}] is not valid UTF-8: {raw!r}") from error
    return out


def gguf_number_array(reader: "gguf.GGUFReader", key: str) -> list | None:
    """An array-of-numbers metadata value, or None when the key is absent."""
    f = reader.fields.get(key)
    if f is None:
        return None
    if len(f.types) != 2 or f.types[0] != gguf.GGUFValueType.ARRAY or f.types[1] == gguf.GGUFValueType.STRING:
        raise GGUFTokenizerError(f"{key} is not an array of numbers (types {f.types})")
    return [f.parts[index].tolist()[0] for index in f.data]


def read_gguf_vocab(path: str | Path, reader: "gguf.GGUFReader | None" = None) -> GGUFVocab:
    """Read the tokenizer metadata of a GGUF file (pass `reader` to reuse an open GGUFReader)."""
    path = Path(path)
    if reader is None:
        if not path.is_file():
            raise GGUFTokenizerError(f"no such GGUF file: {path}")
        try:
            reader = gguf.GGUFReader(path)
        except Exception as error:  # the reader raises ValueError and friends on bad files
            raise GGUFTokenizerError(f"{path}: not a readable GGUF file ({error})") from error

    model = gguf_string(reader, "tokenizer.ggml.model")
    tokens = gguf_string_array(reader, "tokenizer.ggml.tokens")
    if model is None or tokens is None:
        raise GGUFTokenizerError(f"{path}: no tokenizer.ggml.model / tokenizer.ggml.tokens metadata")
    types = gguf_number_array(reader, "tokenizer.ggml.token_type")
    if types is None:
        types = [TYPE_NORMAL] * len(tokens)
    scores = gguf_number_array(reader, "tokenizer.ggml.scores")
    merges = gguf_string_array(reader, "tokenizer.ggml.merges")
    if len(types) != len(tokens) or (scores is not None and len(scores) != len(tokens)):
        raise GGUFTokenizerError(f"{path}: token, token_type and score arrays differ in length")

    def flag(key):
        value = gguf_scalar(reader, key)
        return None if value is None else bool(value)

    return GGUFVocab(
        path=path,
        architecture=gguf_string(reader, "general.architecture") or "",
        model=model,
        pre=gguf_string(reader, "tokenizer.ggml.pre"),
        tokens=tokens,
        token_types=[int(t) for t in types],
        scores=None if scores is None else [float(s) for s in scores],
        merges=merges,
        bos_id=gguf_scalar(reader, "tokenizer.ggml.bos_token_id"),
        eos_id=gguf_scalar(reader, "tokenizer.ggml.eos_token_id"),
        unk_id=gguf_scalar(reader, "tokenizer.ggml.unknown_token_id"),
        pad_id=gguf_scalar(reader, "tokenizer.ggml.padding_token_id"),
        add_bos=flag("tokenizer.ggml.add_bos_token"),
        add_eos=flag("tokenizer.ggml.add_eos_token"),
        add_space_prefix=flag("tokenizer.ggml.add_space_prefix"),
        chat_template=gguf_string(reader, "tokenizer.chat_template"),
    )


def _vocab_dict(v: GGUFVocab) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for i, text in enumerate(v.tokens):
        if text in vocab:
            raise GGUFTokenizerError(f"{v.path.name}: token text {text!r} appears twice (ids {vocab[text]} and {i})")
        vocab[text] = i
    return vocab


def _byte_level_pre_tokenizer(pre: str | None):
    if pre == "smollm":
        # llama.cpp: "\p{N}" then the GPT-2 pattern; the real SmolLM2 tokenizer.json says the same.
        return pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    if pre == "qwen2":
        return pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    if pre in (None, "default", "gpt2", "gpt-2"):
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    raise GGUFTokenizerError(
        f"tokenizer.ggml.pre {pre!r} is not supported by this reference (known: smollm, qwen2, gpt2/default)"
    )


def _byte_level_tokenizer(v: GGUFVocab) -> Tokenizer:
    if not v.merges:
        raise GGUFTokenizerError(f"{v.path.name}: gpt2 tokenizer without tokenizer.ggml.merges")
    merges = []
    for n, line in enumerate(v.merges):
        left, sep, right = line.partition(" ")
        if not sep or not left or not right or " " in right:
            raise GGUFTokenizerError(f"{v.path.name}: malformed merge #{n}: {line!r}")
        merges.append((left, right))
    model = models.BPE(vocab=_vocab_dict(v), merges=merges, unk_token=None, byte_fallback=False,
                       fuse_unk=False, ignore_merges=False)
    tok = Tokenizer(model)
    tok.pre_tokenizer = _byte_level_pre_tokenizer(v.pre)
    tok.decoder = decoders.ByteLevel()
    return tok


def spm_merges(tokens: list[str], scores: list[float]) -> list[tuple[str, str]]:
    """Merges implied by a scored vocabulary (the SentencePieceExtractor rule).

    Every split of a piece into two pieces that are both in the vocabulary is a merge. Merges are
    ordered by the score of the merged piece (higher first), then by the merged piece's id, then by
    the ids of the left and right halves.
    """
    ids = {text: i for i, text in enumerate(tokens)}
    found = []
    for piece_id, piece in enumerate(tokens):
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            left_id = ids.get(left)
            if left_id is None:
                continue
            right_id = ids.get(right)
            if right_id is None:
                continue
            found.append((-scores[piece_id], piece_id, left_id, right_id))
    found.sort()
    return [(tokens[l], tokens[r]) for _, _, l, r in found]


def _spm_tokenizer(v: GGUFVocab) -> Tokenizer:
    if v.scores is None:
        raise GGUFTokenizerError(f"{v.path.name}: SentencePiece-style tokenizer without tokenizer.ggml.scores")
    present = set(v.tokens)
    missing = [b for b in range(256) if f"<0x{b:02X}>" not in present]
    if missing:
        raise GGUFTokenizerError(f"{v.path.name}: byte tokens missing for bytes {missing[:8]}...")
    unk = v.token_text(v.unk_id)
    if unk is None:
        raise GGUFTokenizerError(f"{v.path.name}: no tokenizer.ggml.unknown_token_id")
    model = models.BPE(vocab=_vocab_dict(v), merges=spm_merges(v.tokens, v.scores), unk_token=unk,
                       byte_fallback=True, fuse_unk=True)
    tok = Tokenizer(model)
    steps = []
    if v.add_space_prefix:
        steps.append(normalizers.Prepend(SPIECE_SPACE))
    steps.append(normalizers.Replace(" ", SPIECE_SPACE))
    tok.normalizer = steps[0] if len(steps) == 1 else normalizers.Sequence(steps)
    dec = [decoders.Replace(SPIECE_SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if v.add_space_prefix:
        dec.append(decoders.Strip(content=" ", left=1, right=0))
    tok.decoder = decoders.Sequence(dec)
    return tok


def _add_special_tokens(tok: Tokenizer, v: GGUFVocab) -> None:
    specials = v.special_tokens()
    tok.add_special_tokens([AddedToken(text, special=True, normalized=False) for _, text in specials])
    for token_id, text in specials:
        got = tok.token_to_id(text)
        if got != token_id:
            raise GGUFTokenizerError(f"special token {text!r}: expected id {token_id}, tokenizers gave {got}")


def hf_tokenizer_from_vocab(v: GGUFVocab) -> Tokenizer:
    """Build the reference tokenizer from already-read GGUF metadata."""
    if v.model == "gpt2":
        tok = _byte_level_tokenizer(v)
    elif v.model == "llama":
        tok = _spm_tokenizer(v)
    else:
        raise GGUFTokenizerError(
            f"{v.path.name}: tokenizer.ggml.model {v.model!r} is not supported (known: gpt2, llama)"
        )
    _add_special_tokens(tok, v)
    return tok


def hf_tokenizer_from_gguf(path: str | Path) -> Tokenizer:
    """Build a Hugging Face `tokenizers.Tokenizer` from the tokenizer metadata of a GGUF file."""
    return hf_tokenizer_from_vocab(read_gguf_vocab(path))


# --- brute-force SentencePiece (llama.cpp SPM) re-implementation, for cross-checking --------------


class SPMReference:
    """Slow, obviously-correct re-implementation of llama.cpp's SPM tokenization.

    Control and user-defined token texts are cut out of the raw text first (longest token text
    first, as llama.cpp does with parse_special on). Each remaining fragment gets ' ' -> '▁' (and a
    leading '▁' when add_space_prefix); then, repeatedly, the adjacent pair whose concatenation is
    in the vocabulary with the highest score is merged (leftmost on ties). Symbols that are not in
    the vocabulary become the <0xNN> tokens of their UTF-8 bytes.
    """

    def __init__(self, v: GGUFVocab):
        if v.scores is None:
            raise GGUFTokenizerError("SPMReference needs tokenizer.ggml.scores")
        self.vocab = v
        self.ids = {text: i for i, text in enumerate(v.tokens)}
        self.specials = sorted(v.special_tokens(), key=lambda item: -len(item[1]))
        self.byte_ids = [self.ids[f"<0x{b:02X}>"] for b in range(256)]

    def _partition(self, text: str) -> list[str | int]:
        parts: list[str | int] = [text] if text else []
        for token_id, special in self.specials:
            out: list[str | int] = []
            for part in parts:
                if isinstance(part, int) or special not in part:
                    out.append(part)
                    continue
                pieces = part.split(special)
                for n, piece in enumerate(pieces):
                    if n:
                        out.append(token_id)
                    if piece:
                        out.append(piece)
            parts = out
        return parts

    def _fragment(self, text: str) -> list[int]:
        ids, scores = self.ids, self.vocab.scores
        neg = float("-inf")

        def pair_score(a: str, b: str) -> float:
            token_id = ids.get(a + b)
            return neg if token_id is None else scores[token_id]

        syms = list(text)
        pairs = [pair_score(syms[i], syms[i + 1]) for i in range(len(syms) - 1)]
        while pairs:
            best = max(range(len(pairs)), key=pairs.__getitem__)  # first maximum = leftmost
            if pairs[best] == neg:
                break
            syms[best : best + 2] = [syms[best] + syms[best + 1]]
            del pairs[best]
            if best > 0:
                pairs[best - 1] = pair_score(syms[best - 1], syms[best])
            if best < len(pairs):
                pairs[best] = pair_score(syms[best], syms[best + 1])
        out = []
        for sym in syms:
            token_id = ids.get(sym)
            if token_id is not None:
                out.append(token_id)
            else:
                out.extend(self.byte_ids[b] for b in sym.encode("utf-8"))
        return out

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        prev_special = True
        for part in self._partition(text):
            if isinstance(part, int):
                out.append(part)
                prev_special = True
                continue
            fragment = part.replace(" ", SPIECE_SPACE)
            if self.vocab.add_space_prefix and prev_special:
                fragment = SPIECE_SPACE + fragment
            out.extend(self._fragment(fragment))
            prev_special = False
        return out


CHECK_STRINGS = [
    "Hello world",
    "Hello, world! How's it going?",
    " leading space and trailing space ",
    "multiple   spaces\tand\ttabs\n\nnew lines",
    "naïve café, Zürich, São Paulo",
    "Γειά σου κόσμε; Привет, мир!",
    "日本語のテキストと中文和한국어",
    "emoji 👍🏽 👨‍👩‍👧 🇯🇵",
    "def f(x):\n    return x ** 2  # square\n",
    "<start_of_turn>user\nhi<end_of_turn>\n<bos>",
    "<0x41> literal byte-token text",
    "1234567 3.14159 1,000",
    "",
]


def check_spm(tok: Tokenizer, v: GGUFVocab, texts: list[str]) -> list[tuple[str, list[int], list[int]]]:
    """Encode `texts` with the reference and the brute-force SPM; return the disagreements."""
    ref = SPMReference(v)
    bad = []
    for text in texts:
        hf = tok.encode(text, add_special_tokens=False).ids
        brute = ref.encode(text)
        if hf != brute:
            bad.append((text, hf, brute))
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, default=CACHE_DIR / "gemma-3-270m-q4_k_m.gguf",
                        help="GGUF file (default: %(default)s)")
    parser.add_argument("--text", action="append", default=[], help="text to encode (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="compare with the brute-force SPM re-implementation (SentencePiece-style vocabularies)")
    parser.add_argument("--save", type=Path, help="write the reference as a tokenizer.json here")
    args = parser.parse_args(argv)

    try:
        start = time.perf_counter()
        v = read_gguf_vocab(args.gguf)
        tok = hf_tokenizer_from_vocab(v)
        built = time.perf_counter() - start
    except GGUFTokenizerError as error:
        print(f"gguf_tokenizer: {error}", file=sys.stderr)
        return 1

    specials = v.special_tokens()
    print(f"{v.path.name}: model={v.model} pre={v.pre} tokens={len(v.tokens)} "
          f"merges={len(v.merges or [])} specials={len(specials)} built in {built:.1f}s")
    for name, token_id in (("bos", v.bos_id), ("eos", v.eos_id), ("unk", v.unk_id), ("pad", v.pad_id)):
        print(f"  {name}: {token_id} {v.token_text(token_id)!r}")
    shown = specials if len(specials) <= 40 else specials[:20] + [(-1, "...")] + specials[-10:]
    print("  special tokens:", ", ".join(f"{i}={t!r}" for i, t in shown))
    for text in args.text:
        enc = tok.encode(text, add_special_tokens=False)
        print(f"  {text!r} -> {enc.ids} {enc.tokens}")
    if args.save:
        tok.save(str(args.save))
        print(f"  saved {args.save}")
    if args.check:
        if v.model != "llama":
            print("  --check applies to SentencePiece-style ('llama') vocabularies only", file=sys.stderr)
            return 1
        start = time.perf_counter()
        bad = check_spm(tok, v, CHECK_STRINGS + args.text)
        print(f"  brute-force SPM check: {len(CHECK_STRINGS) + len(args.text) - len(bad)} agree, "
              f"{len(bad)} disagree ({time.perf_counter() - start:.1f}s)")
        for text, hf, brute in bad:
            print(f"    {text!r}\n      reference {hf}\n      brute     {brute}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
