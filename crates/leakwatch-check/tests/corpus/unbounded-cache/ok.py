import functools
from collections import OrderedDict

_price_cache = {}
MAX_ENTRIES = 10_000


def price_for(sku, currency):
    key = (sku, currency)
    if key in _price_cache:
        return _price_cache[key]
    if len(_price_cache) >= MAX_ENTRIES:
        _price_cache.clear()
    value = lookup_price(sku, currency)
    _price_cache[key] = value
    return value


_sessions = {}


def get_session(token):
    session = _sessions.get(token)
    if session is None:
        session = open_session(token)
        _sessions[token] = session
    return session


def end_session(token):
    _sessions.pop(token, None)


@functools.lru_cache(maxsize=1024)
def render_template(name, context_key):
    return compile_template(name).render(context_key)


class LRU:
    def __init__(self, size):
        self.data = OrderedDict()
        self.size = size

    def put(self, key, value):
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)


class ReportService:
    @staticmethod
    @functools.lru_cache(maxsize=128)
    def tax_rate(region):
        return load_rate(region)

    def monthly_total(self, month):
        return _monthly_total(self.db_name, month)


@functools.lru_cache(maxsize=128)
def _monthly_total(db_name, month):
    return query_total(db_name, month)


UNITS = {"kb": 1024, "mb": 1024 * 1024}


def to_bytes(n, unit):
    return n * UNITS[unit]


def per_request(items):
    seen = {}
    for item in items:
        seen[item.key] = item
    return seen


_instances = {}


class NamedCache:
    def __init__(self, name):
        # one shared store per configured cache name
        self._store = _instances.setdefault(name, {})


class Resolver:
    _resolved = {}

    def __init__(self):
        self._resolved = {}

    def resolve(self, host):
        if host not in self._resolved:
            self._resolved[host] = dns_lookup(host)
        return self._resolved[host]


class BoundedResolver:
    _resolved = {}

    def resolve(self, host):
        if len(self._resolved) > 1000:
            self._resolved.clear()
        if host not in self._resolved:
            self._resolved[host] = dns_lookup(host)
        return self._resolved[host]
