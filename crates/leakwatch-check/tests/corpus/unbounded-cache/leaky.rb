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

# A registration-looking name on a memo: the value is computed from the key,
# which the caller takes from the request.
module Renderers
  @compiled = {}

  def self.add_template(template, options)
    @compiled[template] ||= Tilt.new(template, options) # expect: unbounded-cache
  end
end

# A String default is no bound: the key may come from input.
class Currency
  @@rates = {}

  def self.rate(code = "USD")
    @@rates[code] ||= fetch_rate(code) # expect: unbounded-cache
  end
end

# Keyed the same way but valued by a record: one entry per id.
class RecordLoader
  @records = {}

  def self.record_for(type, id)
    @records[id] ||= type.constantize.find(id) # expect: unbounded-cache
  end
end

# Keyed by a parameter's field: a record kept per id (whether the value is
# that parameter or another one: `@by_user[user.id] = msg` too).
module UserDirectory
  extend self

  @by_id = {}

  def remember(user, seen_at)
    @by_id[user.id] = user # expect: unbounded-cache
  end

  def find(id)
    @by_id[id]
  end
end

module Inbox
  extend self

  @last_message = {}

  def deliver(user, msg)
    @last_message[user.id] = msg # expect: unbounded-cache
  end

  def last_for(user)
    @last_message[user.id]
  end
end

# The callers take the template and the currency from the request.
get '/render' do
  Renderers.add_template(params[:template], {}).render
end

class PricesController < ApplicationController
  def index
    render json: Currency.rate(params[:currency])
  end
end

# The same index reached from a job's `perform`: one entry per job's path.
class LocateJob
  def perform(path)
    puts locate(path)
  end

  def locate(path)
    PathIndex.find_by_path(path)
  end
end

class PathIndex
  @@by_path = {}

  def self.find_by_path(path)
    @@by_path[path] ||= stubs.find { |s| s.contains?(path) } # expect: unbounded-cache
  end
end

# The same table keyed by the node's id: one entry per node ever visited.
class NodeVisitor
  SEEN = Hash.new { |h, k| h[k] = "visit_#{k}" }

  def perform(node)
    visit(node)
  end

  def visit(node)
    send SEEN[node.id], node # expect: unbounded-cache
  end
end

# The same hooks by name, but the name comes from the job: one entry per
# distinct kind of event the clients send.
class EventRelay
  HOOKS = Hash.new { |h, k| h[k] = [] }

  def perform(job)
    kind = job.kind
    hook kind, job.payload
  end

  def hook(name, *args)
    HOOKS[name].any? { |plugin| plugin[self, *args] } # expect: unbounded-cache
  end
end
