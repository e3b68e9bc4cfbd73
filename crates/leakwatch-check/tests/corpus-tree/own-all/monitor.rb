class Monitor
  def queue_sizes
    JobQueue.all.map(&:size)
  end

  def user_names
    User.all.map(&:name) # expect: unbounded-results
  end
end
