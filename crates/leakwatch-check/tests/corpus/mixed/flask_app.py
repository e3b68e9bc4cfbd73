"""A small Flask service with a few classic leaks and their fixed twins."""
import functools
import logging
import sqlite3
import threading
import time
from collections import deque

from flask import Flask, jsonify, request

app = Flask(__name__)
log = logging.getLogger("svc")

_geo_cache = {}
_recent = deque(maxlen=1000)
_audit = []
_locks = {}


def geo(ip):
    hit = _geo_cache.get(ip)
    if hit is None:
        hit = lookup_geo(ip)
        _geo_cache[ip] = hit  # expect: unbounded-cache
    return hit


@app.route("/hit")
def hit():
    _recent.append(request.remote_addr)
    _audit.append((time.time(), request.path))  # expect: global-accumulator
    return jsonify(geo(request.remote_addr))


@app.route("/report")
def report():
    db = sqlite3.connect("app.db")  # expect: unreleased-connection
    rows = db.execute("SELECT * FROM visits").fetchall()  # expect: unbounded-results
    return jsonify(rows)


@app.route("/report2")
def report2():
    db = sqlite3.connect("app.db")
    try:
        rows = db.execute("SELECT * FROM visits ORDER BY ts DESC LIMIT 50").fetchall()
    finally:
        db.close()
    return jsonify(rows)


def lock_for(name):
    lock = _locks.get(name)
    if lock is None:
        lock = _locks[name] = threading.Lock()  # expect: unbounded-cache
    return lock


@functools.lru_cache(maxsize=64)
def settings(section):
    return load_settings(section)


@app.route("/upload", methods=["POST"])
def upload():
    fh = logging.FileHandler("/tmp/upload-%s.log" % request.args["id"])
    log.addHandler(fh)  # expect: listener-leak
    out = open("/tmp/upload.bin", "wb")  # expect: unclosed-resource
    out.write(request.data)
    return "ok"


@app.route("/upload2", methods=["POST"])
def upload2():
    with open("/tmp/upload.bin", "wb") as out:
        out.write(request.data)
    return "ok"
