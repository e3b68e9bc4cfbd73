# The worker count in a variable first: still clustered, never recycled.
concurrency = Integer(ENV.fetch("WEB_CONCURRENCY", 3))
threads 5, 5
workers(concurrency) # expect: workers-not-recycled
preload_app!
