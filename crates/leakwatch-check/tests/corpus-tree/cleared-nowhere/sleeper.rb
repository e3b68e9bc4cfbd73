# Fibers asleep until a time; the scheduler, in another file, drops them
# through an alias of the same constant.
module Sleeper
  NAPS = {}

  def self.nap(seconds)
    NAPS[Fiber.current] = Time.now + seconds # expect: global-accumulator
    Fiber.yield
  end
end

class NapJob
  def perform(job)
    Sleeper.nap(job.delay)
  end
end
