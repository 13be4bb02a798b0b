#!/usr/bin/env python3
"""Reference implementation of the attribution ledger's formats, independent of the Swift code.

- canonical JSON (RFC 8785, JCS) through the `rfc8785` package;
- the RFC 6962 / RFC 9162 Merkle tree: root, inclusion PATH, consistency PROOF, and the verifiers of
  RFC 9162 sections 2.1.3.2 and 2.1.4.2;
- C2SP signed notes (Ed25519) carrying C2SP tlog checkpoints, with verifier / signer keys in the text
  formats of the Go `golang.org/x/mod/sumdb/note` package.

    python3 Scripts/reference/ledger_reference.py --self-test
    python3 Scripts/reference/ledger_reference.py verify-checkpoint --note cp.txt --key 'name+1a2b3c4d+AQ...'
    python3 Scripts/reference/ledger_reference.py verify-inclusion --size 8 --index 3 --leaf-hex 2021 \
        --proof-hex h1,h2,h3 --root-hex R
    python3 Scripts/reference/ledger_reference.py verify-consistency --old-size 3 --new-size 8 \
        --old-root-hex R3 --new-root-hex R8 --proof-hex h1,h2,h3
    python3 Scripts/reference/ledger_reference.py canonicalize < record.json
    python3 Scripts/reference/ledger_reference.py gen-key --name example.com/log
    python3 Scripts/reference/ledger_reference.py sign-checkpoint --signer-key 'PRIVATE+KEY+...' \
        --size 8 --root-hex R8

Exit status: 0 when the proof / checkpoint verifies, 1 when it is rejected, 2 for malformed arguments.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import struct
import sys
from dataclasses import dataclass, field

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class LedgerError(ValueError):
    """A proof, note, checkpoint or key that is malformed or does not verify."""


# ----------------------------------------------------------------------------------------------
# Canonical JSON (RFC 8785)

# Integers that an IEEE 754 double holds exactly and that `rfc8785` accepts as Python ints.
_SAFE_INT = 2**53 - 1


def canonical_json(value) -> bytes:
    """RFC 8785 canonical form of a Python value (dict / list / str / int / float / bool / None).

    Strict: ints outside +-(2**53 - 1), NaN, infinities, non-str keys and lone surrogates raise
    `rfc8785.CanonicalizationError` (a ValueError)."""
    return rfc8785.dumps(value)


def _pairs_without_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise LedgerError(f"duplicate object key {key!r} (RFC 8785 requires I-JSON)")
        obj[key] = value
    return obj


def _json_int(text: str):
    number = int(text)
    # JSON numbers are IEEE 754 doubles under RFC 8785: large integers are rounded like any double.
    return number if -_SAFE_INT <= number <= _SAFE_INT else float(text)


def _reject_constant(name: str):
    raise LedgerError(f"{name} is not JSON")


def parse_json_text(text: str):
    """Parse a JSON text the way RFC 8785 sees it: I-JSON (no duplicate keys), numbers as doubles."""
    if not isinstance(text, str):
        raise TypeError("parse_json_text wants str")
    return json.loads(text, object_pairs_hook=_pairs_without_duplicates, parse_int=_json_int,
                      parse_constant=_reject_constant)


def canonical_json_text(text: str) -> bytes:
    """RFC 8785 canonical form of a JSON text."""
    return canonical_json(parse_json_text(text))


# ----------------------------------------------------------------------------------------------
# Merkle tree (RFC 6962 section 2.1, RFC 9162 section 2.1)

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + bytes(leaf)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class _Tree:
    """Leaf hashes plus a memo of subtree hashes MTH(D[lo:hi])."""

    def __init__(self, leaves):
        self.hashes = [leaf_hash(leaf) for leaf in leaves]
        self.memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.hashes[lo]
        got = self.memo.get((lo, hi))
        if got is None:
            k = _split(n)
            got = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
            self.memo[(lo, hi)] = got
        return got

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]) of RFC 6962 2.1.1, deepest node first."""
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b) of RFC 6962 2.1.2."""
        n = hi - lo
        if m == n:
            return [] if complete else [self.mth(lo, hi)]
        k = _split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, complete) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def root(leaves) -> bytes:
    """MTH of the leaves (SHA-256 of the empty string for no leaves)."""
    leaves = list(leaves)
    return _Tree(leaves).mth(0, len(leaves))


def inclusion_proof(index: int, leaves) -> list[bytes]:
    """Audit path of leaf `index` in the tree of all `leaves`."""
    leaves = list(leaves)
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} is outside a tree of size {len(leaves)}")
    return _Tree(leaves).path(index, 0, len(leaves))


def consistency_proof(m: int, leaves) -> list[bytes]:
    """Consistency proof from the first m leaves to all `leaves` (empty when m == len(leaves))."""
    leaves = list(leaves)
    if not 0 < m <= len(leaves):
        raise ValueError(f"consistency proof needs 0 < m <= n, got m={m}, n={len(leaves)}")
    return _Tree(leaves).subproof(m, 0, len(leaves), True)


def _check_hashes(**named) -> str | None:
    for name, value in named.items():
        values = value if isinstance(value, list) else [value]
        for position, item in enumerate(values):
            if not isinstance(item, (bytes, bytearray)) or len(item) != HASH_SIZE:
                where = f"{name}[{position}]" if isinstance(value, list) else name
                size = len(item) if isinstance(item, (bytes, bytearray)) else type(item).__name__
                return f"{where} is not a {HASH_SIZE}-byte hash ({size})"
    return None


def inclusion_error(index: int, size: int, leaf_hash_: bytes, proof, root_: bytes) -> str | None:
    """Why the inclusion proof does not verify (RFC 9162 2.1.3.2), or None when it does."""
    proof = list(proof)
    problem = _check_hashes(leaf_hash=leaf_hash_, root=root_, proof=proof)
    if problem:
        return problem
    if index < 0 or size < 0:
        return "negative index or size"
    if index >= size:
        return f"index {index} is not below tree size {size}"
    fn, sn = index, size - 1
    r = bytes(leaf_hash_)
    for p in proof:
        if sn == 0:
            return "proof has more hashes than the tree needs"
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "proof has fewer hashes than the tree needs"
    if r != root_:
        return "computed root differs from the given root"
    return None


def verify_inclusion(index: int, size: int, leaf_hash_: bytes, proof, root_: bytes) -> bool:
    return inclusion_error(index, size, leaf_hash_, proof, root_) is None


def consistency_error(m: int, n: int, root_m: bytes, root_n: bytes, proof) -> str | None:
    """Why the consistency proof does not verify (RFC 9162 2.1.4.2), or None when it does.

    Edge cases the RFC leaves to the caller, handled as transparency-dev/merkle does: m == n needs an
    empty proof and equal roots; m == 0 is rejected (no proof from an empty tree is defined)."""
    proof = list(proof)
    problem = _check_hashes(old_root=root_m, new_root=root_n, proof=proof)
    if problem:
        return problem
    if m < 0 or n < 0:
        return "negative tree size"
    if m > n:
        return f"old size {m} is larger than new size {n}"
    if m == 0:
        return "no consistency proof from an empty tree is defined"
    if m == n:
        if proof:
            return "sizes are equal but the proof is not empty"
        return None if root_m == root_n else "sizes are equal but the roots differ"
    if not proof:
        return "empty proof"
    if m & (m - 1) == 0:
        proof = [bytes(root_m)] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return "proof has more hashes than the trees need"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "proof has fewer hashes than the trees need"
    if fr != root_m:
        return "computed old root differs from the given old root"
    if sr != root_n:
        return "computed new root differs from the given new root"
    return None


def verify_consistency(m: int, n: int, root_m: bytes, root_n: bytes, proof) -> bool:
    return consistency_error(m, n, root_m, root_n, proof) is None


# ----------------------------------------------------------------------------------------------
# Signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint)

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # EM DASH, SPACE
MAX_SIGNATURES = 100


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise LedgerError(f"{what} is not standard base64: {error}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise LedgerError(f"{what} is not canonical base64")
    return raw


def _check_key_name(name: str) -> None:
    if not name:
        raise LedgerError("key name is empty")
    if "+" in name or any(ch.isspace() for ch in name):
        raise LedgerError(f"key name {name!r} contains a space or '+'")


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || alg || public key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes  # 32-byte Ed25519 key

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def text(self) -> str:
        """`<name>+<8 hex key id>+<base64(0x01 || public key)>`."""
        data = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{data}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes  # 32-byte Ed25519 private key (RFC 8032 seed)

    @property
    def public_key(self) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    def text(self) -> str:
        """`PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>` (Go note signer key)."""
        data = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{data}"

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def _split_key_text(text: str, what: str) -> tuple[str, bytes, bytes]:
    parts = text.split("+", 2)  # the base64 key data may itself contain "+"
    if len(parts) != 3:
        raise LedgerError(f"{what} must look like <name>+<8 hex digits>+<base64>")
    name, hex_id, data = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
        raise LedgerError(f"{what} key id {hex_id!r} is not 8 hex digits")
    raw = _b64decode(data, f"{what} key data")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise LedgerError(f"{what} key data is not 0x01 followed by 32 bytes (Ed25519)")
    return name, bytes.fromhex(hex_id), raw[1:]


def parse_verifier_key(text: str) -> Verifier:
    name, declared, public_key = _split_key_text(text.strip(), "verifier key")
    verifier = Verifier(name, public_key)
    if verifier.key_id != declared:
        raise LedgerError(f"verifier key id {declared.hex()} does not match the key ({verifier.key_id.hex()})")
    return verifier


def parse_signer_key(text: str) -> Signer:
    text = text.strip()
    if not text.startswith("PRIVATE+KEY+"):
        raise LedgerError("signer key must start with PRIVATE+KEY+")
    name, declared, seed = _split_key_text(text[len("PRIVATE+KEY+"):], "signer key")
    signer = Signer(name, seed)
    if signer.verifier.key_id != declared:
        raise LedgerError(f"signer key id {declared.hex()} does not match the key")
    return signer


@dataclass
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass
class OpenedNote:
    text: str
    verified: list[NoteSignature] = field(default_factory=list)
    unverified: list[NoteSignature] = field(default_factory=list)


def sign_note(text: str, signers) -> str:
    """The signed note for `text` (which must end in a newline) with one line per signer."""
    if not text.endswith("\n"):
        raise LedgerError("note text must end with a newline")
    lines = []
    for signer in signers:
        raw = signer.verifier.key_id + signer.sign(text.encode("utf-8"))
        lines.append(f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(raw).decode('ascii')}\n")
    return text + "\n" + "".join(lines)


def open_note(message, verifiers) -> OpenedNote:
    """Split and verify a signed note. Raises LedgerError unless a signature by one of `verifiers`
    verifies; a signature whose name and key id match a verifier but that fails rejects the note."""
    if isinstance(message, (bytes, bytearray)):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError:
            raise LedgerError("note is not valid UTF-8") from None
    for ch in message:
        if ch < "\x20" and ch != "\n":
            raise LedgerError(f"note contains control character U+{ord(ch):04X}")
    if not message.endswith("\n"):
        raise LedgerError("note does not end with a newline")
    cut = message.rfind("\n\n")
    if cut < 0:
        raise LedgerError("note has no blank line before its signatures")
    text, block = message[:cut + 1], message[cut + 2:]
    lines = block.split("\n")[:-1]
    if not lines:
        raise LedgerError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise LedgerError(f"note has more than {MAX_SIGNATURES} signatures")
    known = {(v.name, v.key_id): v for v in verifiers}
    opened = OpenedNote(text)
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise LedgerError(f"signature line does not start with an em dash and a space: {line!r}")
        name, space, data = line[len(SIGNATURE_PREFIX):].partition(" ")
        if not space:
            raise LedgerError(f"signature line has no space after the key name: {line!r}")
        _check_key_name(name)
        raw = _b64decode(data, "signature")
        if len(raw) < 5:
            raise LedgerError("signature is shorter than a key id plus one byte")
        signature = NoteSignature(name, raw[:4], raw[4:])
        verifier = known.get((name, signature.key_id))
        if verifier is None:
            opened.unverified.append(signature)
            continue
        if not verifier.verify(text.encode("utf-8"), signature.signature):
            raise LedgerError(f"signature by known key {name}+{signature.key_id.hex()} does not verify")
        opened.verified.append(signature)
    if not opened.verified:
        raise LedgerError("no signature by a known key")
    return opened


@dataclass
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(line + "\n" for line in lines)

    def summary(self) -> dict:
        return {"origin": self.origin, "size": self.size, "root_hex": self.root.hex()}


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse the note text of a C2SP tlog checkpoint (origin, size, base64 root, extension lines)."""
    if not text.endswith("\n"):
        raise LedgerError("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise LedgerError("checkpoint needs origin, size and root hash lines")
    if any(line == "" for line in lines):
        raise LedgerError("checkpoint has an empty line")
    origin, size_text, root_text, *extensions = lines
    if not re.fullmatch(r"0|[1-9][0-9]*", size_text):
        raise LedgerError(f"tree size {size_text!r} is not a decimal without leading zeros")
    size = int(size_text)
    if size >= 2**64:
        raise LedgerError("tree size does not fit in 64 bits")
    root_hash = _b64decode(root_text, "root hash")
    if len(root_hash) != HASH_SIZE:
        raise LedgerError(f"root hash has {len(root_hash)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, size, root_hash, extensions)


def verify_checkpoint(note, verifiers) -> Checkpoint:
    """Verify a signed checkpoint note against trusted verifiers and parse its text."""
    return parse_checkpoint(open_note(note, verifiers).text)


# ----------------------------------------------------------------------------------------------
# Self-test

GUIDE_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                "606162636465666768696a6b6c6d6e6f"]
GUIDE_ROOT_PREFIXES = {1: "6e340b9c", 2: "fac54203", 3: "aeb6bcfe", 8: "5dc9da79"}

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text (finite values).
RFC8785_NUMBERS = [
    ("0000000000000000", "0"), ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"), ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"), ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"), ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"), ("43143ff3c1cb0959", "1424953923781206.2"),
]

