worker_processes 4 # expect: workers-not-recycled
listen "/run/unicorn.sock", backlog: 64
timeout 30
preload_app true
