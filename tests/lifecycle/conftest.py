import pytest

from tests.lifecycle.flow import Flow


@pytest.fixture
def flow(client, auth, user_id) -> Flow:
    return Flow(client, auth, user_id)


@pytest.fixture
def flow_for(client, auth, user_id):
    def make(slug: str) -> Flow:
        return Flow(client, auth, user_id, slug=slug)

    return make
