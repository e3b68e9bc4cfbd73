# Look-alikes: timers kept and shut down; one timer at boot.
class Session
  def start(user)
    @task = Concurrent::TimerTask.new(execution_interval: 30) { refresh(user) }
    @task.execute
  end

  def stop
    @task.shutdown
  end

  def watch(conn)
    timer = EM.add_periodic_timer(5) { conn.ping }
    conn.on_close { timer.cancel }
  end
end

def setup_metrics
  Concurrent::TimerTask.new(execution_interval: 60) { Metrics.flush }.execute
end

# A timer kept in `@timer ||=` and cancelled by `stop_timer`; and a wrapper
# API whose callback is its caller's (EventMachine's own
# `add_periodic_timer`): the caller decides, and holds the handle.
class ResolverSocket
  def start_timer
    @timer ||= EM.add_periodic_timer(0.1) { tick }
  end

  def stop_timer
    EM.cancel_timer(@timer)
    @timer = nil
  end

  def self.every(*args, &block)
    interval = args.shift
    code = args.shift || block
    EventMachine::PeriodicTimer.new(interval, code)
  end
end

# A test runner's screen: its one poller and its one subscriber, set up
# by `start` for the life of the command; the timer's block makes its own
# locals each tick and keeps nothing of the call.
module Runner
  extend self

  def start
    run
    EM.add_periodic_timer(1) do
      mtimes = current_mtimes
      publish(mtimes) unless mtimes == @mtimes
    end
  end

  def run
    Bus.subscribe("/results") do |details|
      session = Sessions.find(details[:session_id])
      tab = Tabs.find(session.id) || Tabs.create(id: session.id)
      tab.draw
    end
  end
end
