"""Protocol v1 frame parsing: every error code a client can cause, and the frames it sends."""

import json

import pytest
from shopdesk import protocol
from shopdesk.protocol import ProtocolError, parse

LIMIT, CHARS = 16 * 1024, 2000


def err(raw):
    with pytest.raises(ProtocolError) as info:
        parse(raw, LIMIT, CHARS)
    return info.value


def test_hello_with_everything_parses():
    frame = parse(json.dumps({
        "type": "hello", "v": 1, "session": "tok", "locale": "da",
        "page": {"url": "https://shop.example/p/1", "title": "Coat", "product": "coat"},
        "customer": {"email": "a@b.dk", "name": "A", "signature": "ab" * 32},
    }), LIMIT, CHARS)
    assert isinstance(frame, protocol.Hello)
    assert frame.page.product == "coat" and frame.customer.email == "a@b.dk"


def test_minimal_hello_with_nulls_parses():
    frame = parse('{"type":"hello","v":1,"session":null,"locale":null,"page":null,"customer":null}', LIMIT, CHARS)
    assert isinstance(frame, protocol.Hello) and frame.session is None


@pytest.mark.parametrize("raw", [
    b"\x00\x01binary",
    "not json",
    "[1,2,3]",
    '{"no_type": 1}',
    '{"type": 5}',
    '{"type": "shout"}',
    '{"type": "hello", "v": 2}',
    '{"type": "message", "text": "hi"}',
    '{"type": "message", "id": "", "text": "hi"}',
    '{"type": "message", "id": "' + "x" * 65 + '", "text": "hi"}',
    '{"type": "message", "id": "m1", "text": "   "}',
    '{"type": "rating", "score": 9}',
    '{"type": "hello", "v": 1, "locale": "fr"}',
])
def test_bad_frames_are_bad_frame_and_keep_the_connection(raw):
    e = err(raw)
    assert e.code == "bad_frame" and not e.close
    assert e.frame()["type"] == "error" and e.message


def test_frame_over_16_kib_is_too_large_and_closes():
    e = err(json.dumps({"type": "message", "id": "m", "text": "a" * 17000}))
    assert e.code == "too_large" and e.close


def test_multibyte_frame_counts_bytes_not_characters():
    text = "æ" * 1990  # under 2,000 characters, fine
    assert isinstance(parse(json.dumps({"type": "message", "id": "m", "text": text}, ensure_ascii=False), LIMIT, CHARS), protocol.MessageFrame)
    e = err(json.dumps({"type": "ping", "pad": "æ" * 9000}, ensure_ascii=False))
    assert e.code == "too_large"


def test_message_over_2000_characters_is_too_large_but_stays_open():
    e = err(json.dumps({"type": "message", "id": "m", "text": "a" * 2001}))
    assert e.code == "too_large" and not e.close


def test_server_frames_have_protocol_shapes():
    assert protocol.reply_end("r1", "Hi", []) == {"type": "reply_end", "reply": "r1", "text": "Hi", "quick_replies": []}
    assert protocol.handoff("policy", None, "x")["ticket"] is None
    assert protocol.welcome("s", "c", "bot", [])["v"] == 1
    with pytest.raises(AssertionError):
        protocol.error("nope", "unknown codes are a bug")
