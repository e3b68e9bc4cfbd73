# A class-definition DSL: options are registered by subclasses in other
# files, each in its class body; methods only read the list.
class Pattern
  def self.supported_options(*list)
    @supported_options ||= []
    @supported_options.concat(list)
  end

  def self.start_watchdog
    Thread.new do
      loop do
        sleep 10
        report_alive
      end
    end
  end

  def supports?(option)
    self.class.supported_options.include?(option)
  end
end
