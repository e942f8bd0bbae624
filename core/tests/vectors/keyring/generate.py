#!/usr/bin/env python3
"""Independent reference implementation of the keyring layouts, used to write the vector files.

It follows the byte layouts documented in core/src/keyring/{slot,public,recovery_key}.rs and
core/src/crypto/{kdf,wrap}.rs, using Python's `cryptography` package, and shares no code with the
Rust implementation; core/tests/keyring_vectors.rs replays the files against the Rust code.

Run from this directory: python3 generate.py   (needs `cryptography`; not part of the test run)
"""
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEK_PASSKEY = b"keepsake/v1/kek/passkey"
KEK_RECOVERY_KEY = b"keepsake/v1/kek/recovery-key"
FILE_PAYLOAD_KEY = b"keepsake/v1/file/payload-key"
FILE_HEADER_MAC_KEY = b"keepsake/v1/file/header-mac-key"
KEYRING_MAC_KEY = b"keepsake/v1/keyring/mac-key"
SLOT_AAD = b"keepsake/v1/slot-aad"
RECOVERY_KEY_TAG = b"keepsake/v1/recovery-key/tag"
RECOVERY_KEY_CHECKSUM = b"keepsake/v1/recovery-key/checksum"

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GENERATOR = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
CHECKSUM_CONSTANT = int.from_bytes(hashlib.sha256(RECOVERY_KEY_CHECKSUM).digest()[:4], "big") >> 2


def seq(length, start):
    return bytes((start + i) & 0xFF for i in range(length))


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def passkey_kek(prf, salt, credential_id):
    return hkdf(prf, salt, KEK_PASSKEY + len(credential_id).to_bytes(2, "big") + credential_id)


def recovery_kek(secret, salt):
    return hkdf(secret, salt, KEK_RECOVERY_KEY)


def polymod(values):
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= GENERATOR[bit]
    return checksum


def recovery_key_string(secret):
    tag = hashlib.sha256(RECOVERY_KEY_TAG + secret).digest()
    bits = (int.from_bytes(secret, "big") << 34) | (int.from_bytes(tag[:5], "big") >> 6)
    data = [(bits >> (5 * (57 - i))) & 31 for i in range(58)]
    check = polymod(data + [0] * 6) ^ CHECKSUM_CONSTANT
    symbols = data + [(check >> (5 * (5 - i))) & 31 for i in range(6)]
    text = "".join(ALPHABET[s] for s in symbols)
    return "-".join(text[i : i + 4] for i in range(0, 64, 4))


def slot_public(slot):
    out = bytes([1, 1 if slot["kind"] == "passkey" else 2])
    out += slot["slot_id"] + slot["created_at"].to_bytes(8, "big") + slot["salt"]
    label = slot["label"].encode()
    out += len(label).to_bytes(2, "big") + label
    if slot["kind"] == "passkey":
        out += len(slot["credential_id"]).to_bytes(2, "big") + slot["credential_id"]
        rp_id = slot["rp_id"].encode()
        out += bytes([len(rp_id)]) + rp_id
        hint = slot["provider_hint"]
        out += b"\x00" if hint is None else b"\x01" + hint
    return out


def seal(slot, keyring_id, root):
    if slot["kind"] == "passkey":
        kek = passkey_kek(slot["prf_output"], slot["salt"], slot["credential_id"])
    else:
        kek = recovery_kek(slot["secret"], slot["salt"])
    public = slot_public(slot)
    aad = SLOT_AAD + keyring_id + public
    wrapped = slot["nonce"] + AESGCM(kek).encrypt(slot["nonce"], root, aad)
    return kek, aad, wrapped, public + wrapped


def public_keyring(root, keyring_id, prf_input, encodings):
    body = b"KSKR\x01" + keyring_id + prf_input + bytes([len(encodings)])
    for encoding in encodings:
        body += len(encoding).to_bytes(2, "big") + encoding
    mac_key = hkdf(root, keyring_id, KEYRING_MAC_KEY)
    return body + hmac.new(mac_key, body, hashlib.sha256).digest()


ROOT = seq(32, 0x00)
KEYRING_ID = seq(16, 0xA0)
PRF_INPUT = seq(32, 0xB0)
OTHER_KEYRING_ID = seq(16, 0xA1)