# The example of the Go note package documentation (golang.org/x/mod/sumdb/note).
GO_NOTE_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_NOTE_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE_TEXT = ("If you think cryptography is the answer to your problem,\n"
                "then you don't know what your problem is.\n")
GO_NOTE_SIGNATURE_LINE = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
                          "fqdngotpRZb6KE6RyyBwJnAM=\n")


def flip_bit(data: bytes, bit: int = 0) -> bytes:
    """`data` with one bit flipped (bit counted from the first byte's lowest bit)."""
    out = bytearray(data)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _expect_error(function, *args, contains: str = "") -> None:
    try:
        function(*args)
    except (LedgerError, rfc8785.CanonicalizationError) as error:
        _expect(contains in str(error), f"error {error!r} lacks {contains!r}")
        return
    raise AssertionError(f"{function.__name__}{args!r} did not fail")


def self_test_canonical() -> int:
    checks = 0
    for bits, expected in RFC8785_NUMBERS:
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        got = canonical_json(value).decode()
        _expect(got == expected, f"RFC 8785 number {bits}: {got} != {expected}")
        checks += 1
    # RFC 8785 3.2.3: keys sorted by UTF-16 code units, not by code points.
    got = canonical_json_text('{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7}')
    _expect(got.decode() == '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001F600":5,"\ufb33":3}',
            f"key order {got!r}")
    _expect(canonical_json_text('{"\\ue000":1,"\\ud83d\\ude00":2}') == '{"\U0001F600":2,"\ue000":1}'.encode(),
            "surrogate pair sorts before U+E000")
    _expect(canonical_json(-0.0) == b"0", "-0.0")
    _expect(canonical_json_text("9007199254740993") == b"9007199254740992", "2^53+1 rounds to a double")
    _expect(canonical_json_text("-0") == b"0", "-0 integer")
    _expect(canonical_json_text('"\\u007f\\u2028\\/"') == '"\x7f\u2028/"'.encode(), "escapes")
    _expect(canonical_json_text('"\\u0000\\u001f\\b"') == b'"\\u0000\\u001f\\b"', "control escapes")
    _expect_error(canonical_json_text, '{"a":1,"\\u0061":2}', contains="duplicate")
    _expect_error(canonical_json_text, "NaN", contains="not JSON")
    _expect_error(canonical_json_text, "1e400")
    _expect_error(canonical_json_text, '"\\ud800"')
    return checks + 12


