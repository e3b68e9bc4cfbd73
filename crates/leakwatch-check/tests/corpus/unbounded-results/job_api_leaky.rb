# Look-alikes of job_api_ok.rb: queues that are the application's own
# ActiveRecord models, one row per queued item, read whole on every run.
class QueueItem < ApplicationRecord
end

module Backlog
  class Queue < ApplicationRecord
  end
end

class QueueReportJob
  include Sidekiq::Job

  def perform
    QueueItem.all.each do |item| # expect: unbounded-results
      Statsd.gauge("items.#{item.id}.age", item.age)
    end
    Backlog::Queue.all.each do |queue| # expect: unbounded-results
      Statsd.gauge("backlog.#{queue.name}.size", queue.size)
    end
  end
end
