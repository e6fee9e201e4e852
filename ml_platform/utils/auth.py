"""Authentication decorators for the browser JSON APIs."""
import functools

from ml_platform.utils.json_api import error_response


def api_login_required(view):
    """Like login_required, but answers an anonymous API call with a 401 JSON error instead of a redirect."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return error_response("Authentication required.", status=401, code="unauthorized")
        return view(request, *args, **kwargs)

    return wrapper
