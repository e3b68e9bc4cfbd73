threads 5, 5
port ENV.fetch("PORT", 3000)
workers 4
preload_app!

before_fork do
  require "puma_worker_killer"
  PumaWorkerKiller.config do |config|
    config.ram = 1024 # MiB
    config.percent_usage = 0.90
  end
  PumaWorkerKiller.start
end
