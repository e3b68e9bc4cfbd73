"""A WML parser: a library the tools import, with a command line of its
own for trying it out. The temporary files of every parse are kept for
removal at exit, so a program that parses for long keeps them all."""
import atexit
import os
import sys
import tempfile

tmpfiles_to_clean = []


@atexit.register
def cleaner():
    for name in tmpfiles_to_clean:
        os.remove(name)


def parse_text(text):
    fd, path = tempfile.mkstemp(suffix=".cfg")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmpfiles_to_clean.append(path)  # expect: global-accumulator
    lines = []
    with open(path) as f:
        for line in f:
            lines.append(line.strip())
    return lines


if __name__ == "__main__":
    print(parse_text(open(sys.argv[1]).read()))
