#!/usr/bin/python3
"""Independent checks of `esp keys` and `esp token` with Google's and PyJWT's libraries.

Usage: /usr/bin/python3 service_accounts.py COMMAND ...

  load-key FILE
      Loads a service account key file with google-auth the ways clients do
      (google.oauth2.service_account.Credentials.from_service_account_file and
      google.auth.crypt.RSASigner.from_service_account_file), signs a token with that signer
      (iss = sub = the account's email, aud "esp-test"; segments unpadded as google-auth >= 1.6.3
      writes them) and prints JSON: {"email", "signer_email", "project_id", "key_id", "token"}.
  verify-pyjwt --jwks-url URL --token TOKEN --issuer ISS --audience AUD
      Fetches the JWKS with PyJWT's PyJWKClient, verifies the token with jwt.decode (RS256,
      audience and issuer checked) and prints JSON: {"header", "payload"}.
  verify-google-auth --certs-url URL --token TOKEN --audience AUD
      Fetches the X.509 certificate map and verifies the token with
      google.auth.jwt.decode(token, certs=MAP, audience=AUD); prints the payload as JSON.
  google-key --email EMAIL --out FILE
      Writes a key file shaped exactly as Google issues them (json.dump, two-space indent,
      PKCS#8 PEM with "\\n" escapes), made with the cryptography package.

Any failure: a message on stderr and exit code 1.
"""
import argparse
import base64
import json
import secrets
import sys
import time
import urllib.parse
import urllib.request

import google.auth.crypt
import google.auth.jwt
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def load_key(args):
    credentials = service_account.Credentials.from_service_account_file(args.file)
    signer = google.auth.crypt.RSASigner.from_service_account_file(args.file)
    now = int(time.time())
    email = credentials.service_account_email
    payload = {"iat": now, "exp": now + 3600, "aud": "esp-test", "iss": email, "sub": email,
               "email": "user@example.com"}
    # google.auth.jwt.encode as google-auth >= 1.6.3 does it: Debian's 1.5.1 pads segments with "=",
    # which strict JWS parsers (the proxy's) refuse.
    header = {"typ": "JWT", "alg": "RS256", "kid": signer.key_id}
    signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(payload).encode())
    token = (signing_input + b"." + _b64(signer.sign(signing_input))).decode("ascii")
    print(json.dumps({"email": email, "project_id": credentials.project_id,
                      "key_id": signer.key_id, "signer_email": credentials.signer_email, "token": token}))


def verify_pyjwt(args):
    client = jwt.PyJWKClient(args.jwks_url)
    signing_key = client.get_signing_key_from_jwt(args.token)
    payload = jwt.decode(args.token, signing_key.key, algorithms=["RS256"], audience=args.audience,
                         issuer=args.issuer)
    print(json.dumps({"header": jwt.get_unverified_header(args.token), "payload": payload}))


def verify_google_auth(args):
    with urllib.request.urlopen(args.certs_url, timeout=10) as response:
        certs = json.load(response)
    payload = google.auth.jwt.decode(args.token, certs=certs, audience=args.audience)
    print(json.dumps(payload))


def google_key(args):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    project = args.email.split("@", 1)[1].split(".", 1)[0]
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": args.email,
        "client_id": "1" + "".join(secrets.choice("0123456789") for _ in range(20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                + urllib.parse.quote(args.email, safe=""),
        "universe_domain": "googleapis.com",
    }
    with open(args.out, "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    print(json.dumps({"key_id": info["private_key_id"]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("load-key")
    p.add_argument("file")
    p.set_defaults(run=load_key)
    p = commands.add_parser("verify-pyjwt")
    p.add_argument("--jwks-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--audience", required=True)
    p.set_defaults(run=verify_pyjwt)
    p = commands.add_parser("verify-google-auth")
    p.add_argument("--certs-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--audience", required=True)
    p.set_defaults(run=verify_google_auth)
    p = commands.add_parser("google-key")
    p.add_argument("--email", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=google_key)
    args = parser.parse_args()
    try:
        args.run(args)
    except Exception as error:  # noqa: BLE001 - the test reads the message
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
