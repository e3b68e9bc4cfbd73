import atexit
import functools
import sqlite3
import threading

_FEEDS = {}
_SEEN = set()


@functools.lru_cache(maxsize=None)  # expect: unbounded-cache
def parse_feed(url):
    return fetch(url)


@functools.lru_cache(maxsize=256)
def parse_small(url):
    return fetch(url)


def subscribe(request):
    feed = request.json()
    _SEEN.add(feed["url"])  # expect: global-accumulator
    atexit.register(lambda: persist(feed))
    return "ok"


def export(db_path):
    conn = sqlite3.connect(db_path)  # expect: unreleased-connection
    rows = conn.execute("SELECT * FROM items").fetchall()  # expect: unbounded-results
    return len(rows)


def one(conn, item_id):
    return conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchall()


def poll(request):
    t = threading.Thread(target=_forever, daemon=True)  # expect: unstoppable-task
    t.start()


def _forever():
    while True:
        refresh()