def deterministic_leaves(count: int) -> list[bytes]:
    """The GUIDE known-answer leaves, then deterministic leaves of varied length (some empty)."""
    leaves = [bytes.fromhex(h) for h in GUIDE_LEAVES]
    i = len(leaves)
    while len(leaves) < count:
        length = 200 if i % 29 == 0 else (i * 13) % 37
        leaves.append(bytes((i * 31 + j * 7 + (j >> 3)) & 0xFF for j in range(length)))
        i += 1
    return leaves[:count]


def self_test_merkle(max_size: int = 64, exhaustive_size: int = 20) -> int:
    checks = 0
    leaves = deterministic_leaves(max_size)
    _expect(root([]) == EMPTY_ROOT, "empty root")
    for size, prefix in GUIDE_ROOT_PREFIXES.items():
        got = root(leaves[:size]).hex()
        _expect(got.startswith(prefix), f"root of size {size} is {got}, want {prefix}...")
        checks += 1
    hashes = [leaf_hash(leaf) for leaf in leaves]
    roots = [root(leaves[:n]) for n in range(max_size + 1)]
    # Independent root: pairwise left-to-right reduction keeping the odd node (the same tree shape).
    for n in range(1, max_size + 1):
        level = hashes[:n]
        while len(level) > 1:
            level = [node_hash(level[k], level[k + 1]) if k + 1 < len(level) else level[k]
                     for k in range(0, len(level), 2)]
        _expect(level[0] == roots[n], f"root of size {n} differs from the level-by-level root")
        checks += 1
    proofs = {(i, n): inclusion_proof(i, leaves[:n]) for n in range(1, max_size + 1) for i in range(n)}
    for (i, n), proof in proofs.items():
        _expect(verify_inclusion(i, n, hashes[i], proof, roots[n]), f"inclusion {i} in {n} fails")
        _expect(len(proof) == ((i ^ (n - 1)).bit_length() + bin(i >> (i ^ (n - 1)).bit_length()).count("1")),
                f"inclusion proof length for {i} in {n}")
        for k in range(len(proof)):
            for bit in (0, 255):
                bad = proof[:k] + [flip_bit(proof[k], bit)] + proof[k + 1:]
                _expect(not verify_inclusion(i, n, hashes[i], bad, roots[n]), f"flipped proof {i}/{n}")
        _expect(not verify_inclusion(i, n, flip_bit(hashes[i], 7), proof, roots[n]), "flipped leaf")
        _expect(not verify_inclusion(i, n, hashes[i], proof, flip_bit(roots[n], 100)), "flipped root")
        if proof:
            _expect(not verify_inclusion(i, n, hashes[i], proof[:-1], roots[n]), "truncated")
            _expect(not verify_inclusion(i, n, hashes[i], proof[1:], roots[n]), "first dropped")
        for extra in (roots[n], hashes[i], EMPTY_ROOT):
            _expect(not verify_inclusion(i, n, hashes[i], proof + [extra], roots[n]), "extended")
            _expect(not verify_inclusion(i, n, hashes[i], [extra] + proof, roots[n]), "prefixed")
        _expect(not verify_inclusion(n, n, hashes[i], proof, roots[n]), "index == size")
        checks += 1
        if n > exhaustive_size:
            continue
        # Claimed for another (index, size) with that size's true root, this proof verifies only when
        # the claim is true: the proof equals the generated one for that claim and the leaf is right.
        # (With the root of a different size it may verify: see the size 3 / size 4 check below.)
        for j in range(exhaustive_size):
            for m in range(j + 1, exhaustive_size + 1):
                for claimed_leaf in {hashes[i], hashes[j]}:
                    truth = claimed_leaf == hashes[j] and proofs[(j, m)] == proof
                    got = verify_inclusion(j, m, claimed_leaf, proof, roots[m])
                    _expect(got == truth, f"inclusion proof {i}/{n} claimed as {j}/{m}: {got}")
                    checks += 1
    # Known property: the size is not bound by an inclusion proof alone (shapes can coincide).
    _expect(verify_inclusion(0, 4, hashes[0], proofs[(0, 3)], roots[3]), "size 3 proof read as size 4")

    cons = {(m, n): consistency_proof(m, leaves[:n]) for n in range(1, max_size + 1) for m in range(1, n + 1)}
    for (m, n), proof in cons.items():
        _expect(verify_consistency(m, n, roots[m], roots[n], proof), f"consistency {m}->{n} fails")
        _expect((m == n) == (not proof), f"empty proof iff m == n ({m}->{n})")
        for k in range(len(proof)):
            bad = proof[:k] + [flip_bit(proof[k], 3 + 8 * k)] + proof[k + 1:]
            _expect(not verify_consistency(m, n, roots[m], roots[n], bad), f"flipped {m}->{n}")
        _expect(not verify_consistency(m, n, flip_bit(roots[m]), roots[n], proof), "flipped old root")
        _expect(not verify_consistency(m, n, roots[m], flip_bit(roots[n]), proof), "flipped new root")
        if proof:
            _expect(not verify_consistency(m, n, roots[m], roots[n], proof[:-1]), "truncated")
            _expect(not verify_consistency(m, n, roots[m], roots[n], proof[1:]), "first dropped")
        for extra in (roots[m], roots[n], EMPTY_ROOT):
            _expect(not verify_consistency(m, n, roots[m], roots[n], proof + [extra]), "extended")
            _expect(not verify_consistency(m, n, roots[m], roots[n], [extra] + proof), "prefixed")
        _expect(not verify_consistency(n, m, roots[n], roots[m], proof) or m == n, "swapped sizes")
        _expect(not verify_consistency(0, n, EMPTY_ROOT, roots[n], proof), "from size 0")
        checks += 1
        if n > exhaustive_size:
            continue
        for m2 in range(1, exhaustive_size + 1):
            for n2 in range(m2, exhaustive_size + 1):
                if (m2, n2) == (m, n):
                    continue
                truth = cons[(m2, n2)] == proof
                got = verify_consistency(m2, n2, roots[m2], roots[n2], proof)
                _expect(got == truth, f"consistency proof {m}->{n} claimed as {m2}->{n2}: {got}")
                checks += 1
    return checks


