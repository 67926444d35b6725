"""The Web Push test's fixtures: the local push service and push switched on (tests/push)."""

from tests.push.conftest import (  # noqa: F401
    flow,
    local_push,
    notify,
    push_service,
    push_settings,
    subscribe,
)
