import os

bind = "0.0.0.0:8000"
workers = 5
max_requests = int(os.environ.get("MAX_REQUESTS", "1000"))
max_requests_jitter = 100
