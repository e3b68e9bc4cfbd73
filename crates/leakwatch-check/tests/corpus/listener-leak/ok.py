import logging

import cherrypy

from blinker import signal
from django.db.models.signals import post_save

logger = logging.getLogger(__name__)
order_created = signal("order-created")


def configure_logging(path):
    logger.addHandler(logging.FileHandler(path))


def get_logger(name):
    log = logging.getLogger(name)
    if not log.handlers:
        log.addHandler(logging.StreamHandler())
    return log


def on_save(sender, instance, **kwargs):
    audit(instance)


def track_user(request):
    post_save.connect(on_save)


def subscribe_client(client):
    order_created.connect(client.notify, weak=False)


def unsubscribe_client(client):
    order_created.disconnect(client.notify)


def job(path):
    handler = logging.FileHandler(path)
    logger.addHandler(handler)
    try:
        run_job()
    finally:
        logger.removeHandler(handler)


def connect_db(sock, address):
    sock.connect(address)


def serve(on_stop):
    # Blocks serving until the process ends: the stop hook is added once.
    cherrypy.engine.start()
    cherrypy.engine.subscribe("stop", on_stop)
    cherrypy.engine.block()


class DebugPrint:
    """A lazy singleton (VisTrails' shape): its constructor, which adds the
    warnings handler, runs once per process."""

    _instance = None

    @staticmethod
    def get_instance():
        if DebugPrint._instance is None:
            DebugPrint._instance = DebugPrint()
        return DebugPrint._instance

    def __init__(self):
        self.logger = logging.getLogger("app.debug")
        self.make_logger()

    def make_logger(self):
        warnings_logger = logging.getLogger("py.warnings")
        warnings_logger.addHandler(logging.StreamHandler())
