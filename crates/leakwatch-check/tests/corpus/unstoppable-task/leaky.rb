# Threads started per call that never end.
class MetricsController < ApplicationController
  def index
    Thread.new do # expect: unstoppable-task
      loop do
        Stats.flush
        sleep 10
      end
    end
    head :ok
  end
end

class Poller
  def start_polling(queue)
    Thread.new { while true do queue.pop.call end } # expect: unstoppable-task
  end
end

# The same watchdog shape, started per request.
module Heartbeat
  def self.start_pinger
    Thread.new do # expect: unstoppable-task
      loop do
        sleep 5
        ping
      end
    end
  end
end

class PingController
  def create
    Heartbeat.start_pinger
    head :ok
  end
end

# Kept in a variable that nothing stops.
class Poller
  def poll(feed)
    worker = Thread.new do # expect: unstoppable-task
      loop { feed.refresh; sleep 30 }
    end
    worker.name = "poller"
  end
end

# Kept in an attribute, but what is killed is another one.
class FeedPoller
  attr_accessor :poll_thread, :flush_thread

  def start
    self.poll_thread = Thread.new do # expect: unstoppable-task
      loop { poll; sleep 1 }
    end
  end

  def stop
    flush_thread&.kill
  end
end

# Started by a helper that the constructor calls: one thread per instance,
# and instances are made per connection.
class ChatHelper
  def initialize(client)
    @client = client
    @outbox = Queue.new
    start_delivery_thread
  end

  def start_delivery_thread
    @delivery = Thread.new do # expect: unstoppable-task
      loop { deliver(@outbox.pop) }
    end
  end
end

# The same pass-through thread assigned afresh: one more per command run.
class Relay
  def run_command(cmd)
    @stdin_queue ||= Queue.new
    @stdin_thread = Thread.new do # expect: unstoppable-task
      loop { @stdin_queue << $stdin.gets.chomp }
    end
    system(cmd)
  end
end

# The same helper running its own polling forever: one more thread per call.
module Poller
  def watch(feed)
    Thread.new do # expect: unstoppable-task
      loop { safe { poll(feed) } }
    end
  end
end

# The same helper, its threads kept but never stopped: `close` only empties
# the queue, and every `refill` after a worker died starts one more.
class LeakyPool
  def initialize(size)
    @queue = Queue.new
    @workers = Array.new(size)
  end

  def refill
    @workers.size.times do |i|
      @workers[i] = spawn_worker unless @workers[i]&.alive?
    end
  end

  def close
    @queue.clear
  end

  private

  def spawn_worker
    Thread.new(@queue) do |q| # expect: unstoppable-task
      loop { q.pop.call }
    end
  end
end
