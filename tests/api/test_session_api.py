"""``/api/session/start`` and ``/api/session/end``: the server sets the HttpOnly session cookie from a one-time
hand-off, and clears it on sign-out."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.session import routes, start_request
from core.sessions import COOKIE_NAME, HANDOFF_TTL, begin_browser_session, redeem_handoff, user_for_token
from storage.models import utcnow
from tests.core.helpers import make_user

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def handoff(make_uow):
    def make() -> str:
        with make_uow() as uow:
            started = begin_browser_session(uow, alice)
            uow.commit()
        return started.handoff

    alice = make_user(make_uow, "alice")
    return make


def client_for(make_uow, base_url: str = "http://testserver") -> TestClient:
    return TestClient(Starlette(routes=routes(lambda: make_uow)), base_url=base_url)


def start(client: TestClient, token: str, **headers: str):
    return client.post("/api/session/start", content=json.dumps({"token": token}), headers={**JSON, **headers})


def test_the_hand_off_sets_an_httponly_samesite_lax_cookie_that_signs_the_user_in(make_uow, handoff):
    client = client_for(make_uow)
    answer = start(client, handoff(), Origin="http://testserver")
    assert answer.status_code == 200, answer.text
    header = answer.headers["set-cookie"]
    assert header.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header and "Secure" not in header
    assert answer.headers["cache-control"] == "no-store"
    with make_uow() as uow:
        assert user_for_token(uow, client.cookies[COOKIE_NAME]).username == "alice"


def test_the_cookie_is_secure_over_https_or_behind_a_proxy_that_says_so(make_uow, handoff):
    assert "Secure" in start(client_for(make_uow, "https://testserver"), handoff()).headers["set-cookie"]
    proxied = start(client_for(make_uow), handoff(), **{"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["set-cookie"]


def test_a_hand_off_works_once_and_not_after_its_seconds(make_uow, handoff):
    client = client_for(make_uow)
    token = handoff()
    assert start(client, token).status_code == 200
    again = start(client, token)
    assert again.status_code == 401 and "set-cookie" not in again.headers
    expired = handoff()
    with make_uow() as uow:  # (no clock to move over HTTP: core's answer, which the route passes on)
        assert redeem_handoff(uow, expired, now=utcnow() + HANDOFF_TTL + dt.timedelta(seconds=1)) is None
    assert start_request(make_uow, {"token": "never-issued"})[0] == 401


def test_other_sites_and_other_content_types_are_refused(make_uow, handoff):
    client = client_for(make_uow)
    assert start(client, handoff(), Origin="http://evil.example").status_code == 403
    form = client.post("/api/session/start", data={"token": handoff()})
    assert form.status_code == 415
    assert client.post("/api/session/start", content=b"{", headers=JSON).status_code == 400
    assert client.post("/api/session/start", content=b"{}", headers=JSON).status_code == 400
    assert COOKIE_NAME not in client.cookies


def test_sign_out_ends_the_cookies_session_on_the_server_and_clears_the_cookie(make_uow, handoff):
    client = client_for(make_uow)
    start(client, handoff())
    token = client.cookies[COOKIE_NAME]
    refused = client.post("/api/session/end", headers={**JSON, "Origin": "http://evil.example"})
    assert refused.status_code == 403
    with make_uow() as uow:
        assert user_for_token(uow, token) is not None
    ended = client.post("/api/session/end", content=b"{}", headers=JSON)
    assert ended.status_code == 200
    header = ended.headers["set-cookie"]
    assert header.startswith(f'{COOKIE_NAME}="";') and "Max-Age=0" in header and "HttpOnly" in header
    assert COOKIE_NAME not in client.cookies
    with make_uow() as uow:
        assert user_for_token(uow, token) is None


def test_a_body_over_the_limit_is_refused_while_it_is_read(make_uow, handoff):
    """413 for a body larger than MAX_BODY_BYTES, whether it declares its length or streams without one."""
    from api.session import MAX_BODY_BYTES

    client = client_for(make_uow)
    big = json.dumps({"token": "x" * (MAX_BODY_BYTES + 10)})
    declared = client.post("/api/session/start", content=big, headers={**JSON, "Origin": "http://testserver"})
    assert declared.status_code == 413

    def chunks():
        for start_at in range(0, len(big), 100):
            yield big[start_at:start_at + 100].encode()

    streamed = client.post("/api/session/start", content=chunks(), headers={**JSON, "Origin": "http://testserver"})
    assert streamed.status_code == 413
    assert start(client, handoff(), Origin="http://testserver").status_code == 200  # a normal one still works
