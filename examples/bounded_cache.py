# The fix for leaky_cache.py: functools.lru_cache with a maxsize. Memory rises
# while the cache fills, then levels off: a plateau, not a leak.
import functools
import random
import time


@functools.lru_cache(maxsize=20000)
def load_user(uid):
    return {"id": uid, "name": "user%d" % uid, "roles": ["reader"] * 8, "blob": "u" * 300}


uid = 0
while True:
    for _ in range(40):
        uid += 1
        load_user(uid)
        scratch = [random.random() for _ in range(50)]
    time.sleep(0.02)
