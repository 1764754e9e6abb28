#!/usr/bin/python3
"""Keys and JWTs made with independent libraries (cryptography, PyJWT, google-auth), for the
proxy's authentication tests.

Usage: /usr/bin/python3 tokens.py COMMAND ...

  keygen --out DIR --kid KID [--kty RSA|EC]
      A new key pair: DIR/key.pem (PKCS#8 private key), DIR/jwks.json (JWKS with the public
      key) and DIR/x509.json (Google's X.509 certificate map: {KID: self-signed certificate}).
  sa-key --email NAME@PROJECT.iam.gserviceaccount.com --out FILE [--publish DIR]
      A Google service account JSON key file. --publish also writes what Google publishes for
      the account: DIR/x509.json (robot/v1/metadata/x509/EMAIL) and DIR/jwks.json
      (service_accounts/v1/jwk/EMAIL), both keyed by private_key_id.
  pyjwt --key PEM --kid KID --alg RS256|ES256 --iss ISS --aud AUD [--aud AUD2 ...]
        [--sub SUB] [--email EMAIL] [--exp-in SECONDS] [--claims JSON]
      Prints a token made by PyJWT (jwt.encode). One --aud gives a string "aud", several a list.
      --claims adds members (a JSON object) to the payload.
  google-auth --file SA.json --issuer ISS --audiences AUD [--unpadded]
      Prints a token made exactly as the Cloud Endpoints sample's jwt_token_gen.py makes it:
      google.auth.crypt.RSASigner.from_string(private_key, private_key_id) and
      google.auth.jwt.encode with iat, exp = iat + 3600, aud, iss, sub = issuer and
      email "user@example.com". google-auth before 1.6.3 (Debian's is 1.5.1) pads each segment
      with "="; --unpadded makes the installed library encode as google-auth >= 1.6.3 does
      (googleapis/google-auth-library-python#324: segments without "=" padding).
"""
import argparse
import base64
import datetime
import json
import os
import secrets
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def _private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _b64url(number, length):
    return base64.urlsafe_b64encode(number.to_bytes(length, "big")).rstrip(b"=").decode("ascii")


def _jwk(public_key, kid):
    """The public key as a JWK, computed from the key's numbers (no JWT library involved)."""
    numbers = public_key.public_numbers()
    if isinstance(public_key, rsa.RSAPublicKey):
        n_length = (numbers.n.bit_length() + 7) // 8
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                "n": _b64url(numbers.n, n_length), "e": _b64url(numbers.e, (numbers.e.bit_length() + 7) // 8)}
    return {"kty": "EC", "alg": "ES256", "use": "sig", "kid": kid, "crv": "P-256",
            "x": _b64url(numbers.x, 32), "y": _b64url(numbers.y, 32)}


def _certificate_pem(key, common_name):
    """A self-signed certificate for the key, as in Google's X.509 certificate maps."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(name).issuer_name(name)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=10))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)


def _publish(directory, key, kid, common_name):
    os.makedirs(directory, exist_ok=True)
    _write_json(os.path.join(directory, "jwks.json"), {"keys": [_jwk(key.public_key(), kid)]})
    _write_json(os.path.join(directory, "x509.json"), {kid: _certificate_pem(key, common_name)})


def keygen(args):
    if args.kty == "EC":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "key.pem"), "w", encoding="ascii") as f:
        f.write(_private_pem(key))
    _publish(args.out, key, args.kid, args.kid)


def sa_key(args):
    email = args.email
    project = email.split("@", 1)[1].split(".", 1)[0] if "@" in email else "test-project"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": _private_pem(key),
        "client_email": email,
        "client_id": str(secrets.randbelow(10 ** 21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }
    _write_json(args.out, info)
    if args.publish:
        _publish(args.publish, key, key_id, email)


def pyjwt(args):
    import jwt  # PyJWT

    with open(args.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    now = int(time.time())
    payload = {"iss": args.iss, "aud": args.aud[0] if len(args.aud) == 1 else args.aud,
               "iat": now, "exp": now + args.exp_in}
    if args.sub is not None:
        payload["sub"] = args.sub
    if args.email is not None:
        payload["email"] = args.email
    if args.claims:
        payload.update(json.loads(args.claims))
    token = jwt.encode(payload, key, algorithm=args.alg, headers={"kid": args.kid})
    print(token if isinstance(token, str) else token.decode("ascii"))


def google_auth(args):
    import google.auth._helpers
    import google.auth.crypt
    import google.auth.jwt

    if args.unpadded and not hasattr(google.auth._helpers, "unpadded_urlsafe_b64encode"):
        # google-auth >= 1.6.3 encodes each segment with _helpers.unpadded_urlsafe_b64encode;
        # older versions call base64.urlsafe_b64encode (padded). Give the installed encode the
        # newer encoding; everything else (signer, header, json.dumps, signing input) is its own.
        class _Unpadded:
            @staticmethod
            def urlsafe_b64encode(data):
                return base64.urlsafe_b64encode(data).rstrip(b"=")

        google.auth.jwt.base64 = _Unpadded

    # From here on, the sample's generate_jwt(service_account_file, issuer, audiences).
    with open(args.file) as fh:
        service_account_info = json.load(fh)

    signer = google.auth.crypt.RSASigner.from_string(
        service_account_info["private_key"], service_account_info["private_key_id"]
    )

    now = int(time.time())

    payload = {
        "iat": now,
        "exp": now + 3600,
        "aud": args.audiences,
        "iss": args.issuer,
        "sub": args.issuer,
        "email": "user@example.com",
    }

    signed_jwt = google.auth.jwt.encode(signer, payload)
    print(signed_jwt.decode("utf-8"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("keygen")
    p.add_argument("--out", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--kty", choices=["RSA", "EC"], default="RSA")
    p.set_defaults(run=keygen)

    p = commands.add_parser("sa-key")
    p.add_argument("--email", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--publish")
    p.set_defaults(run=sa_key)

    p = commands.add_parser("pyjwt")
    p.add_argument("--key", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--alg", choices=["RS256", "ES256"], required=True)
    p.add_argument("--iss", required=True)
    p.add_argument("--aud", action="append", required=True)
    p.add_argument("--sub")
    p.add_argument("--email")
    p.add_argument("--exp-in", type=int, default=3600)
    p.add_argument("--claims")
    p.set_defaults(run=pyjwt)

    p = commands.add_parser("google-auth")
    p.add_argument("--file", required=True)
    p.add_argument("--issuer", default="")
    p.add_argument("--audiences", default="")
    p.add_argument("--unpadded", action="store_true")
    p.set_defaults(run=google_auth)

    args = parser.parse_args()
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
