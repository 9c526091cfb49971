"""Staff login throttling: django-axes' backend, for logins made over HTTP."""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse a locked-out login before any password is checked (django-axes).

    A login without a request (``manage.py`` commands, a shell, the test client's
    ``login``) has no client address to throttle by and is left to the next backend;
    every login through a page passes its request.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
