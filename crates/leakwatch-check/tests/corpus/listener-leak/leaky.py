import logging

import cherrypy

from blinker import signal
from django.db.models.signals import post_save

logger = logging.getLogger(__name__)
order_created = signal("order-created")


def handle_upload(request, path):
    handler = logging.FileHandler(path)
    logger.addHandler(handler)  # expect: listener-leak
    logger.info("upload %s", path)


def track_user(request):
    def on_save(sender, instance, **kwargs):
        audit(request.user, instance)

    post_save.connect(on_save, weak=False)  # expect: listener-leak


def subscribe_client(client):
    order_created.connect(client.notify, weak=False)  # expect: listener-leak


def open_session(session):
    # Per session: one more stop hook on the engine each time, never removed.
    cherrypy.engine.subscribe("stop", session.flush)  # expect: listener-leak
    return session


class DebugPrint:
    """The same singleton whose reset re-runs the set-up: one more warnings
    handler per reset."""

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
        warnings_logger.addHandler(logging.StreamHandler())  # expect: listener-leak

    def reset(self):
        self.make_logger()
