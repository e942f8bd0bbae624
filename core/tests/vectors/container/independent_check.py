# Independent check of the format-2 vectors from docs/FORMAT.md alone: parse the header, open the
# root key from the recovery / passkey / password slot (HKDF, AES-GCM, HPKE written here over
# `cryptography` primitives: base mode for version 2 slots, PSK mode keyed by the keyring
# authentication secret for version 3 slots; Argon2id from argon2-cffi, NFC from the standard
# library), verify the header MAC and, for version 3, the authentication secret the public keyring
# carries. The forged-seal negative vectors must fail: their PSK-mode open must not succeed.
#
# Usage: independent_check.py DIR [DIR...]   (each a directory of container vectors)
import hmac, hashlib, json, sys, os, unicodedata
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives import serialization
from argon2.low_level import hash_secret_raw, Type

def hkdf(ikm, salt, info, L=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t = b''; okm = b''; i = 1
    while len(okm) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
    return okm[:L]

def extract(salt, ikm): return hmac.new(salt, ikm, hashlib.sha256).digest()
def expand(prk, info, L):
    t = b''; okm = b''; i = 1
    while len(okm) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
    return okm[:L]

KEM_ID = b"KEM" + (0x20).to_bytes(2, 'big')
HPKE_ID = b"HPKE" + (0x20).to_bytes(2, 'big') + (1).to_bytes(2, 'big') + (2).to_bytes(2, 'big')
def lext(suite, salt, label, ikm): return extract(salt, b"HPKE-v1" + suite + label + ikm)
def lexp(suite, prk, label, info, L): return expand(prk, L.to_bytes(2, 'big') + b"HPKE-v1" + suite + label + info, L)

def raw(pub): return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def hpke_open(sk_bytes, enc, info, aad, ct, psk=b"", psk_id=b""):
    # RFC 9180 §5.1: mode 0x00 (base) without a PSK, 0x01 (psk) with one.
    sk = X25519PrivateKey.from_private_bytes(sk_bytes)
    pkR = raw(sk.public_key())
    dh = sk.exchange(X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + pkR
    eae_prk = lext(KEM_ID, b"", b"eae_prk", dh)
    shared = lexp(KEM_ID, eae_prk, b"shared_secret", kem_context, 32)
    mode = 1 if psk else 0
    psk_id_hash = lext(HPKE_ID, b"", b"psk_id_hash", psk_id)
    info_hash = lext(HPKE_ID, b"", b"info_hash", info)
    ctx = bytes([mode]) + psk_id_hash + info_hash
    secret = lext(HPKE_ID, shared, b"secret", psk)
    key = lexp(HPKE_ID, secret, b"key", ctx, 32)
    nonce = lexp(HPKE_ID, secret, b"base_nonce", ctx, 12)
    return AESGCM(key).decrypt(nonce, ct, aad)

def parse(b):
    assert b[:8] == bytes([0x89]) + b"KEEP\r\n\x1a"
    assert int.from_bytes(b[8:10], 'big') == 2
    H = int.from_bytes(b[10:14], 'big')
    keyring_id = b[54:70]; gen = int.from_bytes(b[102:110], 'big')
    n = int.from_bytes(b[118:120], 'big'); off = 120; slots = []
    for _ in range(n):
        L = int.from_bytes(b[off:off+2], 'big'); s = b[off+2:off+2+L]; off += 2 + L
        version = s[0]; assert version in (2, 3)
        kind = s[1]; salt = s[26:58]; ll = int.from_bytes(s[58:60], 'big'); p = 60 + ll
        cred = None; params = None
        if kind == 1:
            cl = int.from_bytes(s[p:p+2], 'big'); cred = s[p+2:p+2+cl]; p += 2 + cl
            rl = s[p]; p += 1 + rl
            p += 1 + (16 if s[p] == 1 else 0)
            p += 1
        elif kind == 3:
            params = (int.from_bytes(s[p:p+4], 'big'), int.from_bytes(s[p+4:p+8], 'big'), s[p+8]); p += 9
        p += 32
        wl = 60 if version == 2 else 92
        public = s[:p]; wrapped = s[p:p+wl]; sealed = s[p+wl:p+wl+80]; assert p + wl + 80 == len(s)
        slots.append(dict(version=version, kind=kind, salt=salt, cred=cred, params=params, public=public, wrapped=wrapped, sealed=sealed))
    return H, keyring_id, gen, slots

def open_slot(slot, kek, keyring_id, gen):
    """The root key and (version 3) the keyring authentication secret of a slot."""
    v = b"keepsake/v%d/" % slot['version']
    private = AESGCM(kek).decrypt(slot['wrapped'][:12], slot['wrapped'][12:], v + b"slot-aad" + keyring_id + slot['public'])
    aad = v + b"root-seal-aad" + keyring_id + gen.to_bytes(8, 'big') + slot['public']
    if slot['version'] == 2:
        return hpke_open(private, slot['sealed'][:32], b"keepsake/v2/hpke/root-key", aad, slot['sealed'][32:]), None
    sk, auth = private[:32], private[32:]
    psk = hkdf(auth, keyring_id, b"keepsake/v3/hpke/psk-key")
    root = hpke_open(sk, slot['sealed'][:32], b"keepsake/v3/hpke/root-key", aad, slot['sealed'][32:], psk, b"keepsake/v3/hpke/psk-name")
    return root, auth

def public_keyring_auth(public, root):
    """The authentication secret a version 3 public keyring carries (FORMAT.md §8)."""
    assert public[:5] == b"KSKR\x03"
    kid = public[5:21]; body, tag = public[:-32], public[-32:]
    mac_key = hkdf(root, kid, b"keepsake/v3/keyring/mac-key")
    assert hmac.compare_digest(hmac.new(mac_key, body, hashlib.sha256).digest(), tag)
    off = 5 + 16 + 32 + 8; n = public[off]; off += 1
    for _ in range(n):
        off += 2 + int.from_bytes(public[off:off+2], 'big')
    flags = public[off]; off += 1
    if not flags & 1:
        return None
    wrapped = public[off:off+60]
    key = hkdf(root, kid, b"keepsake/v3/keyring/auth-wrap-key")
    return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], b"keepsake/v3/keyring/auth-aad" + kid)

