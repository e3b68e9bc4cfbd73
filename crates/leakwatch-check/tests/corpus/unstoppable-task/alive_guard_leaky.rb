# The same shipper without the guard: every snapshot shipped starts one
# more flusher that loops forever.
class EagerShipper
  def initialize
    @buffer = []
    @lock = Mutex.new
  end

  def ship(snapshot)
    @lock.synchronize do
      @buffer << snapshot
      start_thread
    end
  end

  private

  def start_thread
    @thread = Thread.new do # expect: unstoppable-task
      while true
        sleep 30
        flush
      end
    end
  end
end
