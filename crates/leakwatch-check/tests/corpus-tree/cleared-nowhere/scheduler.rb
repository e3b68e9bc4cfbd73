# Reads the naps, never removes one.
module Scheduler
  def self.due
    now = Time.now
    Sleeper::NAPS.select { |_fiber, wake| now >= wake }.keys
  end
end
