"""Login throttling that leaves programmatic logins (no request, e.g. Client.login in tests) to ModelBackend."""
from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes lockout check for real login requests; without a request it abstains."""

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
