"""The browser tests' fixtures: the local push service and push switched on (tests/push), a
fan-out pass and each user's notifications (tests/notifications)."""

from tests.notifications.conftest import fan_out, told  # noqa: F401
from tests.push.conftest import (  # noqa: F401
    flow,
    local_push,
    notify,
    push_service,
    push_settings,
    subscribe,
)
