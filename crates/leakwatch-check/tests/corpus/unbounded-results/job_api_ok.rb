# A Sidekiq job that reports queue sizes and latencies every minute
# (sidekiq-instrument): `Sidekiq::Queue.all` is one object per queue name
# in Redis's `queues` set, a handful set by configuration, not the rows of
# a table. sidekiq-cron's `Job.all` (one per schedule entry) and Resque's
# `Worker.all` (one per worker process) list the same kind of thing.
class QueueStatsJob
  include Sidekiq::Job

  def perform
    Sidekiq::Queue.all.each do |queue|
      Statsd.gauge("sidekiq.#{queue.name}.size", queue.size)
      Statsd.gauge("sidekiq.#{queue.name}.latency", queue.latency)
    end
    Sidekiq::Cron::Job.all.each do |job|
      Statsd.gauge("cron.#{job.name}.enabled", job.enabled? ? 1 : 0)
    end
    Resque::Worker.all.each do |worker|
      Statsd.gauge("resque.#{worker.id}.working", worker.working? ? 1 : 0)
    end
  end
end
