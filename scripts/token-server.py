#!/usr/bin/python3
"""A Docker registry token service for Vigil's tests (the distribution token protocol).

GET /token?service=S&scope=repository:NAME:ACTIONS with HTTP basic credentials answers
{"token": JWT, "access_token": JWT}; the JWT is RS256-signed and carries the signing
certificate in its x5c header, which the registry checks against its rootcertbundle.
Wrong or missing credentials get 401, as a real token service answers.
"""
import argparse, base64, json, secrets, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

p = argparse.ArgumentParser()
for flag in ("--key", "--cert", "--user", "--password", "--issuer", "--service"):
    p.add_argument(flag, required=True)
p.add_argument("--port", type=int, required=True)
args = p.parse_args()
key = open(args.key, "rb").read()
cert = x509.load_pem_x509_certificate(open(args.cert, "rb").read())
x5c = [base64.b64encode(cert.public_bytes(Encoding.DER)).decode()]
expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token":
            return self.reply(404, {"error": "not found"})
        if self.headers.get("Authorization") != expected:
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        query = parse_qs(url.query)
        access = []
        for scope in query.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
        now = int(time.time())
        claims = {"iss": args.issuer, "sub": args.user, "aud": query.get("service", [args.service])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8),
                  "access": access}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": x5c})
        self.reply(200, {"token": token, "access_token": token, "expires_in": 300})

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *a):
        print(fmt % a, flush=True)


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
