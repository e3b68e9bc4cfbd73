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