SLOTS = [
    {
        "kind": "passkey",
        "slot_id": seq(16, 0x10),
        "created_at": 1764000000,
        "salt": seq(32, 0x20),
        "nonce": seq(12, 0x40),
        "label": "Pixel 9 (Google Password Manager)",
        "credential_id": seq(32, 0xC0),
        "rp_id": "chat.example.com",
        "provider_hint": bytes.fromhex("ea9b8d664d011d213ce4b6b48cb575d4"),
        "prf_output": seq(32, 0x50),
    },
    {
        "kind": "passkey",
        "slot_id": seq(16, 0x18),
        "created_at": 1764000030,
        "salt": seq(32, 0x28),
        "nonce": seq(12, 0x48),
        "label": "",
        "credential_id": seq(16, 0x01),
        "rp_id": "chat.example.com",
        "provider_hint": None,
        "prf_output": seq(32, 0x58),
    },
    {
        "kind": "recovery_key",
        "slot_id": seq(16, 0x70),
        "created_at": 1764000060,
        "salt": seq(32, 0x80),
        "nonce": seq(12, 0xE0),
        "label": "Recovery key",
        "secret": seq(32, 0xF0),
    },
]


def slot_vector(slot):
    kek, aad, wrapped, encoding = seal(slot, KEYRING_ID, ROOT)
    vector = {
        "kind": slot["kind"],
        "slot_id": slot["slot_id"].hex(),
        "created_at": slot["created_at"],
        "salt": slot["salt"].hex(),
        "nonce": slot["nonce"].hex(),
        "label": slot["label"],
    }
    if slot["kind"] == "passkey":
        vector.update(
            credential_id=slot["credential_id"].hex(),
            rp_id=slot["rp_id"],
            provider_hint=None if slot["provider_hint"] is None else slot["provider_hint"].hex(),
            prf_output=slot["prf_output"].hex(),
        )
    else:
        vector["recovery_key"] = recovery_key_string(slot["secret"])
        vector["secret"] = slot["secret"].hex()
    vector.update(kek=kek.hex(), aad=aad.hex(), wrapped_key=wrapped.hex(), encoding=encoding.hex())
    return vector, encoding


