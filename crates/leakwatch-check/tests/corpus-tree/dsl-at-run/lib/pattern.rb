# The same DSL, but another file also calls it with data per request.
class Pattern
  def self.supported_options(*list)
    @supported_options ||= []
    @supported_options.concat(list) # expect: global-accumulator
  end

  def self.start_watchdog
    Thread.new do # expect: unstoppable-task
      loop do
        sleep 10
        report_alive
      end
    end
  end
end
