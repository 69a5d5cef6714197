"""Multibase (base58btc) and Ed25519 keys in multicodec form: the key and signature
encodings of Data Integrity proofs."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58)}
ED25519_PUB_PREFIX = b"\xed\x01"  # multicodec ed25519-pub
ED25519_PRIV_PREFIX = b"\x80\x26"  # multicodec ed25519-priv


# --- Multibase -----------------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_ones = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_ones + body


def multibase_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise ValueError("only base58btc multibase values (starting with z) are supported")
    return b58decode(text[1:])


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its Multikey form (`z6Mk...`); ValueError if it is not one."""
    raw = multibase_decode(text)
    if not raw.startswith(ED25519_PUB_PREFIX) or len(raw) != 34:
        raise ValueError("not an Ed25519 public key in multicodec form")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def is_public_key_multibase(text: str) -> bool:
    try:
        public_key_from_multibase(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_multibase(cls, text: str) -> SigningKey:
        """Parse `z3u2...`: multibase base58btc of multicodec ed25519-priv + 32-byte seed."""
        try:
            raw = multibase_decode(text.strip())
        except ValueError as exc:
            raise ValueError(f"OB_SIGNING_KEY is malformed: {exc}") from None
        if not raw.startswith(ED25519_PRIV_PREFIX) or len(raw) != 34:
            raise ValueError(
                "OB_SIGNING_KEY is malformed: expected an Ed25519 private key in multibase "
                "(multicodec 0x1300 + 32 bytes, base58btc, starting with z3u2)"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(raw[2:]))

    def to_multibase(self) -> str:
        seed = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return "z" + b58encode(ED25519_PRIV_PREFIX + seed)

    @property
    def public_multibase(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "z" + b58encode(ED25519_PUB_PREFIX + raw)
