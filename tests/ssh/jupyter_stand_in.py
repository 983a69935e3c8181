"""Plays Jupyter's part for the tests (Jupyter is not installed here): listens on 127.0.0.1:PORT and
answers 200 only to requests carrying `?token=$JUPYTER_TOKEN`, 403 to any other."""

import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        token = parse_qs(urlparse(self.path).query).get("token", [""])[0]
        good = bool(token) and token == os.environ.get("JUPYTER_TOKEN")
        body = b"notebook\n" if good else b"invalid credentials\n"
        self.send_response(200 if good else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
