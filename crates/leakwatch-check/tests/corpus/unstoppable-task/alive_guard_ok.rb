# One flusher thread per transporter: `start_thread` returns at once while
# the last one is alive, and the transporter is the process's one.
class SnapshotShipper
  def self.transport(snapshot)
    @shipper ||= new
    @shipper.ship(snapshot)
  end

  def initialize
    @buffer = []
    @lock = Mutex.new
    @thread = nil
  end

  def ship(snapshot)
    @lock.synchronize do
      @buffer << snapshot
      @buffer.shift if @buffer.size > 100
      start_thread
    end
  end

  private

  def start_thread
    return if @thread&.alive?
    @thread = Thread.new do
      while true
        sleep 30
        flush
      end
    end
  end
end
