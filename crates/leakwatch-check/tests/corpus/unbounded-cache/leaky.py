import functools

_price_cache = {}


def price_for(sku, currency):
    key = (sku, currency)
    if key in _price_cache:
        return _price_cache[key]
    value = lookup_price(sku, currency)
    _price_cache[key] = value  # expect: unbounded-cache
    return value


user_profiles = dict()


def profile(user_id):
    cached = user_profiles.get(user_id)
    if cached is None:
        cached = load_profile(user_id)
        user_profiles[user_id] = cached  # expect: unbounded-cache
    return cached


@functools.lru_cache(maxsize=None)  # expect: unbounded-cache
def render_template(name, context_key):
    return compile_template(name).render(context_key)


@functools.cache  # expect: unbounded-cache
def tokenize(text):
    return text.split()


class ReportService:
    def __init__(self, db):
        self.db = db

    @functools.lru_cache(maxsize=256)  # expect: unbounded-cache
    def monthly_total(self, month):
        return self.db.sum_for(month)


class Resolver:
    _resolved = {}

    def resolve(self, host):
        if host in self._resolved:
            return self._resolved[host]
        addr = dns_lookup(host)
        self._resolved[host] = addr  # expect: unbounded-cache
        return addr
