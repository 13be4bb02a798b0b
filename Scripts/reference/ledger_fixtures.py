#!/usr/bin/env python3
"""Write the attribution-ledger fixtures from ledger_reference.py.

Output (Models/cache/fixtures/ledger/):
    canonical.json    RFC 8785 cases: {"cases": [{"input", "canonical"}], "rejected": [{"input", "why"}]}
    merkle.json       RFC 6962 tree over 64 deterministic leaves: roots for sizes 0..64, every inclusion
                      proof for sizes 1..33, every consistency proof for 1 <= m <= n <= 33, invalid cases,
                      and a few proofs that verify against the root of another tree size
    checkpoints.json  signed C2SP checkpoints (deterministic Ed25519 keys), valid and invalid

Every value is checked before it is written: hand-written expectations for the canonical forms, the
GUIDE known answers for the roots, every proof against the verifiers, every invalid case rejected.

    python3 Scripts/reference/ledger_fixtures.py
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import time
from pathlib import Path

import ledger_reference as lr

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_LEAVES = 64
MAX_PROOF_SIZE = 33

# (JSON text, expected canonical text or None to take the package's answer unchecked, note or None)
CANONICAL_CASES = [
    # numbers
    ("0", "0", None),
    ("-0.0", "0", "negative zero serialises as 0"),
    ("-0", "0", None),
    ("0.0", "0", None),
    ("1", "1", None),
    ("-1", "-1", None),
    ("1.0", "1", None),
    ("1E2", "100", None),
    ("0.10e1", "1", None),
    ("1e21", "1e+21", "from 1e21 up, exponent form"),
    ("1e20", "100000000000000000000", "below 1e21, plain digits"),
    ("999999999999999999999", "1e+21", "21 nines round to the double 1e21"),
    ("1e16", "10000000000000000", None),
    ("1e-6", "0.000001", "down to 1e-6, plain digits"),
    ("1e-7", "1e-7", "below 1e-6, exponent form"),
    ("1e-5", "0.00001", None),
    ("0.1", "0.1", None),
    ("0.5", "0.5", None),
    ("0.3", "0.3", None),
    ("[0.1,0.2,0.30000000000000004]", "[0.1,0.2,0.30000000000000004]", None),
    ("123456789012", "123456789012", None),
    ("9007199254740992", "9007199254740992", "2^53"),
    ("-9007199254740991", "-9007199254740991", "-(2^53 - 1)"),
    ("9007199254740993", "9007199254740992", "2^53 + 1 is not a double: JSON numbers are parsed as doubles"),
    ("12345678901234567890", "12345678901234567000", "rounded to a double, shortest digits, zero padded"),
    ("5e-324", "5e-324", "smallest subnormal"),
    ("1.7976931348623157e308", "1.7976931348623157e+308", "largest double"),
    ("-1.7976931348623157E+308", "-1.7976931348623157e+308", None),
    ("333333333.3333333", "333333333.3333333", None),
    ("1e+23", "1e+23", None),
    ("-1.5e-10", "-1.5e-10", None),
    ("4.35", "4.35", None),
    ("0.000001234", "0.000001234", None),
    ("123e-20", "1.23e-18", None),
    ("3.14159265358979323846", "3.141592653589793", "excess digits are rounded"),
    ("123456789.123456789", "123456789.12345679", None),
    ("100000000000000000000.5", "100000000000000000000", None),
    ("[0,-0,0.0,-0.0,1e0,10e-1]", "[0,0,0,0,1,1]", None),
    ("[1.5e300,-2.5e-300,7e22,7e-7]", "[1.5e+300,-2.5e-300,7e+22,7e-7]", None),
    # strings
    ('"hello"', '"hello"', None),
    ('""', '""', None),
    ('"\\u0041\\u00e9\\u20ac"', '"A\u00e9\u20ac"', "escapes of printable characters are undone"),
    ('"\\/"', '"/"', "escaped solidus is written plain"),
    ('"quote \\" backslash \\\\"', '"quote \\" backslash \\\\"', None),
    ('"\\b\\f\\n\\r\\t"', '"\\b\\f\\n\\r\\t"', "the two-character escapes"),
    ('"\\u0000\\u0001\\u001f"', '"\\u0000\\u0001\\u001f"', "other controls as lowercase \\u00xx"),
    ('"\\u000B\\u001B"', '"\\u000b\\u001b"', None),
    ('"\\u007f"', '"\x7f"', "DEL is not escaped"),
    ('"\\u0080\\u009f"', '"\x80\x9f"', "C1 controls are not escaped"),
    ('"\\u2028\\u2029"', '"\u2028\u2029"', "line / paragraph separators are not escaped"),
    ('"\U0001F600"', '"\U0001F600"', "emoji as UTF-8"),
    ('"\\ud83d\\ude00"', '"\U0001F600"', "escaped surrogate pair becomes UTF-8"),
    ('"\\uD834\\uDD1E clef"', '"\U0001D11E clef"', None),
    ('"\\udbff\\udfff"', '"\U0010FFFF"', None),
    ('"e\\u0301 \u00e9"', '"e\u0301 \u00e9"', "no Unicode normalisation"),
    ('"\\ufeff\\uffff"', '"\ufeff\uffff"', None),
    ('"<script>&\'"', '"<script>&\'"', "no HTML escaping"),
    ('"tab\\there"', '"tab\\there"', None),
    # literals and empty containers
    ("true", "true", None),
    ("false", "false", None),
    ("null", "null", None),
    ("{}", "{}", None),
    ("[]", "[]", None),
    (" [ true , false , null ] ", "[true,false,null]", None),
    ("[[],[[]],{},{\"a\":{}}]", "[[],[[]],{},{\"a\":{}}]", None),
    ("[[[[[[[[[[1]]]]]]]]]]", "[[[[[[[[[[1]]]]]]]]]]", None),
    # object key order (UTF-16 code units)
    ('{"b":1,"a":2}', '{"a":2,"b":1}', None),
    ('{"\\ue000":1,"\\ud83d\\ude00":2}', '{"\U0001F600":2,"\ue000":1}',
     "U+1F600 (D83D DE00) sorts before U+E000 in UTF-16, after it by code point"),
    ('{"\\u20ac":"Euro","\\r":"CR","\\ufb33":"Dalet","1":"One","\\ud83d\\ude00":"Emoji","\\u0080":"Ctl",'
     '"\\u00f6":"o"}',
     '{"\\r":"CR","1":"One","\x80":"Ctl","\u00f6":"o","\u20ac":"Euro","\U0001F600":"Emoji","\ufb33":"Dalet"}',
     None),
    ('{"\ufb00":1,"\U0001D49C":2,"\uff21":3}', '{"\U0001D49C":2,"\ufb00":1,"\uff21":3}',
     "U+1D49C sorts first in UTF-16, last by code point"),
    ('{"10":1,"1":2,"2":3,"a":4,"A":5,"\u00e9":6,"_":7,"":8}',
     '{"":8,"1":2,"10":1,"2":3,"A":5,"_":7,"a":4,"\u00e9":6}', "strings, not numbers"),
    ('{"\\r":1,"\\n":2," ":3,"\\t":4}', '{"\\t":4,"\\n":2,"\\r":1," ":3}', None),
    ('{"aa":1,"a":2,"ab":3,"b":4}', '{"a":2,"aa":1,"ab":3,"b":4}', "a prefix sorts first"),
    ('{"\\u00e9":1,"e\\u0301":2}', '{"e\u0301":2,"\u00e9":1}', "distinct keys, no normalisation"),
    ('{"\\"":1,"\\\\":2,"\\/":3}', '{"\\"":1,"/":3,"\\\\":2}', None),
    ('{"\\u0000":1,"\\u001f":2,"\\u007f":3}', '{"\\u0000":1,"\\u001f":2,"\x7f":3}', None),
    ('{"\u20ac":1,"\u00a3":2,"$":3}', '{"$":3,"\u00a3":2,"\u20ac":1}', None),
    ('{"z":{"y":[3,{"b":null,"a":true}],"x":false},"a":[]}',
     '{"a":[],"z":{"x":false,"y":[3,{"a":true,"b":null}]}}', "nested objects are sorted too"),
    (' {\n  "a" : [ 1 , 2 ] ,\t"b" : { }\r\n} ', '{"a":[1,2],"b":{}}', "insignificant whitespace is dropped"),
    # a ledger-shaped record
    ('{"schema": 1, "seq": 41, "source": "srv-1", "event_id": "0192f3a4-5b6c-7d8e-9f00-112233445566",'
     ' "occurred_at": "2025-01-02T03:04:05.678Z", "customer": "tenant-\u03b1",'
     ' "tokens": {"prompt": 12, "completion": 345}, "status": "ok",'
     ' "adapters": [{"id": "a1", "version": "2", "scale": 0.75, "creator": "c\u00e9"}],'
     ' "attribution": {"method": "span-match", "version": "1", "sources": ['
     '{"source_id": "s2", "contributor_id": "c2", "weight_ppm": 400000},'
     ' {"source_id": "s1", "contributor_id": "c1", "weight_ppm": 600000}]}}',
     '{"adapters":[{"creator":"c\u00e9","id":"a1","scale":0.75,"version":"2"}],"attribution":{"method":'
     '"span-match","sources":[{"contributor_id":"c2","source_id":"s2","weight_ppm":400000},{"contributor_id":'
     '"c1","source_id":"s1","weight_ppm":600000}],"version":"1"},"customer":"tenant-\u03b1","event_id":'
     '"0192f3a4-5b6c-7d8e-9f00-112233445566","occurred_at":"2025-01-02T03:04:05.678Z","schema":1,"seq":41,'
     '"source":"srv-1","status":"ok","tokens":{"completion":345,"prompt":12}}', "array order is kept"),
]

REJECTED_CASES = [
    ('{"a":1,"a":2}', "duplicate object key (I-JSON)"),
    ('{"a":1,"\\u0061":2}', "duplicate object key after unescaping"),
    ('"\\ud800"', "lone high surrogate"),
    ('"\\udc00x"', "lone low surrogate"),
    ('"\\ude00\\ud83d"', "surrogates in the wrong order"),
    ("1e400", "number overflows to infinity"),
    ("[-1e400]", "number overflows to -infinity"),
    ("NaN", "NaN is not JSON"),
    ("Infinity", "Infinity is not JSON"),
]


def write_lines(path: Path, head: str, sections: list[tuple[str, list]], tail: str = "}") -> None:
    """Write a JSON object with one array element per line (readable diffs, small files)."""
    parts = [head]
    for number, (name, items) in enumerate(sections):
        lines = ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)
        parts.append(f'"{name}": [\n{lines}\n]' + ("," if number + 1 < len(sections) else ""))
    parts.append(tail)
    text = "\n".join(parts) + "\n"
    json.loads(text)
    path.write_text(text, encoding="utf-8")


def canonical_fixtures() -> tuple[list, list]:
    cases, seen = [], set()
    for text, expected, note in CANONICAL_CASES:
        if text in seen:
            raise AssertionError(f"duplicate case {text!r}")
        seen.add(text)
        got = lr.canonical_json_text(text).decode("utf-8")
        if expected is not None and got != expected:
            raise AssertionError(f"canonical form of {text!r}: package {got!r}, expected {expected!r}")
        if lr.canonical_json_text(got).decode("utf-8") != got:
            raise AssertionError(f"canonical form of {text!r} is not a fixed point")
        case = {"input": text, "canonical": got}
        if note:
            case["note"] = note
        cases.append(case)
    rejected = []
    for text, why in REJECTED_CASES:
        try:
            lr.canonical_json_text(text)
        except ValueError:  # LedgerError, json.JSONDecodeError and rfc8785 errors are ValueErrors
            rejected.append({"input": text, "why": why})
            continue
        raise AssertionError(f"{text!r} was accepted")
    return cases, rejected


def _hex(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, list):
        return [_hex(item) for item in value]
    return value


def merkle_fixtures() -> dict:
    leaves = lr.deterministic_leaves(MAX_LEAVES)
    hashes = [lr.leaf_hash(leaf) for leaf in leaves]
    roots = [lr.root(leaves[:n]) for n in range(MAX_LEAVES + 1)]
    if roots[0] != hashlib.sha256(b"").digest():
        raise AssertionError("empty root")
    for size, prefix in lr.GUIDE_ROOT_PREFIXES.items():
        if not roots[size].hex().startswith(prefix):
            raise AssertionError(f"root of size {size} does not start with {prefix}")

    def inclusion(n, i):
        return {"size": n, "index": i, "leaf_hash": hashes[i], "root": roots[n],
                "proof": lr.inclusion_proof(i, leaves[:n])}

    def consistency(m, n):
        return {"old_size": m, "new_size": n, "old_root": roots[m], "new_root": roots[n],
                "proof": lr.consistency_proof(m, leaves[:n])}

    def check_inclusion(case):
        return lr.inclusion_error(case["index"], case["size"], case["leaf_hash"], case["proof"], case["root"])

    def check_consistency(case):
        return lr.consistency_error(case["old_size"], case["new_size"], case["old_root"], case["new_root"],
                                    case["proof"])

    inclusions = [inclusion(n, i) for n in range(1, MAX_PROOF_SIZE + 1) for i in range(n)]
    consistencies = [consistency(m, n) for n in range(1, MAX_PROOF_SIZE + 1) for m in range(1, n + 1)]
    for case in inclusions:
        if check_inclusion(case):
            raise AssertionError(f"inclusion {case['index']}/{case['size']}: {check_inclusion(case)}")
    for case in consistencies:
        if check_consistency(case):
            raise AssertionError(f"consistency {case['old_size']}->{case['new_size']}: {check_consistency(case)}")

    flip = lr.flip_bit
    invalid = []

    def bad_inclusion(n, i, why, **changes):
        case = inclusion(n, i)
        case.update({key: (value(case) if callable(value) else value) for key, value in changes.items()})
        invalid.append({"kind": "inclusion", **case, "why": why})

    def bad_consistency(m, n, why, **changes):
        case = consistency(m, n)
        case.update({key: (value(case) if callable(value) else value) for key, value in changes.items()})
        invalid.append({"kind": "consistency", **case, "why": why})

    def proof_with(k, transform):
        def change(case):
            proof = list(case["proof"])
            proof[k] = transform(proof[k])
            return proof
        return change

    bad_inclusion(8, 3, "one bit flipped in the first proof hash", proof=proof_with(0, flip))
    bad_inclusion(33, 17, "one bit flipped in the last proof hash", proof=proof_with(-1, lambda h: flip(h, 255)))
    bad_inclusion(5, 4, "one bit flipped in the leaf hash", leaf_hash=lambda c: flip(c["leaf_hash"], 77))
    bad_inclusion(16, 9, "one bit flipped in the root", root=lambda c: flip(c["root"], 100))
    bad_inclusion(10, 4, "index off by one (proof and leaf of index 4)", index=5)
    bad_inclusion(11, 6, "index of another leaf, with that leaf's hash",
                  index=2, leaf_hash=hashes[2])
    bad_inclusion(7, 6, "index equal to the tree size", index=7)
    bad_inclusion(7, 3, "index beyond the tree size", index=12)
    bad_inclusion(12, 10, "tree size one larger (same root)", size=13)
    bad_inclusion(12, 10, "tree size one smaller (same root)", size=11)
    bad_inclusion(12, 5, "tree size and root of the tree one leaf larger", size=13, root=roots[13])
    bad_inclusion(12, 5, "tree size and root of the tree one leaf smaller", size=11, root=roots[11])
    bad_inclusion(6, 2, "tree size 0", size=0)
    bad_inclusion(13, 7, "root of the tree one leaf larger", root=roots[14])
    bad_inclusion(20, 19, "last proof hash dropped", proof=lambda c: c["proof"][:-1])
    bad_inclusion(21, 4, "first proof hash dropped", proof=lambda c: c["proof"][1:])
    bad_inclusion(9, 2, "root appended to the proof", proof=lambda c: c["proof"] + [c["root"]])
    bad_inclusion(24, 23, "last proof hash repeated", proof=lambda c: c["proof"] + [c["proof"][-1]])
    bad_inclusion(2, 1, "empty proof in a tree of two leaves", proof=[])
    bad_inclusion(1, 0, "extra hash in the proof of a one-leaf tree", proof=[hashes[1]])
    bad_inclusion(32, 11, "two proof hashes swapped", proof=lambda c: [c["proof"][1], c["proof"][0]] + c["proof"][2:])
    bad_inclusion(30, 0, "proof in reverse order", proof=lambda c: c["proof"][::-1])
    bad_inclusion(6, 2, "a proof hash cut to 31 bytes", proof=proof_with(1, lambda h: h[:31]))
    bad_inclusion(6, 3, "a proof hash of 33 bytes", proof=proof_with(0, lambda h: h + b"\x00"))
    bad_inclusion(8, 5, "leaf hash without the 0x00 prefix: SHA-256(leaf)",
                  leaf_hash=hashlib.sha256(leaves[5]).digest())
    bad_inclusion(8, 6, "leaf hashed with the node prefix 0x01", leaf_hash=hashlib.sha256(b"\x01" + leaves[6]).digest())
    bad_inclusion(8, 3, f"the raw leaf given instead of its hash ({len(leaves[3])} bytes)", leaf_hash=leaves[3])
    bad_inclusion(15, 14, "proof of the left neighbour", proof=lambda c: lr.inclusion_proof(13, leaves[:15]))
    bad_inclusion(17, 5, "proof of the same leaf in the tree of one leaf fewer",
                  proof=lr.inclusion_proof(5, leaves[:16]))

    bad_consistency(3, 7, "one bit flipped in the first proof hash", proof=proof_with(0, flip))
    bad_consistency(5, 33, "one bit flipped in the last proof hash", proof=proof_with(-1, lambda h: flip(h, 200)))
    bad_consistency(6, 8, "one bit flipped in the old root", old_root=lambda c: flip(c["old_root"], 5))
    bad_consistency(4, 9, "one bit flipped in the new root", new_root=lambda c: flip(c["new_root"], 250))
    bad_consistency(5, 12, "old and new sizes (and roots) swapped", old_size=12, new_size=5,
                    old_root=roots[12], new_root=roots[5])
    bad_consistency(6, 10, "old and new roots swapped", old_root=roots[10], new_root=roots[6])
    bad_consistency(1, 5, "old size 0 (no proof from an empty tree)", old_size=0, old_root=roots[0], proof=[])
    bad_consistency(5, 5, "equal sizes with a non-empty proof", proof=[roots[5]])
    bad_consistency(6, 6, "equal sizes with different roots", new_root=roots[7])
    bad_consistency(4, 8, "empty proof for different sizes", proof=[])
    bad_consistency(7, 20, "last proof hash dropped", proof=lambda c: c["proof"][:-1])
    bad_consistency(3, 4, "first proof hash dropped", proof=lambda c: c["proof"][1:])
    bad_consistency(4, 11, "old root prepended although the old size is a power of two",
                    proof=lambda c: [c["old_root"]] + c["proof"])
    bad_consistency(13, 33, "extra hash appended", proof=lambda c: c["proof"] + [roots[1]])
    bad_consistency(5, 12, "old size one larger (with that size's root)", old_size=6, old_root=roots[6])
    bad_consistency(5, 12, "old size one smaller (with that size's root)", old_size=4, old_root=roots[4])
    bad_consistency(5, 12, "new size one larger (with that size's root)", new_size=13, new_root=roots[13])
    bad_consistency(5, 12, "new size one smaller (with that size's root)", new_size=11, new_root=roots[11])
    bad_consistency(9, 31, "two proof hashes swapped", proof=lambda c: [c["proof"][1], c["proof"][0]] + c["proof"][2:])
    bad_consistency(10, 27, "a proof hash cut to 31 bytes", proof=proof_with(2, lambda h: h[:31]))
    bad_consistency(7, 15, "new root of a different tree of the same size",
                    new_root=lr.root(leaves[:14] + [b"changed"]))
    bad_consistency(8, 16, "proof for another old size (7 -> 16)", proof=lr.consistency_proof(7, leaves[:16]))

    for case in invalid:
        checker = check_inclusion if case["kind"] == "inclusion" else check_consistency
        if checker(case) is None:
            raise AssertionError(f"invalid case verifies: {case['why']}")

    # The tree size only sets the shape the verifier walks; a proof checked against a root of another size
    # verifies whenever the shapes coincide. Roots must come with their own size (a signed checkpoint).
    why = "verifies: the size only sets the proof's shape, which is the same for both sizes"
    other_size = [
        {"kind": "inclusion", **inclusion(12, 5), "size": 13, "why": why},
        {"kind": "inclusion", **inclusion(3, 0), "size": 4, "why": why},
        {"kind": "consistency", **consistency(3, 8), "new_size": 7, "why": why},
        {"kind": "consistency", **consistency(2, 4), "new_size": 3, "why": why},
    ]
    for case in other_size:
        checker = check_inclusion if case["kind"] == "inclusion" else check_consistency
        if checker(case) is not None:
            raise AssertionError(f"other-size case rejected: {checker(case)}")
    if len(invalid) < 30:
        raise AssertionError("fewer than 30 invalid cases")
    return {"leaves": leaves, "leaf_hashes": hashes, "roots": roots, "inclusion": inclusions,
            "consistency": consistencies, "invalid": invalid, "other_size_accepted": other_size}


def checkpoint_fixtures() -> dict:
    leaves = lr.deterministic_leaves(MAX_LEAVES)
    log = lr.Signer("example.com/tributary/log", hashlib.sha256(b"tributary fixture log key").digest())
    witness = lr.Signer("example.com/tributary/witness", hashlib.sha256(b"tributary fixture witness key").digest())
    keys = {role: {"name": s.name, "seed_hex": s.seed.hex(), "signer_key": s.text(),
                   "verifier_key": s.verifier.text()} for role, s in (("log", log), ("witness", witness))}
    cases = []

    def valid(note, verifiers, checkpoint):
        cases.append({"note": note, "verifier_keys": [v.text() for v in verifiers], "valid": True,
                      **checkpoint.summary()})

    def invalid(note, verifiers, why):
        cases.append({"note": note, "verifier_keys": [v.text() for v in verifiers], "valid": False, "why": why})

    cp8 = lr.Checkpoint(log.name, 8, lr.root(leaves[:8]))
    cp0 = lr.Checkpoint(log.name, 0, lr.EMPTY_ROOT)
    cp64 = lr.Checkpoint(log.name, 64, lr.root(leaves), ["extension: opaque line", "second extension"])
    cp33 = lr.Checkpoint(log.name, 33, lr.root(leaves[:33]))
    note8 = lr.sign_note(cp8.text(), [log])
    b64_8 = base64.b64encode(cp8.root).decode()

    valid(note8, [log.verifier], cp8)
    valid(lr.sign_note(cp0.text(), [log]), [log.verifier], cp0)
    valid(lr.sign_note(cp64.text(), [log]), [log.verifier], cp64)
    valid(lr.sign_note(cp33.text(), [witness, log]), [log.verifier], cp33)
    valid(lr.sign_note(cp33.text(), [log, witness]), [witness.verifier], cp33)
    valid(lr.sign_note(cp33.text(), [log, witness]), [log.verifier, witness.verifier], cp33)
    unknown = base64.b64encode(b"\x12\x34\x56\x78" + bytes(range(70))).decode()
    valid(note8 + f"\u2014 example.org/unknown-cosigner {unknown}\n", [log.verifier], cp8)

    def signature_line(note):
        return note.rstrip("\n").rpartition("\n")[2]

    def resign(text):
        return lr.sign_note(text, [log])

    invalid(note8.replace("\n8\n", "\n9\n", 1), [log.verifier], "tree size changed after signing")
    invalid(note8.replace(b64_8, base64.b64encode(lr.root(leaves[:7])).decode()), [log.verifier],
            "root hash changed after signing")
    invalid(note8.replace(log.name + "\n", "example.com/other\n", 1), [log.verifier], "origin changed after signing")
    invalid(lr._corrupt_last_signature(note8), [log.verifier], "one bit of the signature flipped")
    raw = base64.b64decode(signature_line(note8).rpartition(" ")[2])
    invalid(note8.replace(signature_line(note8), f"\u2014 {log.name} {base64.b64encode(raw[:-4]).decode()}"),
            [log.verifier], "signature cut to 60 bytes")
    invalid(note8.replace(signature_line(note8),
                          f"\u2014 {log.name} {base64.b64encode(bytes(4) + raw[4:]).decode()}"),
            [log.verifier], "wrong key id: an unknown key, so no signature by a known key")
    invalid(note8.replace(f"\u2014 {log.name} ", f"\u2014 {witness.name} "), [log.verifier, witness.verifier],
            "key name of another trusted key with this key's id: no signature by a known key")
    invalid(lr.sign_note(cp8.text(), [witness]), [log.verifier], "signed only by a key that is not trusted")
    invalid(lr._corrupt_last_signature(lr.sign_note(cp8.text(), [witness, log])), [log.verifier, witness.verifier],
            "one trusted signature verifies but another trusted one does not (the whole note is rejected)")
    invalid(note8.replace("\n\n", "\n"), [log.verifier], "no blank line between text and signatures")
    invalid(note8[:-1], [log.verifier], "no final newline")
    invalid(note8.replace("\u2014 ", "- "), [log.verifier], "hyphen-minus instead of the em dash")
    invalid(note8.replace("\u2014 ", "\u2013 "), [log.verifier], "en dash instead of the em dash")
    invalid(note8.replace("\n", "\r\n"), [log.verifier], "CRLF line endings (control character)")
    invalid(note8 + "\n", [log.verifier], "trailing blank line after the signatures")
    invalid(resign(cp8.text().replace("\n8\n", "\n08\n")), [log.verifier], "tree size with a leading zero")
    invalid(resign(cp8.text().replace("\n8\n", "\n-8\n")), [log.verifier], "negative tree size")
    invalid(resign(cp8.text().replace("\n8\n", "\n+8\n")), [log.verifier], "tree size with a plus sign")
    invalid(resign(cp8.text().replace("\n8\n", "\n0x8\n")), [log.verifier], "tree size in hex")
    invalid(resign(f"{log.name}\n18446744073709551616\n{b64_8}\n"), [log.verifier], "tree size of 2^64")
    invalid(resign(cp8.text().replace(b64_8, b64_8.rstrip("="))), [log.verifier], "root hash without padding")
    invalid(resign(cp8.text().replace(b64_8, cp8.root.hex())), [log.verifier], "root hash in hex")
    invalid(resign(cp8.text().replace(b64_8, base64.b64encode(cp8.root[:31]).decode())), [log.verifier],
            "root hash of 31 bytes")
    invalid(resign(cp8.text().replace(b64_8, base64.urlsafe_b64encode(cp8.root).decode())), [log.verifier],
            "root hash in URL-safe base64")
    invalid(resign(f"{log.name}\n8\n"), [log.verifier], "no root hash line")
    invalid(resign(f"\n8\n{b64_8}\n"), [log.verifier], "empty origin line")
    invalid(resign(cp8.text() + "\nextension\n"), [log.verifier], "empty line before an extension line")

    if base64.urlsafe_b64encode(cp8.root) == base64.b64encode(cp8.root):
        raise AssertionError("size-8 root has no '+' or '/' in base64: the URL-safe case would be valid")
    for case in cases:
        verifiers = [lr.parse_verifier_key(text) for text in case["verifier_keys"]]
        try:
            got = lr.verify_checkpoint(case["note"], verifiers)
        except lr.LedgerError as error:
            if case["valid"]:
                raise AssertionError(f"valid checkpoint rejected: {error}") from None
            continue
        if not case["valid"]:
            raise AssertionError(f"invalid checkpoint accepted: {case['why']}")
        if got.summary() != {k: case[k] for k in ("origin", "size", "root_hex")}:
            raise AssertionError("checkpoint summary")
    return {"keys": keys, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "Models" / "cache" / "fixtures" / "ledger")
    args = parser.parse_args()
    start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)

    cases, rejected = canonical_fixtures()
    write_lines(args.out / "canonical.json", "{", [("cases", cases), ("rejected", rejected)])

    merkle = merkle_fixtures()
    head = "{\n" + ",\n".join(f'"{key}": {json.dumps(_hex(merkle[key]))}'
                              for key in ("leaves", "leaf_hashes", "roots")) + ","
    write_lines(args.out / "merkle.json", head,
                [(name, [{k: _hex(v) for k, v in item.items()} for item in merkle[name]])
                 for name in ("inclusion", "consistency", "invalid", "other_size_accepted")])

    checkpoints = checkpoint_fixtures()
    write_lines(args.out / "checkpoints.json", '{\n"keys": ' + json.dumps(checkpoints["keys"]) + ",",
                [("cases", checkpoints["cases"])])

    sizes = ", ".join(f"{p.name} {p.stat().st_size // 1024} KiB" for p in sorted(args.out.glob("*.json")))
    print(f"ledger fixtures: {len(cases)} canonical cases, {len(rejected)} rejected, "
          f"{len(merkle['inclusion'])} inclusion, {len(merkle['consistency'])} consistency, "
          f"{len(merkle['invalid'])} invalid proofs, {len(checkpoints['cases'])} checkpoints "
          f"-> {args.out} ({sizes}) in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
