#!/usr/bin/env python3
"""Lists the colours a document uses: run once per document, as a process of
its own, so the class-level tally ends with the run."""
import sys
from collections import defaultdict


class ListColours:
    _counts = defaultdict(int)
    _seen = []

    def modify_color(self, name, color):
        self._counts[color] += 1
        self._seen.append((name, color))
        return color

    def run(self, path):
        with open(path) as doc:
            for line in doc:
                name, _, color = line.partition(":")
                self.modify_color(name, color.strip())
        for color, count in sorted(self._counts.items(), key=lambda v: -v[1]):
            print(f"{count}: {color}")


if __name__ == "__main__":
    ListColours().run(sys.argv[1])
