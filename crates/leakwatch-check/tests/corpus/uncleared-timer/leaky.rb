# Periodic timers started per call and never stopped.
class Session
  def start(user)
    task = Concurrent::TimerTask.new(execution_interval: 30) { refresh(user) } # expect: uncleared-timer
    task.execute
  end

  def watch(conn)
    EM.add_periodic_timer(5) { conn.ping } # expect: uncleared-timer
  end
end
