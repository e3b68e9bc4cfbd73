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