def recovery_secret(text):
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    sym = [alphabet.index(c) for c in text.replace('-', '').upper()][:58]
    bits = ''.join(format(v, '05b') for v in sym)[:256]
    return int(bits, 2).to_bytes(32, 'big')

def kek_for(u, slots):
    if 'recovery_key' in u:
        sec = recovery_secret(u['recovery_key']); s = [x for x in slots if x['kind'] == 2][0]
        return s, hkdf(sec, s['salt'], b"keepsake/v%d/kek/recovery-key" % s['version'])
    if 'password' in u:
        s = [x for x in slots if x['kind'] == 3][0]; m, t, p = s['params']
        # Version 3 slots stretch the NFC form of the password; version 2 the bytes as typed.
        typed = unicodedata.normalize('NFC', u['password']) if s['version'] == 3 else u['password']
        st = hash_secret_raw(typed.encode(), s['salt'], time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID)
        return s, hkdf(st, s['salt'], b"keepsake/v%d/kek/password" % s['version'])
    cred = bytes.fromhex(u['passkey']['credential_id']); prf = bytes.fromhex(u['passkey']['prf_output'])
    s = [x for x in slots if x['cred'] == cred][0]
    return s, hkdf(prf, s['salt'], b"keepsake/v%d/kek/passkey" % s['version'] + len(cred).to_bytes(2, 'big') + cred)

checked = 0; forged = 0
for d in sys.argv[1:]:
  for name in sorted(os.listdir(d)):
    if not name.endswith('.json'): continue
    v = json.load(open(os.path.join(d, name)))
    b = open(os.path.join(d, v['container_file']), 'rb').read()
    if name.startswith('negative_forged_root_seal'):
        # The store's seal: the user's secret opens the slot's private part, the seal must not open.
        H, kid, gen, slots = parse(b)
        s, kek = kek_for(v['unlock'][0], slots)
        assert s['version'] == 3
        AESGCM(kek).decrypt(s['wrapped'][:12], s['wrapped'][12:], b"keepsake/v3/slot-aad" + kid + s['public'])
        try:
            open_slot(s, kek, kid, gen)
        except InvalidTag:
            forged += 1; continue
        raise AssertionError(name + ": a forged seal opened")
    if name.startswith('negative_'): continue
    H, kid, gen, slots = parse(b)
    for u in v['unlock']:
        if 'root_key' in u: continue
        s, kek = kek_for(u, slots)
        root, auth = open_slot(s, kek, kid, gen)
        salt = b[22:54]
        mac_key = hkdf(root, salt, b"keepsake/v1/file/header-mac-key")
        assert hmac.compare_digest(hmac.new(mac_key, b[:H-32], hashlib.sha256).digest(), b[H-32:H]), name
        assert root.hex() == v['inputs']['root_key'], name
        if auth is not None:
            # The device keeps the same authentication secret in its public keyring.
            assert public_keyring_auth(bytes.fromhex(v['inputs']['keyring_public']), root) == auth, name
        checked += 1
assert forged >= 2, "the forged-seal negative vectors are missing"
print(f"opened {checked} slot unlocks independently (slot versions 2 and 3), header MACs and "
      f"authentication secrets verified; {forged} forged seals refused")
