"""A report tool run by hand; it imports nothing of the parser's."""
import sys

seen = []


def note(line):
    seen.append(line)


if __name__ == "__main__":
    for line in open(sys.argv[1]):
        note(line)
    print(len(seen))
