"""Compact JWS, strictly: RFC 7515 §2, §3.1, §4.1, §5.2; RFC 7519 §7.2; RFC 8725 §2-§3.

In this order, each step cheap: the size cap before anything else (K40); exactly three segments (five
is a JWE, RFC 7516 §9); the base64url alphabet without padding (RFC 7515 §2); a small header, parsed as
UTF-8 JSON with a depth limit and no duplicate names; its `alg` in the allow-list, so never `none` or an
HMAC (K16, K17); no `crit` extension, since we implement none (RFC 7515 §4.1.11); the key chosen by `kid`
from the issuer's JWKS only (embedded `jwk`, `jku`, `x5u`, `x5c` are never read, K18); the signature
checked with that key's check for the header's `alg` (keys.signature_check). The payload is decoded
only after that.
"""

from __future__ import annotations

import binascii
import json
import json.scanner
from dataclasses import dataclass
from typing import Any

from passportoffice.guard.errors import InvalidToken
from passportoffice.guard.keys import KeySet, VerificationKey

MAX_HEADER_SEGMENT = 2048  # characters; real headers are under 300
MAX_JSON_DEPTH = 16  # RFC 8725 §3.1 asks for care with parsers; real claims nest 3-4 deep
MAX_KID_LENGTH = 512

# Base64url (RFC 4648 §5) onto the standard alphabet, for binascii's strict decoder. The standard
# alphabet's own `+`, `/` and the padding `=` become `!`, which strict decoding refuses.
_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"===", b"==", b"=")  # by length % 4; a remainder of 1 is never valid and fails


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are Python extensions, not JSON


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        # RFC 7515 §5.2: a header with duplicate names is ambiguous between parsers, so it is refused.
        raise ValueError("duplicate member name")
    return members


_HEADER_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=_unique_members)
_PAYLOAD_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
# The C scanner behind _PAYLOAD_DECODER.raw_decode, called without raw_decode's Python frame (parse_payload).
_scan_payload = json.scanner.make_scanner(_PAYLOAD_DECODER)  # type: ignore[arg-type]  # typeshed: any context


@dataclass(frozen=True, slots=True)
class ProtectedHeader:
    alg: str
    kid: str | None


def decode_segment(segment: bytes) -> bytes:
    try:
        return binascii.a2b_base64(segment + _PADDING[len(segment) & 3], strict_mode=True)
    except binascii.Error:
        raise InvalidToken("the token is malformed") from None


def parse_json_object(data: bytes, *, header: bool = False) -> dict[str, Any]:
    """A JSON object in UTF-8 (RFC 8259 §8.1). A header may nest at most MAX_JSON_DEPTH deep.

    The payload is parsed only once its signature verified, so only the issuer can nest it; the
    parser's recursion limit (RecursionError, refused) still bounds it while parsing.
    """
    decoder = _HEADER_DECODER if header else _PAYLOAD_DECODER
    try:
        text = data.decode("utf-8")
        value, end = decoder.raw_decode(text)
        if end != len(text):
            value = decoder.decode(text)  # trailing whitespace is JSON; anything else raises
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidToken("the token is malformed") from None
    if not isinstance(value, dict):
        raise InvalidToken("the token is malformed")
    # Counting brackets bounds the depth from above in one pass; only a rare header needs the walk.
    if header and data.count(b"{") + data.count(b"[") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise InvalidToken("the token is nested too deeply")
    return value


def parse_payload(data: bytes) -> dict[str, Any]:
    """`parse_json_object(data)` for a verified payload, on the path every new token takes: the same answers,
    with the JSON scanner called directly (raw_decode's frame is a fifth of the parse, tests/guard/test_jws.py)."""
    try:
        text = data.decode("utf-8")
        value, end = _scan_payload(text, 0)
    except (ValueError, RecursionError, StopIteration):  # StopIteration: no JSON value at the start
        raise InvalidToken("the token is malformed") from None
    if end != len(text):
        return parse_json_object(data)  # trailing whitespace is JSON; anything else raises there
    if type(value) is not dict:
        raise InvalidToken("the token is malformed")
    return value


