# Look-alikes: bounded, evicted, per-instance or filled at boot.
class PriceService
  MAX = 10_000
  @@quotes = {}

  def quote(sku)
    @@quotes.clear if @@quotes.size > MAX
    @@quotes[sku] ||= fetch_quote(sku)
  end
end

class Session
  def initialize
    @cache = {}
  end

  def lookup(key)
    @cache[key] ||= load(key)
  end
end

TIMEZONES = {}
TZInfo::Timezone.all.each { |tz| TIMEZONES[tz.name] = tz }

class Tokens
  @@tokens = {}

  def issue(user)
    @@tokens[user.id] = SecureRandom.hex
  end

  def revoke(user)
    @@tokens.delete(user.id)
  end
end

# Registration APIs store what their callers hand them.
module Parallelization
  @@after_fork_hooks = []

  def self.after_fork_hook(&blk)
    @@after_fork_hooks << blk
  end
end
