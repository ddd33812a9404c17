"""TwilioSms against the real twilio library, with HTTP answered by respx (no network)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from linkcli.channels.base import ChannelError, SendResult, SmsMessage
from linkcli.channels.twilio import InboundReply, TwilioSms, error_kind
from linkcli.config import SmsConfig
from linkcli.errors import ConfigError

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token-5f1e"  # a fake; asserted never to leak into error text
ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN}
PRACTICE = "+16175550199"
CLIENT = "+16175550101"
OTHER_CLIENT = "+16175550102"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
TWILIO = "https://api.twilio.com"


def sms_config(**overrides: object) -> SmsConfig:
    settings: dict[str, object] = {"provider": "twilio", "from_number": PRACTICE, "timeout": 2.0}
    settings.update(overrides)
    return SmsConfig(**settings)  # type: ignore[arg-type]


def message_json(
    sid: str,
    *,
    to: str,
    from_: str,
    body: str,
    direction: str = "outbound-api",
    status: str = "sent",
    date_sent: str | None = "Tue, 14 May 2024 13:10:00 +0000",
    date_created: str = "Tue, 14 May 2024 13:09:58 +0000",
    num_segments: str = "1",
    error_code: int | None = None,
) -> dict[str, object]:
    """A Message resource shaped like Twilio's 2010-04-01 JSON."""
    return {
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": date_created,
        "date_sent": date_sent,
        "date_updated": date_sent or date_created,
        "direction": direction,
        "error_code": error_code,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": num_segments,
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": f"{MESSAGES_PATH[:-5]}/{sid}/Media.json"},
        "to": to,
        "uri": f"{MESSAGES_PATH[:-5]}/{sid}.json",
    }


def page_json(messages: list[dict[str, object]], next_page_uri: str | None = None) -> dict:
    """A Messages list page; `messages` is the only non-meta key, as Twilio sends it."""
    return {
        "end": len(messages) - 1,
        "first_page_uri": f"{MESSAGES_PATH}?PageSize=1000&Page=0",
        "messages": messages,
        "next_page_uri": next_page_uri,
        "page": 0,
        "page_size": 1000,
        "previous_page_uri": None,
        "start": 0,
        "uri": f"{MESSAGES_PATH}?PageSize=1000&Page=0",
    }


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode(), keep_blank_values=True)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    # assert_all_mocked (the default): any request to an unrouted URL fails the test,
    # which is how "the request went to this host and nowhere else" is checked.
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def channel() -> Iterator[TwilioSms]:
    with TwilioSms(sms_config(), ENV) as sms:
        yield sms


# -- send --------------------------------------------------------------------------------


def test_send_posts_to_from_body_with_basic_auth(api: respx.MockRouter, channel: TwilioSms):
    route = api.post(f"{TWILIO}{MESSAGES_PATH}").respond(
        201,
        json=message_json(
            "SM" + "a" * 32,
            to=CLIENT,
            from_=PRACTICE,
            body="Your link",
            status="queued",
            date_sent=None,
            num_segments="2",
        ),
    )

    result = channel.send(SmsMessage(to=CLIENT, body="Your link: https://x.test/a b&c", key="k1"))

    assert result == SendResult(provider_id="SM" + "a" * 32, status="queued", segments=2)
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == MESSAGES_PATH
    assert form(request) == {
        "To": [CLIENT],
        "From": [PRACTICE],
        "Body": ["Your link: https://x.test/a b&c"],
    }
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_send_uses_messaging_service_instead_of_from(api: respx.MockRouter):
    service = "MG" + "1" * 32
    route = api.post(f"{TWILIO}{MESSAGES_PATH}").respond(
        201,
        json=message_json(
            "SM" + "b" * 32,
            to=CLIENT,
            from_="",
            body="hi",
            status="accepted",
            date_sent=None,
            num_segments="0",
        ),
    )
    with TwilioSms(sms_config(messaging_service_sid=service), ENV) as sms:
        result = sms.send(SmsMessage(to=CLIENT, body="hi", key="k2"))

    assert form(route.calls.last.request) == {
        "To": [CLIENT],
        "MessagingServiceSid": [service],
        "Body": ["hi"],
    }
    # num_segments "0" means "no sender chosen yet", not zero segments.
    assert result == SendResult(provider_id="SM" + "b" * 32, status="accepted", segments=None)


