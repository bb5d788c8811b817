"""Signed records: the publisher's HMAC-SHA256 over each record's value, checked by every consumer.

The hash chain proves that a ticket's events were not changed after the fact, but anyone who can
write to ``tickets.events`` can also compute a valid hash for an event of their own. A signature
under a secret only the publisher and the consumers hold closes that: the publisher adds two
headers to every record (docs/envelope.md), ``signature-key`` (the key id) and ``signature``
(the hex HMAC-SHA256 of the value bytes under that key); a consumer with keys configured refuses
a record without them, under an unknown key id, or whose MAC does not match, and sends it to
``tickets.dlq`` with the reason (the record is not ours, so nothing of it reaches a projection).

Several keys can verify at once, and one of them signs: that is how a key is rotated
(docs/kafka.md, "Rotating the signing key").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KEY_ID_HEADER = "signature-key"
SIGNATURE_HEADER = "signature"
#: The shortest secret accepted, in bytes (HMAC-SHA256's own block of security).
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class SigningKeys:
    """The secrets by key id; ``signing`` names the one the publisher signs with."""

    keys: Mapping[str, bytes]
    signing: str
    #: Each key's HMAC with the key already taken in: a copy per record costs a third less than
    #: ``hmac.digest``, which takes the key in again every time (the consumer's hot path).
    _keyed: Mapping[bytes, hmac.HMAC] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.signing not in self.keys:
            raise ValueError(f"signing key id {self.signing!r} is not among the keys")
        keyed = {k.encode("ascii"): hmac.new(secret, digestmod=hashlib.sha256)
                 for k, secret in self.keys.items()}
        object.__setattr__(self, "_keyed", keyed)

    def _mac(self, key_id: bytes, value: bytes) -> bytes:
        mac = self._keyed[key_id].copy()
        mac.update(value)
        return mac.hexdigest().encode("ascii")

    def sign(self, value: bytes) -> list[tuple[str, bytes]]:
        """The two headers that sign ``value``."""
        key_id = self.signing.encode("ascii")
        return [(KEY_ID_HEADER, key_id), (SIGNATURE_HEADER, self._mac(key_id, value))]

    def refusal(self, value: bytes, headers: Sequence[tuple[str, bytes]] | None) -> str | None:
        """Why the record (``value`` and its headers) is not signed by one of the keys, or None."""
        key_id = signature = None
        for name, content in headers or ():
            if name == KEY_ID_HEADER:
                key_id = content
            elif name == SIGNATURE_HEADER:
                signature = content
        if key_id is None or signature is None:
            return "unsigned record: no signature-key or signature header"
        if key_id not in self._keyed:
            return f"signed under an unknown key id {key_id[:64]!r}"
        if not hmac.compare_digest(self._mac(key_id, value), signature):
            return f"bad signature under key id {key_id.decode('ascii')!r}"
        return None


def parse_keys(text: str, signing: str | None, setting: str = "TICKETS_SIGNING_KEYS") -> SigningKeys:
    """``id:hexsecret,id:hexsecret`` (the first signs unless ``signing`` names another);
    ``ValueError`` naming ``setting`` and the rule otherwise."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key_id, colon, secret = item.partition(":")
        if not colon or not key_id or not key_id.isascii() or not key_id.replace("-", "").isalnum():
            raise ValueError(f"{setting}: each key must be ID:HEXSECRET with a letters, digits and "
                             f"'-' id, got an entry starting {item[:8]!r}")
        try:
            raw = bytes.fromhex(secret)
        except ValueError:
            raise ValueError(f"{setting}: the secret of key {key_id!r} must be hexadecimal") from None
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"{setting}: the secret of key {key_id!r} must be at least "
                             f"{MIN_SECRET_BYTES} bytes ({2 * MIN_SECRET_BYTES} hex digits)")
        if key_id in keys:
            raise ValueError(f"{setting}: key id {key_id!r} is given twice")
        keys[key_id] = raw
    if not keys:
        raise ValueError(f"{setting}: no key given")
    chosen = signing or next(iter(keys))
    if chosen not in keys:
        raise ValueError(f"TICKETS_SIGNING_KEY_ID: {chosen!r} is not a key id of {setting}")
    return SigningKeys(keys, chosen)
