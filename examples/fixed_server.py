# The fix for leaky_server.py: the request log is a bounded deque that keeps
# only the last 1,000 requests, so memory levels off under load.
# Usage: python3 examples/fixed_server.py PORT
import collections
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

request_log = collections.deque(maxlen=1000)


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
