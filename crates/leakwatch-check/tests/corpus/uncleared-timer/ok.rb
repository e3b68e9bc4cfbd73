# Look-alikes: timers kept and shut down; one timer at boot.
class Session
  def start(user)
    @task = Concurrent::TimerTask.new(execution_interval: 30) { refresh(user) }
    @task.execute
  end

  def stop
    @task.shutdown
  end

  def watch(conn)
    timer = EM.add_periodic_timer(5) { conn.ping }
    conn.on_close { timer.cancel }
  end
end

def setup_metrics
  Concurrent::TimerTask.new(execution_interval: 60) { Metrics.flush }.execute
end
