# gunicorn settings for the shop.
import multiprocessing

bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count() * 2 + 1  # expect: workers-not-recycled
timeout = 30
accesslog = "-"