def test_api_base_url_replaces_scheme_host_and_port(api: respx.MockRouter):
    route = api.post(f"http://127.0.0.1:8999{MESSAGES_PATH}").respond(
        201, json=message_json("SM" + "c" * 32, to=CLIENT, from_=PRACTICE, body="hi")
    )
    with TwilioSms(sms_config(api_base_url="http://127.0.0.1:8999/"), ENV) as sms:
        result = sms.send(SmsMessage(to=CLIENT, body="hi", key="k3"))

    assert result.provider_id == "SM" + "c" * 32
    url = route.calls.last.request.url
    assert (url.scheme, url.host, url.port, url.path) == ("http", "127.0.0.1", 8999, MESSAGES_PATH)


@pytest.mark.parametrize("base", [TWILIO, "http://127.0.0.1:8999"])
def test_twilio_edge_and_region_in_process_env_do_not_move_the_host(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, base: str
):
    # Stock twilio would send to api.sydney.au1.twilio.com (and mangle 127.0.0.1:8999).
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    route = api.post(f"{base}{MESSAGES_PATH}").respond(
        201, json=message_json("SM" + "d" * 32, to=CLIENT, from_=PRACTICE, body="hi")
    )
    with TwilioSms(sms_config(api_base_url=base), ENV) as sms:
        sms.send(SmsMessage(to=CLIENT, body="hi", key="k4"))

    assert str(route.calls.last.request.url) == f"{base}{MESSAGES_PATH}"


# -- errors ------------------------------------------------------------------------------


def twilio_error(code: int, message: str, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "reason_start"),
    [
        (
            400,
            twilio_error(21610, "Attempt to send to unsubscribed recipient", 400),
            "opted_out",
            "21610",
            "Twilio error 21610: unsubscribed recipient",
        ),
        (
            400,
            twilio_error(21211, f"The 'To' number {CLIENT} is not a valid phone number.", 400),
            "bad_contact",
            "21211",
            "Twilio error 21211: invalid 'To' phone number",
        ),
        (
            401,
            twilio_error(20003, "Authenticate", 401),
            "auth",
            "20003",
            "Twilio error 20003: authentication failed",
        ),
        (
            400,
            twilio_error(30003, "Unreachable destination handset", 400),
            "transient",
            "30003",
            "Twilio error 30003: unreachable destination handset",
        ),
        (
            429,
            twilio_error(20429, "Too Many Requests", 429),
            "transient",
            "20429",
            "Twilio error 20429: too many requests",
        ),
        (429, "Too Many Requests", "transient", None, "Twilio HTTP 429: Unable to create record"),
        (
            500,
            "<html>Internal Server Error</html>",
            "transient",
            None,
            "Twilio HTTP 500: Unable to create record",
        ),
        (
            503,
            {"message": "Service Unavailable", "status": 503},
            "transient",
            None,
            "Twilio HTTP 503: Service Unavailable",
        ),
        (401, "", "auth", None, "Twilio HTTP 401: Unable to create record"),
        (
            400,
            twilio_error(
                21606,
                f"The From phone number {PRACTICE} is not a valid, "
                "SMS-capable inbound phone number",
                400,
            ),
            "rejected",
            "21606",
            "Twilio error 21606: The From phone number +1******0199 is not",
        ),
    ],
)
def test_send_error_mapping(
    api: respx.MockRouter,
    channel: TwilioSms,
    status: int,
    body: object,
    kind: str,
    code: str | None,
    reason_start: str,
):
    response = (
        httpx.Response(status, json=body)
        if isinstance(body, dict)
        else httpx.Response(status, text=body)
    )
    api.post(f"{TWILIO}{MESSAGES_PATH}").mock(return_value=response)

    with pytest.raises(ChannelError) as caught:
        channel.send(SmsMessage(to=CLIENT, body="hi", key="k5"))

    err = caught.value
    assert (err.kind, err.code) == (kind, code)
    assert err.permanent is (kind in ("opted_out", "bad_contact", "rejected"))
    assert err.fatal is (kind == "auth")
    assert err.reason.startswith(reason_start)
    assert err.reason.endswith("(to +1******0101)")
    assert CLIENT not in err.reason and PRACTICE not in err.reason
    assert TOKEN not in err.reason and TOKEN not in str(err)


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ConnectTimeout("timed out"), None),
        # The request went out and no answer came: Twilio may hold the message.
        (httpx.ReadTimeout("timed out"), "unanswered"),
        (httpx.ConnectError("[Errno 111] Connection refused"), None),
    ],
)
def test_network_failure_is_transient(
    api: respx.MockRouter, channel: TwilioSms, failure: httpx.TransportError, code: str | None
):
    api.post(f"{TWILIO}{MESSAGES_PATH}").mock(side_effect=failure)

    with pytest.raises(ChannelError) as caught:
        channel.send(SmsMessage(to=CLIENT, body="hi", key="k6"))

    err = caught.value
    assert (err.kind, err.permanent, err.fatal, err.code) == ("transient", False, False, code)
    assert err.unanswered is (code == "unanswered")
    assert err.reason == f"Twilio unreachable: {type(failure).__name__} (api.twilio.com)"


