"""A small worker for `leakwatch where -- python3 ...`'s test: one leaking
line among request-scoped churn and a bounded cache.

Every millisecond or so it handles a "request": builds scratch strings that
live while the request is in flight (the last 20 requests are; older ones
die: churn), looks a key up in an LRU cache bounded at
2000 entries, and every 10th request keeps a session record in a list that
is never emptied (the leak, in remember_session). It prints a heartbeat
line every half second, and on SIGTERM says how many requests it handled.
"""

import collections
import signal
import sys
import time

sessions = []
in_flight = collections.deque(maxlen=20)
cache = collections.OrderedDict()
handled = 0


def remember_session(n):
    sessions.append(bytearray(200))  # the leak: never removed


def scratch_work(n):
    scratch = [str(i + n) * 4 for i in range(50)]
    in_flight.append(scratch)
    return len(scratch)


def cached_lookup(n):
    key = n % 5000
    value = cache.get(key)
    if value is None:
        value = cache[key] = bytearray(100)
        if len(cache) > 2000:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


def stop(signum, frame):
    # On a line of its own: the signal may land between a heartbeat's text
    # and its newline (print writes them separately).
    sys.stdout.write("\nterminated after %d requests\n" % handled)
    sys.stdout.flush()
    sys.exit(0)


def main():
    global handled
    signal.signal(signal.SIGTERM, stop)
    next_beat = time.monotonic()
    while True:
        scratch_work(handled)
        cached_lookup(handled)
        if handled % 10 == 0:
            remember_session(handled)
        handled += 1
        if time.monotonic() >= next_beat:
            print("beat %d" % handled, flush=True)
            next_beat += 0.5
        time.sleep(0.001)


if __name__ == "__main__":
    main()
