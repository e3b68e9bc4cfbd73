"""The same tally behind a web endpoint: the process serves request after
request, and every colour name and request adds to the class-level stores."""
from collections import defaultdict

from flask import Flask, request

app = Flask(__name__)


class ListColours:
    _counts = defaultdict(int)
    _seen = []

    def modify_color(self, name, color):
        self._counts[color] += 1  # expect: global-accumulator
        self._seen.append((name, color))  # expect: global-accumulator
        return color


@app.post("/colours")
def colours():
    tally = ListColours()
    for name, color in request.json.items():
        tally.modify_color(name, color)
    return {"ok": True}


if __name__ == "__main__":
    app.run()
