# A small worker for `leakwatch where -- ruby ...`'s test: one leaking class
# among request-scoped churn and a bounded cache.
#
# Every millisecond or so it handles a "request": makes 50 RequestScratch
# objects that live while the request is in flight (the last 20 requests
# are; older ones die: churn), looks a key up in a cache bounded at
# 2000 entries (CacheEntry), and every 10th request keeps a LeakedSession in
# an array that is never emptied. It prints a heartbeat line every half
# second, and on SIGTERM says how many requests it handled.

class LeakedSession
  def initialize(id)
    @id = id
    @state = 'x' * 200
  end
end

class RequestScratch
  def initialize(i)
    @i = i
  end
end

class CacheEntry
  def initialize(key)
    @key = key
  end
end

SESSIONS = []
IN_FLIGHT = []
CACHE = {}
$handled = 0

Signal.trap('TERM') do
  puts "terminated after #{$handled} requests"
  $stdout.flush
  exit 0
end

next_beat = Process.clock_gettime(Process::CLOCK_MONOTONIC)
loop do
  IN_FLIGHT << Array.new(50) { |i| RequestScratch.new(i) }
  IN_FLIGHT.shift if IN_FLIGHT.size > 20
  key = $handled % 5000
  unless CACHE.key?(key)
    CACHE[key] = CacheEntry.new(key)
    CACHE.delete(CACHE.first[0]) if CACHE.size > 2000
  end
  SESSIONS << LeakedSession.new($handled) if ($handled % 10).zero?
  $handled += 1
  now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  if now >= next_beat
    puts "beat #{$handled}"
    $stdout.flush
    next_beat += 0.5
  end
  sleep 0.001
end