# -- configuration -----------------------------------------------------------------------


def test_missing_auth_token_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch):
    # The process environment must not fill the gap: only `env` is consulted.
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "from-os-environ")
    with pytest.raises(ConfigError) as caught:
        TwilioSms(sms_config(), {"TWILIO_ACCOUNT_SID": SID})

    assert "TWILIO_AUTH_TOKEN" in caught.value.message
    assert "TWILIO_ACCOUNT_SID" not in caught.value.message


def test_missing_both_credentials_names_both():
    with pytest.raises(ConfigError) as caught:
        TwilioSms(sms_config(), {"TWILIO_ACCOUNT_SID": " ", "PATH": "/bin"})

    assert "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set" in caught.value.message


def test_sender_is_required():
    with pytest.raises(ConfigError, match="from_number nor sms.messaging_service_sid"):
        TwilioSms(sms_config(from_number=None), ENV)


# -- reading back ------------------------------------------------------------------------


def test_inbound_since_returns_only_inbound_at_or_after_since(api: respx.MockRouter):
    stop = message_json(
        "SM" + "1" * 32,
        to=PRACTICE,
        from_=CLIENT,
        body="STOP",
        direction="inbound",
        status="received",
        date_sent="Tue, 14 May 2024 13:05:12 +0000",
    )
    yes = message_json(
        "SM" + "2" * 32,
        to=PRACTICE,
        from_=OTHER_CLIENT,
        body="yes see you",
        direction="inbound",
        status="received",
        date_sent="Tue, 14 May 2024 13:00:00 +0000",
    )
    reply = message_json(
        "SM" + "3" * 32,
        to=PRACTICE,
        from_=PRACTICE,
        body="auto",
        direction="outbound-reply",
        date_sent="Tue, 14 May 2024 13:05:13 +0000",
    )
    earlier = message_json(  # same UTC day, before `since`: a date-only server filter lets it in
        "SM" + "4" * 32,
        to=PRACTICE,
        from_=CLIENT,
        body="hello",
        direction="inbound",
        status="received",
        date_sent="Tue, 14 May 2024 12:59:59 +0000",
    )
    route = api.get(f"{TWILIO}{MESSAGES_PATH}").respond(
        200, json=page_json([reply, stop, yes, earlier])
    )

    with TwilioSms(sms_config(), ENV) as sms:
        # 09:00 in New York (EDT) is 13:00 UTC; Twilio must be asked in UTC.
        since = datetime(2024, 5, 14, 9, 0, tzinfo=timezone(timedelta(hours=-4)))
        replies = sms.inbound_since(since)

    assert replies == [
        InboundReply(
            from_number=OTHER_CLIENT,
            body="yes see you",
            sent_at=datetime(2024, 5, 14, 13, 0, tzinfo=UTC),
            sid="SM" + "2" * 32,
        ),
        InboundReply(
            from_number=CLIENT,
            body="STOP",
            sent_at=datetime(2024, 5, 14, 13, 5, 12, tzinfo=UTC),
            sid="SM" + "1" * 32,
        ),
    ]
    params = route.calls.last.request.url.params
    assert dict(params) == {
        "To": PRACTICE,
        "DateSent>": "2024-05-14T13:00:00Z",
        "PageSize": "1000",
    }


