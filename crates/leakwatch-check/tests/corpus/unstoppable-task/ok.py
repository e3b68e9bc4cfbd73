import queue
import threading

stop = threading.Event()


def poll_until_stopped(q):
    while not stop.is_set():
        item = q.get(timeout=1)
        process(item)


def drain(q):
    while True:
        item = q.get()
        if item is None:
            break
        process(item)


def upload_view(request):
    q = queue.Queue()
    worker = threading.Thread(target=drain, args=(q,))
    worker.start()
    q.put(request.FILES["file"])
    q.put(None)
    worker.join()


def serve_forever(sock):
    while True:
        handle(sock.accept())


def main():
    threading.Thread(target=serve_forever, args=(listen(),), daemon=True).start()


def handler(request):
    t = threading.Thread(target=poll_until_stopped, args=(queue.Queue(),))
    t.start()
