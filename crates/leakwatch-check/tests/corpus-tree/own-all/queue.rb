# Sidekiq-style: a class with its own `all` (queue names from Redis).
class JobQueue
  def self.all
    REDIS.smembers("queues").map { |name| new(name) }
  end
end
