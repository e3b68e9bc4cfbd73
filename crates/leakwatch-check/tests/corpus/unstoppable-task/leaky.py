import queue
import threading


def poll_forever(q):
    while True:
        item = q.get()
        process(item)


def upload_view(request):
    q = queue.Queue()
    worker = threading.Thread(target=poll_forever, args=(q,), daemon=True)  # expect: unstoppable-task
    worker.start()
    q.put(request.FILES["file"])


def heartbeat(conn):
    while True:
        conn.ping()
        sleep(5)


def on_connect(conn):
    threading.Thread(target=heartbeat, args=(conn,)).start()  # expect: unstoppable-task
