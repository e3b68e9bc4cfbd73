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

# Each login starts one more refresh timer; each connection job one more
# ping timer.
class SessionsController < ApplicationController
  def create
    Session.new.start(User.find(params[:id]))
  end
end

class PingJob
  def perform(conn_id)
    Session.new.watch(Connection.find(conn_id))
  end
end
