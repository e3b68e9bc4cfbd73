import importlib
from collections import deque

RECENT = deque(maxlen=500)


def log_request(request):
    RECENT.append(request.path)


PENDING = []


def enqueue(item):
    PENDING.append(item)


def flush():
    batch = PENDING[:]
    PENDING.clear()
    send(batch)


_handlers = []


def register(fn):
    _handlers.append(fn)
    return fn


def collect(items):
    out = []
    for item in items:
        out.append(item)
    return out


seen = set()


def dedupe(event):
    if event.id in seen:
        return None
    if len(seen) > 100_000:
        seen.clear()
    seen.add(event.id)
    return event


jobs = {}


def start(job):
    jobs[job.id] = job


def finish(job):
    del jobs[job.id]


_current = [None]


def debugger():
    dbg = _current[0]
    if dbg is None:
        dbg = _current[0] = make_debugger()
    return dbg


_finalizers = set()


def connect_on_finalize(callback):
    _finalizers.add(callback)
    return callback


loaded_modules = {}


def load_modules(names):
    # Each module imported stays in sys.modules anyway: keeping it here too
    # costs a reference, not a copy.
    for name in names:
        loaded_modules[name] = importlib.import_module("plugins." + name)


class PrettyPrinter:
    # A singleton whose __init__ fills its own list once.
    def __init__(self):
        self.subprinters = []
        self.subprinters.append(StringPrinter())

    def __call__(self, value):
        for printer in self.subprinters:
            shown = printer(value)
            if shown is not None:
                return shown
        return None


pretty_printer = PrettyPrinter()
