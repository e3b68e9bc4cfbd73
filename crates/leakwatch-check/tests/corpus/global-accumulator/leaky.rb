# Process-wide collections that only grow.
AUDIT_LOG = []
$seen_ids = []

class EventsController < ApplicationController
  @@clicks = []

  def create
    AUDIT_LOG << { user: current_user.id, at: Time.now } # expect: global-accumulator
    $seen_ids.push(params[:id]) # expect: global-accumulator
    @@clicks << params[:target] # expect: global-accumulator
    head :ok
  end
end

# `module_function` (like `extend self` or `def self.x`) makes the methods
# the module's own: their @ivars live in the one module object.
module Breadcrumbs
  module_function

  def remember(path)
    @trail ||= []
    @trail << path # expect: global-accumulator
  end
end

# The same DSL shape, but a request handler also calls it with data: the
# store grows per request.
class TagSet
  def self.tags(*list)
    @tags ||= []
    @tags.concat(list) # expect: global-accumulator
  end

  tags :default

  def on_request(request)
    self.class.tags(request.params["tag"])
  end
end

# Every page view is remembered.
class PagesController < ApplicationController
  def show
    Breadcrumbs.remember(request.path)
  end
end

# The same class-level list, but a job adds a rule per message it handles:
# one more pattern and block for every job.
class RuleBook
  class << self
    def rule(expression, &block)
      @rules ||= []
      @rules.unshift([Pattern.new(expression), block]) # expect: global-accumulator
    end
  end
end

class RuleJob
  def perform(job)
    RuleBook.rule(job.pattern) { |m| m }
  end
end

# The same table, but filled with every id asked for and never reset: one
# more entry per distinct id.
module LicenseIndex
  def self.lookup(id)
    @@by_id ||= {}
    @@by_id[id] = fetch_license(id) # expect: global-accumulator
  end
end

# The module's own list, grown by every job.
module AuditRules
  class << self
    def rule(name)
      @rules ||= []
      @rules << name # expect: global-accumulator
    end
  end
end

class AuditJob
  def perform(job)
    AuditRules.rule(job.name)
  end
end
