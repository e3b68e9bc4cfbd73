bind = "unix:/run/shop.sock"
workers = 3  # expect: workers-not-recycled
max_requests = 0
