class Notifier
  include Singleton

  def initialize
    @sent = []
  end

  def deliver(user, msg)
    @listeners ||= {}
    @listeners[user.id] = msg # expect: unbounded-cache
    ActiveSupport::Notifications.instrument("notify", user: user.id)
    @sent << msg
    @sent.shift if @sent.size > 50
  end

  def around(request)
    ActiveSupport::Notifications.subscribe(/cache/) { |*e| request.env["cache"] = e } # expect: listener-leak
  end

  def watch_forever
    Thread.new do # expect: unstoppable-task
      while true
        check_queue
      end
    end
  end

  def watch_until_stopped
    Thread.new do
      loop do
        break if @stopped
        check_queue
      end
    end
  end

  def db
    c = Mysql2::Client.new(host: "db") # expect: unreleased-connection
    c.query("SELECT 1")
    nil
  end
end
