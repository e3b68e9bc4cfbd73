import atexit

import pandas as pd

_REPORTS = {}


def _flush():
    log.info("bye")


atexit.register(_flush)


def register_report(name, path):
    df = pd.read_csv(path)
    summary = df.describe().to_dict()
    _REPORTS[name] = lambda: summary_text(name)


def handle(request):
    data = request.files["data"].read()
    size = len(data)
    return lambda: size