def test_inbound_since_follows_next_page_on_the_configured_host(api: respx.MockRouter):
    base = "http://127.0.0.1:8999"
    first = message_json(
        "SM" + "5" * 32,
        to=PRACTICE,
        from_=CLIENT,
        body="Stop",
        direction="inbound",
        status="received",
        date_sent="Wed, 15 May 2024 08:00:00 +0000",
    )
    second = message_json(
        "SM" + "6" * 32,
        to=PRACTICE,
        from_=OTHER_CLIENT,
        body="UNSUBSCRIBE",
        direction="inbound",
        status="received",
        date_sent="Wed, 15 May 2024 07:00:00 +0000",
    )
    next_uri = f"{MESSAGES_PATH}?To=%2B16175550199&PageSize=1&Page=1&PageToken=PASM{'5' * 32}"

    def pages(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("PageToken"):
            return httpx.Response(200, json=page_json([second]))
        return httpx.Response(200, json=page_json([first], next_page_uri=next_uri))

    route = api.get(f"{base}{MESSAGES_PATH}").mock(side_effect=pages)

    with TwilioSms(sms_config(api_base_url=base), ENV) as sms:
        replies = sms.inbound_since(datetime(2024, 5, 15, tzinfo=UTC))

    assert [(r.sid, r.body) for r in replies] == [
        ("SM" + "6" * 32, "UNSUBSCRIBE"),
        ("SM" + "5" * 32, "Stop"),
    ]
    assert route.call_count == 2
    assert route.calls[1].request.url.params["PageToken"] == f"PASM{'5' * 32}"


def test_list_error_is_mapped(api: respx.MockRouter, channel: TwilioSms):
    # List pages fail through Page.process_response (a bare TwilioException), not
    # TwilioRestException; the code must still be read from the body.
    api.get(f"{TWILIO}{MESSAGES_PATH}").respond(401, json=twilio_error(20003, "Authenticate", 401))

    with pytest.raises(ChannelError) as caught:
        channel.inbound_since(datetime(2024, 5, 14, tzinfo=UTC))

    assert (caught.value.kind, caught.value.code, caught.value.fatal) == ("auth", "20003", True)
    assert caught.value.reason == "Twilio error 20003: authentication failed (to +1******0199)"


def test_find_sent_returns_the_outbound_message_with_that_body(
    api: respx.MockRouter, channel: TwilioSms
):
    body = "Session 14 May 10:00: https://meet.test/r/abc"
    wanted = message_json(
        "SM" + "7" * 32,
        to=CLIENT,
        from_=PRACTICE,
        body=body,
        status="delivered",
        date_created="Tue, 14 May 2024 13:09:58 +0000",
    )
    other_body = message_json("SM" + "8" * 32, to=CLIENT, from_=PRACTICE, body="other")
    echoed = message_json(  # same text, but the client sent it to us
        "SM" + "9" * 32,
        to=CLIENT,
        from_=CLIENT,
        body=body,
        direction="inbound",
        status="received",
    )
    route = api.get(f"{TWILIO}{MESSAGES_PATH}").respond(
        200, json=page_json([other_body, echoed, wanted])
    )

    found = channel.find_sent(CLIENT, datetime(2024, 5, 14, 13, 0, tzinfo=UTC), body)

    assert found == SendResult(provider_id="SM" + "7" * 32, status="delivered", segments=1)
    assert route.call_count == 1
    assert dict(route.calls.last.request.url.params) == {
        "To": CLIENT,
        "DateSent>": "2024-05-14T13:00:00Z",
        "PageSize": "1000",
    }


def test_find_sent_finds_a_still_queued_message_without_the_date_filter(
    api: respx.MockRouter, channel: TwilioSms
):
    queued = message_json(
        "SM" + "e" * 32,
        to=CLIENT,
        from_=PRACTICE,
        body="link",
        status="queued",
        date_sent=None,
        date_created="Tue, 14 May 2024 13:09:58 +0000",
    )
    old = message_json(  # same body a week earlier: outside the window
        "SM" + "f" * 32,
        to=CLIENT,
        from_=PRACTICE,
        body="link",
        status="delivered",
        date_sent="Tue, 07 May 2024 13:10:00 +0000",
        date_created="Tue, 07 May 2024 13:09:58 +0000",
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if "DateSent>" in request.url.params:
            return httpx.Response(200, json=page_json([]))
        return httpx.Response(200, json=page_json([queued, old]))

    route = api.get(f"{TWILIO}{MESSAGES_PATH}").mock(side_effect=answer)

    found = channel.find_sent(CLIENT, datetime(2024, 5, 14, 13, 0, tzinfo=UTC), "link")

    assert found == SendResult(provider_id="SM" + "e" * 32, status="queued", segments=1)
    assert route.call_count == 2
    assert dict(route.calls[1].request.url.params) == {"To": CLIENT, "PageSize": "50"}


def test_find_sent_returns_none_when_nothing_matches(api: respx.MockRouter, channel: TwilioSms):
    api.get(f"{TWILIO}{MESSAGES_PATH}").respond(
        200, json=page_json([message_json("SM" + "8" * 32, to=CLIENT, from_=PRACTICE, body="x")])
    )

    assert channel.find_sent(CLIENT, datetime(2024, 5, 14, 13, 0, tzinfo=UTC), "link") is None


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [("undelivered", 30003, ("undelivered", "30003")), ("delivered", None, ("delivered", None))],
)
def test_delivery_status(
    api: respx.MockRouter,
    channel: TwilioSms,
    status: str,
    error_code: int | None,
    expected: tuple[str, str | None],
):
    sid = "SM" + "a" * 32
    route = api.get(f"{TWILIO}/2010-04-01/Accounts/{SID}/Messages/{sid}.json").respond(
        200,
        json=message_json(
            sid, to=CLIENT, from_=PRACTICE, body="x", status=status, error_code=error_code
        ),
    )

    assert channel.delivery_status(sid) == expected
    assert route.call_count == 1


def test_delivery_status_of_unknown_sid_is_rejected(api: respx.MockRouter, channel: TwilioSms):
    sid = "SM" + "0" * 32
    api.get(f"{TWILIO}/2010-04-01/Accounts/{SID}/Messages/{sid}.json").respond(
        404,
        json=twilio_error(
            20404, f"The requested resource {MESSAGES_PATH[:-5]}/{sid}.json was not found", 404
        ),
    )

    with pytest.raises(ChannelError) as caught:
        channel.delivery_status(sid)

    assert (caught.value.kind, caught.value.code) == ("rejected", "20404")


# -- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (30006, None, "bad_contact"),
        (30003, None, "transient"),
        (21610, None, "opted_out"),
        (30007, None, "rejected"),
        (None, 401, "auth"),
        (None, 502, "transient"),
        (None, 404, "rejected"),
    ],
)
def test_error_kind(code: int | None, status: int | None, kind: str):
    assert error_kind(code, status) == kind
