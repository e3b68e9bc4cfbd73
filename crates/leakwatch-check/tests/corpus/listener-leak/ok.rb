# Look-alikes: subscribed once at boot, scoped, or unsubscribed.
ActiveSupport::Notifications.subscribe("sql.active_record") { |*args| Metrics.sql(args) }

class QueryCounter
  def count
    n = 0
    callback = ->(*) { n += 1 }
    ActiveSupport::Notifications.subscribed(callback, "sql.active_record") { yield }
    n
  end

  def watch
    @sub = ActiveSupport::Notifications.subscribe("cache_read.active_support") { |*a| log(a) }
  end

  def stop
    ActiveSupport::Notifications.unsubscribe(@sub)
  end
end

module Setup
  def self.configure
    EventBus.subscribe(:order_created) { |o| log(o) }
  end
end

# A wrapper API: what is monitored is the caller's argument.
module Supervision
  def monitor(actor)
    Actor.monitor(actor)
  end
end