def _corrupt_last_signature(note: str) -> str:
    """The note with one bit of the last line's Ed25519 signature flipped (key id kept)."""
    head, _, line = note[:-1].rpartition("\n")
    prefix, _, data = line.rpartition(" ")
    raw = base64.b64decode(data)
    return f"{head}\n{prefix} {base64.b64encode(raw[:4] + flip_bit(raw[4:], 9)).decode()}\n"


def self_test_notes() -> int:
    checks = 0
    # Interoperability with the Go note package's documented example.
    signer = parse_signer_key(GO_NOTE_SIGNER)
    verifier = parse_verifier_key(GO_NOTE_VERIFIER)
    _expect(signer.verifier == verifier and verifier.key_id.hex() == "c74f20a3", "Go example keys")
    _expect(verifier.text() == GO_NOTE_VERIFIER and signer.text() == GO_NOTE_SIGNER, "key text round trip")
    go_note = GO_NOTE_TEXT + "\n" + GO_NOTE_SIGNATURE_LINE
    _expect(sign_note(GO_NOTE_TEXT, [signer]) == go_note, "Go example signature (Ed25519 is deterministic)")
    _expect(open_note(go_note.encode(), [verifier]).text == GO_NOTE_TEXT, "Go example note verifies")
    checks += 4

    log = Signer("example.com/tributary-test", hashlib.sha256(b"tributary self-test log key").digest())
    other = Signer("example.com/witness", hashlib.sha256(b"tributary self-test witness key").digest())
    leaves = deterministic_leaves(13)
    checkpoint = Checkpoint(log.name, 13, root(leaves))
    note = sign_note(checkpoint.text(), [log])
    got = verify_checkpoint(note, [log.verifier])
    _expect(got == checkpoint, "checkpoint round trip")
    both = sign_note(checkpoint.text(), [other, log])
    _expect(verify_checkpoint(both, [log.verifier]) == checkpoint, "unknown signer is ignored")
    _expect(verify_checkpoint(both, [other.verifier]) == checkpoint, "either signer works")
    with_ext = Checkpoint(log.name, 0, EMPTY_ROOT, ["extension line one", "x"])
    _expect(verify_checkpoint(sign_note(with_ext.text(), [log]), [log.verifier]) == with_ext, "extensions")
    checks += 4

    bad_cases = [
        (note.replace("\n13\n", "\n14\n"), "does not verify"),
        (note, "no signature by a known key", [other.verifier]),
        (note.replace(SIGNATURE_PREFIX, "-- "), "em dash"),
        (note[:-1], "newline"),
        (note.replace("\n\n", "\n"), "blank line"),
        (note.replace(log.name + "\n", log.name + "\t\n", 1), "control character"),
        (sign_note(checkpoint.text().replace("\n13\n", "\n013\n"), [log]), "leading zeros"),
        (sign_note(checkpoint.text() + "\n" + "ext\n", [log]), "empty line"),
        (sign_note(f"{log.name}\n13\n", [log]), "origin, size and root"),
        (sign_note(checkpoint.text().replace("=\n", "\n"), [log]), "base64"),
        (sign_note(f"{log.name}\n13\n{base64.b64encode(b'x' * 31).decode()}\n", [log]), "31 bytes"),
        (note.replace(log.name + " ", "other.example/log ", 1), "no signature by a known key"),
        (_corrupt_last_signature(sign_note(checkpoint.text(), [other, log])), "does not verify",
         [log.verifier, other.verifier]),
    ]
    for case in bad_cases:
        message, expected = case[0], case[1]
        keys = case[2] if len(case) > 2 else [log.verifier]
        _expect_error(verify_checkpoint, message, keys, contains=expected)
        checks += 1
    # A signature line whose key id is wrong for the name is an unknown key, so it is ignored.
    head, _, data = note[:-1].rpartition(" ")
    zero_id = base64.b64encode(bytes(4) + base64.b64decode(data)[4:]).decode()
    wrong_id = f"{head} {zero_id}\n"
    _expect_error(verify_checkpoint, wrong_id, [log.verifier], contains="no signature by a known key")
    _expect_error(parse_verifier_key, log.verifier.text().replace("+", "+0", 1), contains="8 hex digits")
    vtext = log.verifier.text()
    _expect_error(parse_verifier_key, vtext[:len(log.name) + 1] + "00000000" + vtext[len(log.name) + 9:],
                  contains="does not match")
    _expect_error(parse_verifier_key, "bad name+00000000+" + vtext.split("+")[2], contains="space")
    return checks + 4


