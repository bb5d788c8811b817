"""AES-256-GCM sealing of one value, and the text a sealed value travels as.

``sealed:v1:<key id>:<nonce>:<ciphertext and tag>``, the last two base64url without padding. The
field's name is the associated data, so a sealed e-mail address cannot be passed off as a name.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tickets.domain.personal import SEALED_PREFIX

NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_value(cipher: AESGCM, key_id: str, name: str, value: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, value.encode("utf-8"), name.encode("utf-8"))
    return f"{SEALED_PREFIX}{key_id}:{_b64(nonce)}:{_b64(sealed)}"


def key_id_of(value: str) -> str | None:
    """The key id a sealed value names, or None if the text is not a well-formed sealed value."""
    parts = value[len(SEALED_PREFIX):].split(":")
    return parts[0] if len(parts) == 3 and parts[0] else None


def open_value(cipher: AESGCM, name: str, value: str) -> str | None:
    """The plaintext, or None when the value was changed or sealed under another key or name."""
    try:
        _key_id, nonce, sealed = value[len(SEALED_PREFIX):].split(":")
        return cipher.decrypt(_unb64(nonce), _unb64(sealed), name.encode("utf-8")).decode("utf-8")
    except (ValueError, InvalidTag):
        return None
