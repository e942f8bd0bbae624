# Independent check of the format-2 vectors from docs/FORMAT.md alone: parse the header, open the
# root key from the recovery / passkey / password slot (HKDF, AES-GCM, HPKE base mode written here
# over `cryptography` primitives, Argon2id from argon2-cffi), verify the header MAC.
import hmac, hashlib, json, sys, os
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

def hpke_open(sk_bytes, enc, info, aad, ct):
    sk = X25519PrivateKey.from_private_bytes(sk_bytes)
    pkR = raw(sk.public_key())
    dh = sk.exchange(X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + pkR
    eae_prk = lext(KEM_ID, b"", b"eae_prk", dh)
    shared = lexp(KEM_ID, eae_prk, b"shared_secret", kem_context, 32)
    psk_id_hash = lext(HPKE_ID, b"", b"psk_id_hash", b"")
    info_hash = lext(HPKE_ID, b"", b"info_hash", info)
    ctx = bytes([0]) + psk_id_hash + info_hash
    secret = lext(HPKE_ID, shared, b"secret", b"")
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
        assert s[0] == 2
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
        public = s[:p]; wrapped = s[p:p+60]; sealed = s[p+60:p+140]; assert p + 140 == len(s)
        slots.append(dict(kind=kind, salt=salt, cred=cred, params=params, public=public, wrapped=wrapped, sealed=sealed))
    return H, keyring_id, gen, slots

def open_slot(slot, kek, keyring_id, gen):
    sk = AESGCM(kek).decrypt(slot['wrapped'][:12], slot['wrapped'][12:], b"keepsake/v2/slot-aad" + keyring_id + slot['public'])
    aad = b"keepsake/v2/root-seal-aad" + keyring_id + gen.to_bytes(8, 'big') + slot['public']
    return hpke_open(sk, slot['sealed'][:32], b"keepsake/v2/hpke/root-key", aad, slot['sealed'][32:])

def recovery_secret(text):
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    sym = [alphabet.index(c) for c in text.replace('-', '').upper()][:58]
    bits = ''.join(format(v, '05b') for v in sym)[:256]
    return int(bits, 2).to_bytes(32, 'big')

d = sys.argv[1]; checked = 0
for name in sorted(os.listdir(d)):
    if not name.endswith('.json') or name.startswith('negative_'): continue
    v = json.load(open(os.path.join(d, name)))
    b = open(os.path.join(d, v['container_file']), 'rb').read()
    H, kid, gen, slots = parse(b)
    for u in v['unlock']:
        if 'root_key' in u: continue
        if 'recovery_key' in u:
            sec = recovery_secret(u['recovery_key']); s = [x for x in slots if x['kind'] == 2][0]
            kek = hkdf(sec, s['salt'], b"keepsake/v2/kek/recovery-key")
        elif 'password' in u:
            s = [x for x in slots if x['kind'] == 3][0]; m, t, p = s['params']
            st = hash_secret_raw(u['password'].encode(), s['salt'], time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID)
            kek = hkdf(st, s['salt'], b"keepsake/v2/kek/password")
        else:
            cred = bytes.fromhex(u['passkey']['credential_id']); prf = bytes.fromhex(u['passkey']['prf_output'])
            s = [x for x in slots if x['cred'] == cred][0]
            kek = hkdf(prf, s['salt'], b"keepsake/v2/kek/passkey" + len(cred).to_bytes(2, 'big') + cred)
        root = open_slot(s, kek, kid, gen)
        salt = b[22:54]
        mac_key = hkdf(root, salt, b"keepsake/v1/file/header-mac-key")
        assert hmac.compare_digest(hmac.new(mac_key, b[:H-32], hashlib.sha256).digest(), b[H-32:H]), name
        assert root.hex() == v['inputs']['root_key'], name
        checked += 1
print(f"opened {checked} slot unlocks independently, header MACs verified")