def _deeper_than(value: dict[str, Any], limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class HeaderRules:
    """Which protected headers are acceptable. The few distinct headers an issuer uses are remembered
    once checked, so a token's header costs one dictionary look-up."""

    _REMEMBERED = 256  # headers differ by kid and alg only; a flood of others just clears the memory

    def __init__(self, algorithms: frozenset[str], token_type: str | None) -> None:
        self._algorithms = algorithms
        self._types = _media_types(token_type) if token_type is not None else None
        #: Header segments already checked, and what they say (verify_compact looks here first).
        self.checked: dict[bytes, ProtectedHeader] = {}

    def read(self, segment: bytes) -> ProtectedHeader:
        header = self.checked.get(segment)
        if header is None:
            if len(segment) > MAX_HEADER_SEGMENT:
                raise InvalidToken("the token header is too large")
            header = self._check(parse_json_object(decode_segment(segment), header=True))
            if len(self.checked) >= self._REMEMBERED:
                self.checked.clear()
            self.checked[segment] = header
        return header

    def _check(self, header: dict[str, Any]) -> ProtectedHeader:
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise InvalidToken("the token names no algorithm")
        if alg not in self._algorithms:
            if alg.lower() == "none":
                raise InvalidToken("unsigned tokens are not accepted")
            raise InvalidToken("the token's algorithm is not accepted")
        if "crit" in header:
            raise InvalidToken("the token requires an extension this API does not support")
        if self._types is not None:
            typ = header.get("typ")
            if not isinstance(typ, str) or typ.lower() not in self._types:
                raise InvalidToken("the token is not an access token")
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH):
            raise InvalidToken("the token's key id is malformed")
        return ProtectedHeader(alg, kid)


def _media_types(token_type: str) -> frozenset[str]:
    """RFC 7515 §4.1.9: `typ` may omit the `application/` prefix and compares case-insensitively."""
    short = token_type.lower().removeprefix("application/")
    return frozenset({short, "application/" + short})


def verify_compact(token: str, keys: KeySet, rules: HeaderRules, max_length: int) -> tuple[bytes, VerificationKey]:
    """The payload of a compact JWS whose signature verifies with one of `keys`, and that key.

    Raises InvalidToken, or its subclass UnknownKey when the token names a kid `keys` lacks. One function,
    in the order of the module docstring: it runs for every token seen for the first time, and each call
    or object less is measurable next to a signature check (benchmarks/guard.py).
    """
    if not isinstance(token, str):
        raise InvalidToken("the token is malformed")
    if len(token) > max_length:
        raise InvalidToken("the token is too large")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken("the token is malformed") from None
    segments = raw.translate(_TO_STANDARD_ALPHABET).split(b".")
    if len(segments) != 3:
        if len(segments) == 5:
            raise InvalidToken("encrypted tokens (JWE) are not accepted")
        raise InvalidToken("the token is malformed")
    header_segment, payload_segment, signature_segment = segments
    if not signature_segment:
        raise InvalidToken("unsigned tokens are not accepted")
    header = rules.checked.get(header_segment) or rules.read(header_segment)
    key = keys.by_kid.get(header.kid) or keys.select(header.kid)  # select: no kid, or an unknown one
    check = key.algorithms.get(header.alg)
    if check is None:
        raise InvalidToken("the token's algorithm does not match its key")
    try:
        signature = binascii.a2b_base64(signature_segment + _PADDING[len(signature_segment) & 3], strict_mode=True)
        payload = binascii.a2b_base64(payload_segment + _PADDING[len(payload_segment) & 3], strict_mode=True)
    except binascii.Error:
        raise InvalidToken("the token is malformed") from None
    try:
        valid = check(raw[: len(header_segment) + 1 + len(payload_segment)], signature)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise InvalidToken("the token's signature is invalid")
    return payload, key