def self_test() -> None:
    results = {
        "canonical JSON": self_test_canonical(),
        "Merkle tree": self_test_merkle(),
        "signed notes": self_test_notes(),
    }
    for name, count in results.items():
        print(f"self-test: {name}: {count} checks passed")
    print(f"{sum(results.values())} passed, 0 failed")


# ----------------------------------------------------------------------------------------------
# CLI

def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise SystemExit(f"error: {what} is not hex: {text!r}") from None


def _hex_list(text: str, what: str) -> list[bytes]:
    return [_hex(part.strip(), what) for part in text.split(",") if part.strip()]


def _cmd_verify_checkpoint(args) -> int:
    try:
        verifiers = [parse_verifier_key(key) for key in args.key]
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with open(args.note, "rb") as handle:
        message = handle.read()
    try:
        checkpoint = verify_checkpoint(message, verifiers)
    except LedgerError as error:
        print(f"checkpoint rejected: {error}", file=sys.stderr)
        return 1
    print(json.dumps(checkpoint.summary()))
    return 0


def _cmd_verify_inclusion(args) -> int:
    hashed = leaf_hash(_hex(args.leaf_hex, "--leaf-hex")) if args.leaf_hex is not None \
        else _hex(args.leaf_hash_hex, "--leaf-hash-hex")
    problem = inclusion_error(args.index, args.size, hashed, _hex_list(args.proof_hex, "--proof-hex"),
                              _hex(args.root_hex, "--root-hex"))
    if problem:
        print(f"inclusion proof rejected: {problem}", file=sys.stderr)
        return 1
    print("inclusion proof verifies")
    return 0


