"""A long-running service using the parser for each upload."""
from wesnoth import wmlparser


def handle_upload(body):
    return len(wmlparser.parse_text(body))
