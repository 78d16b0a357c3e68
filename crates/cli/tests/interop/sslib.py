"""securesystemslib's side of the DSSE interop test.

keys DIR                       write ed25519 and ecdsa (P-256) private and public PEM files
sign PRIVATE_PEM PAYLOAD OUT   sign PAYLOAD as an in-toto DSSE envelope (or add a signature to OUT)
verify ENVELOPE VKEY           verify a Concordat envelope with Envelope.verify, printing the keyid
"""

import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def write_keys(directory):
    for name, private in (
        ("ed25519", ed25519.Ed25519PrivateKey.generate()),
        ("ecdsa", ec.generate_private_key(ec.SECP256R1())),
    ):
        with open(os.path.join(directory, name + ".pem"), "wb") as f:
            f.write(private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ))
        with open(os.path.join(directory, name + ".pub.pem"), "wb") as f:
            f.write(private.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            ))


def sign(private_pem, payload_path, out_path):
    with open(private_pem, "rb") as f:
        private = serialization.load_pem_private_key(f.read(), password=None)
    signer = CryptoSigner(private)
    if os.path.exists(out_path):
        with open(out_path) as f:
            envelope = Envelope.from_dict(json.load(f))
    else:
        with open(payload_path, "rb") as f:
            envelope = Envelope(f.read(), PAYLOAD_TYPE, {})
    envelope.sign(signer)
    with open(out_path, "w") as f:
        json.dump(envelope.to_dict(), f)


def verify(envelope_path, verifier_key):
    # A C2SP verifier key: name+keyid+base64(0x01 || 32-byte Ed25519 public key).
    raw = base64.b64decode(verifier_key.strip().split("+", 2)[2])
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keyid = hashlib.sha256(der).hexdigest()
    key = SSlibKey.from_crypto(public, keyid=keyid, scheme="ed25519")
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    accepted = envelope.verify([key], 1)
    print(",".join(accepted))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "keys":
        write_keys(sys.argv[2])
    elif command == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + command)
