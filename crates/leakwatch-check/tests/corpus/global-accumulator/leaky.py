import importlib
from collections import defaultdict

REQUEST_LOG = []
seen_ids = set()
_errors_by_user = defaultdict(list)
_latest = {}


def log_request(request):
    REQUEST_LOG.append((request.path, request.user.id))  # expect: global-accumulator


def dedupe(event):
    if event.id in seen_ids:
        return None
    seen_ids.add(event.id)  # expect: global-accumulator
    return event


def record_error(user, error):
    _errors_by_user[user.id].append(error)  # expect: global-accumulator


def remember(job):
    _latest[job.id] = job.result  # expect: global-accumulator


rendered_pages = {}


def render_page(request):
    # A page rendered per request, kept by request id: one entry per request.
    rendered_pages[request.id] = importlib.import_module("themes.default").render(request)  # expect: global-accumulator


class AuditTrail:
    # A singleton whose __init__ starts the list, then one entry per call.
    def __init__(self):
        self.entries = []
        self.entries.append("started")

    def record(self, request):
        self.entries.append((request.path, request.body))  # expect: global-accumulator


audit_trail = AuditTrail()
