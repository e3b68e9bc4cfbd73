# Look-alikes: loops with an exit, or one thread at boot.
class Worker
  def run_once(queue)
    Thread.new do
      loop do
        job = queue.pop
        break if job == :stop
        job.call
      end
    end
  end

  def poll
    Thread.new do
      until @stopping
        tick
      end
    end
  end
end

def setup_flusher
  Thread.new { loop { Stats.flush; sleep 10 } }
end

# A watchdog started once, from the file's top level (a boot script).
module Supervisor
  def self.start_watchdog
    Thread.new do
      loop do
        sleep 5
        notify_alive
      end
    end
  end
end

Supervisor.start_watchdog if ENV["WATCHDOG_USEC"]

# Progress dots killed when the command returns; an event thread kept in a
# class variable and killed by `stop`; a loop that runs in a forked child,
# not in the thread.
module Commands
  def self.signal(server, name)
    t = Thread.new { loop { sleep(1); print(".") } }
    server.signal(name)
    t.kill
  end

  def self.start_events
    @@events = Thread.new do
      loop { handle_events }
    end
  end

  def self.stop_events
    @@events.kill if @@events
  end

  def self.operational?
    Thread.new do
      pid = fork { loop { sleep(1) } }
      Process.kill("KILL", pid)
      Process.waitpid(pid)
    end
  end
end

# Kept in an attribute and killed through its reader when the run closes.
class ProgressFormatter
  attr_accessor :tick_thread

  def start(notification)
    self.tick_thread = Thread.new do
      loop do
        sleep(1)
        refresh(notification)
      end
    end
  end

  def close(_notification)
    tick_thread.kill
  end
end

# A heartbeat started by a method that only a set-up step calls, once per
# process (Sidekiq's reliable fetch: `setup_reliable_fetch!` at boot).
module ReliableFetch
  def self.setup_reliable_fetch!(config)
    config[:fetch] = new(config)
    start_heartbeat_thread
  end

  def self.start_heartbeat_thread
    Thread.new do
      loop do
        heartbeat
        sleep 20
      end
    end
  end
end

# Killed through safe navigation when the client shuts down.
class SessionFlusher
  def add_session(session)
    @pending << session
    ensure_thread
  end

  def kill
    @thread&.kill
  end

  def ensure_thread
    return if @thread&.alive?

    @thread = Thread.new do
      loop do
        sleep(60)
        flush
      end
    end
  end
end

# A pass-through thread memoized on first use: started at most once for the
# migration object a command-line run makes.
class Migration
  def run_command(cmd)
    @stdin_queue ||= Queue.new
    @stdin_thread ||= Thread.new do
      loop { @stdin_queue << $stdin.gets.chomp }
    end
    system(cmd)
  end
end

# A helper that runs whatever block its callers hand it on a thread of its
# own: they decide how many (a scheduler's few, at start).
module ExceptionUtil
  def daemon(&f)
    Thread.new do
      loop { safe { f.call } }
    end
  end
end

# A pool whose worker threads a helper method starts: the pool keeps each
# one (an element of its array) and kills them all in `close`, and starts a
# new one only where the old one died.
class WorkerPool
  def initialize(size)
    @queue = Queue.new
    @workers = Array.new(size)
  end

  def ensure_workers
    @workers.size.times do |i|
      @workers[i] = spawn_worker unless @workers[i]&.alive?
    end
  end

  def close
    @workers.each { |t| t&.exit }
    @workers.clear
  end

  private

  def spawn_worker
    Thread.new(@queue) do |q|
      loop { q.pop.call }
    end
  end
end

# A subscription whose reader thread a helper starts with arguments; the
# subscription keeps it and exits it when closed.
class Subscription
  def ensure_reader
    @reader = start_reader(@client, @events) unless @reader&.alive?
  end

  def close
    @reader.exit if @reader&.alive?
  end

  private

  def start_reader(client, events)
    Thread.new(client, events) do |c, q|
      loop { q << c.next_event }
    end
  end
end
