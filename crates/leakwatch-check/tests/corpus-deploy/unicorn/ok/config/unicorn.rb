worker_processes 4
listen "/run/unicorn.sock", backlog: 64
timeout 30
