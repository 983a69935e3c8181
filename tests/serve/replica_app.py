"""A tiny HTTP replica for serve tests: listens on $PORT, answers who it is.

GET /            -> "rev=<REVISION> replica=<VESSL_TUI_REPLICA> pid=<pid>"
GET /health      -> "ok"
GET /env/NAME    -> the value of environment variable NAME
GET /header/NAME -> the value of request header NAME
GET /set-cookie  -> "ok" with `Set-Cookie: session=alice`
--burn           keeps one core busy
GET|POST /slow?ms=N -> the same answer after N milliseconds (to build up in-flight load)
GET|POST /dribble -> "first half|second half", the halves 50 ms apart; with DIE_MIDWAY=1 in its
                    environment the replica dies (exit 1) right after the first half
"""

import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/dribble":
            return self.dribble()
        if url.path == "/slow":
            time.sleep(int(parse_qs(url.query).get("ms", ["100"])[0]) / 1000)
        if url.path.startswith("/env/"):
            body = os.environ.get(url.path[5:], "").encode()
        elif url.path.startswith("/header/"):
            body = (self.headers.get(url.path[8:]) or "").encode()
        else:
            body = b"ok" if url.path == "/health" else (
                f"rev={os.environ.get('REVISION', '?')} replica={os.environ.get('VESSL_TUI_REPLICA', '?')} "
                f"pid={os.getpid()}".encode()
            )
        self.send_response(200)
        if url.path == "/set-cookie":
            self.send_header("Set-Cookie", "session=alice; Path=/")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlparse(self.path).path == "/dribble":
            return self.dribble()
        if urlparse(self.path).path == "/slow":
            return self.do_GET()
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def dribble(self):
        first, second = b"first half|", b"second half"
        self.send_response(200)
        self.send_header("Content-Length", str(len(first + second)))
        self.end_headers()
        self.wfile.write(first)
        self.wfile.flush()
        if os.environ.get("DIE_MIDWAY") == "1":
            os._exit(1)
        time.sleep(0.05)
        self.wfile.write(second)

    def log_message(self, *args):
        pass


if "--burn" in sys.argv:  # keep one core busy (CPU autoscaling tests)
    import threading

    def burn():
        while True:
            pass

    threading.Thread(target=burn, daemon=True).start()

ThreadingHTTPServer.daemon_threads = True
port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else int(os.environ["PORT"])
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
sys.stdout.flush()
server.serve_forever()