def _cmd_verify_consistency(args) -> int:
    problem = consistency_error(args.old_size, args.new_size, _hex(args.old_root_hex, "--old-root-hex"),
                                _hex(args.new_root_hex, "--new-root-hex"),
                                _hex_list(args.proof_hex, "--proof-hex"))
    if problem:
        print(f"consistency proof rejected: {problem}", file=sys.stderr)
        return 1
    print("consistency proof verifies")
    return 0


def _cmd_canonicalize(args) -> int:
    text = open(args.file, encoding="utf-8").read() if args.file else sys.stdin.read()
    try:
        out = canonical_json_text(text)
    except (ValueError, rfc8785.CanonicalizationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(out + (b"\n" if args.newline else b""))
    return 0


def _cmd_gen_key(args) -> int:
    seed = _hex(args.seed_hex, "--seed-hex") if args.seed_hex else Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    if len(seed) != 32:
        raise SystemExit("error: --seed-hex must be 32 bytes")
    _check_key_name(args.name)
    signer = Signer(args.name, seed)
    print(json.dumps({"signer_key": signer.text(), "verifier_key": signer.verifier.text()}, indent=1))
    return 0


def _cmd_sign_checkpoint(args) -> int:
    signer = parse_signer_key(args.signer_key)
    checkpoint = Checkpoint(args.origin or signer.name, args.size, _hex(args.root_hex, "--root-hex"),
                            list(args.extension))
    parse_checkpoint(checkpoint.text())
    sys.stdout.write(sign_note(checkpoint.text(), [signer]))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true", help="run the known-answer and tamper checks")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("verify-checkpoint", help="verify a signed C2SP checkpoint note")
    p.add_argument("--note", required=True, help="file holding the signed note")
    p.add_argument("--key", required=True, action="append", help="verifier key text (repeatable)")
    p.set_defaults(run=_cmd_verify_checkpoint)

    p = sub.add_parser("verify-inclusion", help="verify an RFC 9162 inclusion proof")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--index", type=int, required=True)
    leaf = p.add_mutually_exclusive_group(required=True)
    leaf.add_argument("--leaf-hex", help="the leaf's bytes (hashed as SHA-256(0x00 || leaf))")
    leaf.add_argument("--leaf-hash-hex", help="the leaf hash itself")
    p.add_argument("--proof-hex", default="", help="comma-separated hashes, deepest first")
    p.add_argument("--root-hex", required=True)
    p.set_defaults(run=_cmd_verify_inclusion)

    p = sub.add_parser("verify-consistency", help="verify an RFC 9162 consistency proof")
    p.add_argument("--old-size", type=int, required=True)
    p.add_argument("--new-size", type=int, required=True)
    p.add_argument("--old-root-hex", required=True)
    p.add_argument("--new-root-hex", required=True)
    p.add_argument("--proof-hex", default="", help="comma-separated hashes")
    p.set_defaults(run=_cmd_verify_consistency)

    p = sub.add_parser("canonicalize", help="print the RFC 8785 form of a JSON text")
    p.add_argument("--file", help="input file (default: standard input)")
    p.add_argument("--newline", action="store_true", help="append a newline")
    p.set_defaults(run=_cmd_canonicalize)

    p = sub.add_parser("gen-key", help="make an Ed25519 signer / verifier key pair in note text form")
    p.add_argument("--name", required=True)
    p.add_argument("--seed-hex", help="32-byte seed (default: random)")
    p.set_defaults(run=_cmd_gen_key)

    p = sub.add_parser("sign-checkpoint", help="print a checkpoint note signed by a signer key")
    p.add_argument("--signer-key", required=True, help="PRIVATE+KEY+<name>+<id>+<base64>")
    p.add_argument("--origin", help="origin line (default: the key name)")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--root-hex", required=True)
    p.add_argument("--extension", action="append", default=[], help="extension line (repeatable)")
    p.set_defaults(run=_cmd_sign_checkpoint)

    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
