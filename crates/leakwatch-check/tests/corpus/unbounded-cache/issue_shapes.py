import secrets


class TokenStore:
    tokens = {}

    def issue(self, user_id):
        token = secrets.token_hex(16)
        self.tokens[token] = user_id  # expect: unbounded-cache
        return token

    def check(self, token):
        return self.tokens.get(token)


class SessionRegistry:
    def __init__(self):
        self.sessions = {}

    def open(self, sid, user):
        self.sessions[sid] = user  # expect: unbounded-cache

    def user(self, sid):
        return self.sessions.get(sid)


registry = SessionRegistry()
