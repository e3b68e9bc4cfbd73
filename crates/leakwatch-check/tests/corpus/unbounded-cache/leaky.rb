# Caches in long-lived objects with no bound.
class PriceService
  @@quotes = {}

  def quote(sku)
    return @@quotes[sku] if @@quotes.key?(sku)
    @@quotes[sku] = fetch_quote(sku) # expect: unbounded-cache
  end
end

module Geo
  extend self

  def lookup(ip)
    @cache ||= {}
    @cache[ip] ||= resolve(ip) # expect: unbounded-cache
  end
end

USER_AGENTS = Hash.new { |h, k| h[k] = UserAgentParser.parse(k) }

get '/ua' do
  agent = USER_AGENTS[request.user_agent] # expect: unbounded-cache
  agent.browser
end
