# Puma in cluster mode, workers never recycled.
max_threads = ENV.fetch("RAILS_MAX_THREADS", 5)
threads max_threads, max_threads
port ENV.fetch("PORT", 3000)
workers ENV.fetch("WEB_CONCURRENCY", 4) # expect: workers-not-recycled
preload_app!
