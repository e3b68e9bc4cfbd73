import atexit

import pandas as pd

_REPORTS = {}
CALLBACKS = []


def upload(request):
    body = request.files["data"].read()
    atexit.register(lambda: log.info("upload %s", len(body)))  # expect: closure-capture
    return store(body)


def register_report(name, path):
    df = pd.read_csv(path)
    _REPORTS[name] = lambda: df.describe()  # expect: closure-capture


def on_batch(batch):
    payload = batch.read()
    CALLBACKS.append(lambda: checksum(payload))  # expect: closure-capture, global-accumulator
