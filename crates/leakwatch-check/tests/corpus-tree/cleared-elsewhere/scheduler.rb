module Scheduler
  NAPS = Sleeper::NAPS

  def self.tick
    now = Time.now
    NAPS.delete_if { |_fiber, wake| now >= wake }
  end
end
