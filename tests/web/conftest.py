"""Fixtures for the web pages: a world with web logins and points, signed-in clients."""

from __future__ import annotations

import pytest

from tests.web.webkit import (
    SHOP_LOGIN,
    SHOP_PASSWORD,
    V1_PHONE,
    V1_PIN,
    WebClient,
    make_web_world,
)


@pytest.fixture
def web_world(api):
    return make_web_world(api)


@pytest.fixture
def web(app):
    """An anonymous browser-like client."""
    return WebClient(app.test_client())


@pytest.fixture
def shop_web(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(SHOP_LOGIN, SHOP_PASSWORD)
    return client


@pytest.fixture
def v1_web(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(V1_PHONE, V1_PIN)
    return client
