# A request handler that caches every user it has ever seen: the cache has no
# bound and no eviction, so memory grows for as long as requests arrive.
import random
import time

cache = {}


def load_user(uid):
    return {"id": uid, "name": "user%d" % uid, "roles": ["reader"] * 8, "blob": "u" * 300}


def handle_request(uid):
    if uid not in cache:
        cache[uid] = load_user(uid)
    return cache[uid]


uid = 0
while True:
    for _ in range(40):
        uid += 1  # every request is a new user: the cache never hits
        handle_request(uid)
        scratch = [random.random() for _ in range(50)]  # per-request garbage
    time.sleep(0.02)
