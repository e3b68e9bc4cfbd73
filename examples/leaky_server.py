# A small HTTP server that keeps a record of every request in a module-level
# list "for debugging" and never trims it: memory grows with traffic.
# Usage: python3 examples/leaky_server.py PORT
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

request_log = []  # grows forever


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        request_log.append({"path": self.path, "headers": dict(self.headers), "pad": "x" * 2048})
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