def main():
    slot_vectors, encodings = zip(*(slot_vector(slot) for slot in SLOTS))
    keyring = {
        "description": "A keyring with two passkey slots and a recovery-key slot, built from "
        "fixed inputs. Each slot: inputs -> KEK, AAD, wrapped root key and canonical encoding. "
        "public_keyring: Keyring::to_public_bytes of the keyring with the slots in this order.",
        "root_key": ROOT.hex(),
        "keyring_id": KEYRING_ID.hex(),
        "prf_input": PRF_INPUT.hex(),
        "slots": list(slot_vectors),
        "public_keyring": public_keyring(ROOT, KEYRING_ID, PRF_INPUT, encodings).hex(),
    }

    file_salt = seq(32, 0x30)
    derivations = {
        "description": "HKDF-SHA256 derivations: per-file keys from the root key and a file salt, "
        "the keyring-MAC key from the root key and keyring id.",
        "file_keys": [
            {
                "root_key": ROOT.hex(),
                "file_salt": file_salt.hex(),
                "payload_key": hkdf(ROOT, file_salt, FILE_PAYLOAD_KEY).hex(),
                "header_mac_key": hkdf(ROOT, file_salt, FILE_HEADER_MAC_KEY).hex(),
            }
        ],
        "keyring_mac_key": [
            {
                "root_key": ROOT.hex(),
                "keyring_id": KEYRING_ID.hex(),
                "key": hkdf(ROOT, KEYRING_ID, KEYRING_MAC_KEY).hex(),
            }
        ],
    }

    canonical = recovery_key_string(seq(32, 0xF0))
    groups = canonical.split("-")
    lowercase_spaced = " ".join(groups).lower()
    # Substitute one character (position 6, group 2) with a different alphabet symbol.
    plain = canonical.replace("-", "")
    wrong_symbol = ALPHABET[(ALPHABET.index(plain[5]) + 1) % 32]
    one_wrong = plain[:5] + wrong_symbol + plain[6:]
    swapped_at = next(i for i in range(63) if plain[i] != plain[i + 1])
    swapped = plain[:swapped_at] + plain[swapped_at + 1] + plain[swapped_at] + plain[swapped_at + 2 :]
    recovery_keys = {
        "description": "Recovery key text: accepted spellings of the vector keyring's recovery "
        "key, and typos with the exact RecoveryKeyTypo detail.",
        "secret": seq(32, 0xF0).hex(),
        "canonical": canonical,
        "accepted": [canonical, plain, lowercase_spaced, plain.replace("0", "O").replace("1", "L")],
        "typos": [
            {"input": plain[:-1], "detail": "expected 64 characters, got 63"},
            {"input": plain + "0", "detail": "expected 64 characters, got 65"},
            {
                "input": plain[:16] + "U" + plain[17:],
                "detail": "invalid character 'U' at position 17 (group 5)",
            },
            {"input": one_wrong, "detail": "the character at position 6 (group 2) is wrong"},
            {
                "input": swapped,
                "detail": f"the characters at positions {swapped_at + 1} and {swapped_at + 2} look swapped",
            },
        ],
        "wrong_key": recovery_key_string(seq(32, 0x0F)),
    }

    passkey = SLOTS[0]
    moved = dict(SLOTS[2])
    _, _, _, moved_encoding = seal(moved, OTHER_KEYRING_ID, ROOT)

    def edited(offset, value):
        encoding = bytearray(encodings[0])
        encoding[offset] ^= value
        return encoding.hex()

    negative = {
        "description": "Unlock attempts against the vector keyring (keyring.json) that must fail "
        "with the named error. Each case: slots (hex encodings) given to the unlock, the secret, "
        "the error.",
        "keyring_id": KEYRING_ID.hex(),
        "unlock": [
            {
                "name": "wrong recovery key (valid checksum)",
                "slots": [e.hex() for e in encodings],
                "recovery_key": recovery_key_string(seq(32, 0x0F)),
                "error": "WrongKey",
            },
            {
                "name": "wrong PRF output",
                "slots": [e.hex() for e in encodings],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": seq(32, 0x51).hex(),
                "error": "WrongKey",
            },
            {
                "name": "PRF output of the other passkey",
                "slots": [e.hex() for e in encodings],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": SLOTS[1]["prf_output"].hex(),
                "error": "WrongKey",
            },
            {
                "name": "credential without a slot",
                "slots": [e.hex() for e in encodings],
                "credential_id": seq(32, 0xC1).hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "NoMatchingSlot",
            },
            {
                "name": "recovery slot copied from another keyring",
                "slots": [encodings[0].hex(), moved_encoding.hex()],
                "recovery_key": recovery_key_string(SLOTS[2]["secret"]),
                "error": "WrongKey",
            },
            {
                "name": "passkey slot label edited",
                "slots": [edited(2 + 16 + 8 + 32 + 2, 0x20)],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "WrongKey",
            },
            {
                "name": "passkey slot created_at edited",
                "slots": [edited(2 + 16 + 7, 0x01)],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "WrongKey",
            },
            {
                "name": "passkey slot id edited",
                "slots": [edited(2, 0x80)],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "WrongKey",
            },
            {
                "name": "passkey slot provider hint edited",
                "slots": [edited(len(encodings[0]) - 60 - 1, 0x01)],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "WrongKey",
            },
            {
                "name": "passkey slot wrapped key tag bit flipped",
                "slots": [edited(len(encodings[0]) - 1, 0x01)],
                "credential_id": passkey["credential_id"].hex(),
                "prf_output": passkey["prf_output"].hex(),
                "error": "WrongKey",
            },
        ],
        "decode": [
            {"name": "unsupported slot encoding version", "slot": "04" + encodings[2].hex()[2:], "error": "UnsupportedVersion"},
            {"name": "unknown slot kind", "slot": "0103" + encodings[2].hex()[4:], "error": "UnsupportedVersion"},
            {"name": "slot truncated by one byte", "slot": encodings[0].hex()[:-2], "error": "Truncated"},
            {"name": "slot with a trailing byte", "slot": encodings[0].hex() + "00", "error": "Corrupted"},
            {
                "name": "credential id length 1024 (limit 1023)",
                "slot": (encodings[0][:60 + 33] + (1024).to_bytes(2, "big") + encodings[0][60 + 33 + 2 :]).hex(),
                "error": "LimitExceeded",
            },
        ],
    }

    for name, content in [
        ("keyring.json", keyring),
        ("derivations.json", derivations),
        ("recovery_keys.json", recovery_keys),
        ("negative.json", negative),
    ]:
        with open(name, "w") as f:
            json.dump(content, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
