"""Threading headers and subjects of outgoing replies."""

import pytest

from accord.service.mail.outbound import make_message_id, reply_headers, tag_subject
from accord.service.mail.parse import parse_message


def test_reply_headers_name_the_answered_message_and_the_whole_chain():
    headers = reply_headers("<CAF2y7@mail.dewit-bouw.example>", [
        "CAF1x9@mail.dewit-bouw.example", "<ticket-1042-article-2@accord.example>",
        "CAF2y7@mail.dewit-bouw.example"])

    assert headers == {
        "In-Reply-To": "<CAF2y7@mail.dewit-bouw.example>",
        "References": "<CAF1x9@mail.dewit-bouw.example> "
                      "<ticket-1042-article-2@accord.example> <CAF2y7@mail.dewit-bouw.example>",
    }


def test_answered_message_ends_the_references_once():
    headers = reply_headers("b@x", ["a@x", "b@x", "c@x", "a@x"])

    assert headers["References"] == "<a@x> <c@x> <b@x>"


def test_very_long_chain_keeps_the_root_and_the_last_twenty():
    chain = [f"m{number}@x" for number in range(1, 51)]

    ids = reply_headers("m50@x", chain)["References"].split()

    assert len(ids) == 21
    assert ids[0] == "<m1@x>"
    assert ids[1] == "<m31@x>"
    assert ids[-1] == "<m50@x>"


def test_reply_headers_round_trip_through_the_parser():
    headers = reply_headers("ticket-1042-article-2@accord.example",
                            ["CAF1x9@mail.dewit-bouw.example"])
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()

    mail = parse_message(raw + b"\r\nbody")

    assert mail.in_reply_to == ["ticket-1042-article-2@accord.example"]
    assert mail.references == ["CAF1x9@mail.dewit-bouw.example",
                               "ticket-1042-article-2@accord.example"]


def test_no_answered_message_gives_no_headers():
    assert reply_headers("", []) == {}


def test_message_ids_are_unique_and_on_the_domain():
    first, second = make_message_id("accord.example"), make_message_id("Accord.Example")

    assert first != second
    assert first.endswith("@accord.example")
    assert second.endswith("@accord.example")
    assert "<" not in first


@pytest.mark.parametrize("domain", ["", "bad domain", "a@b", ".example"])
def test_message_id_refuses_a_domain_that_cannot_be_used(domain):
    with pytest.raises(ValueError, match="not a domain name"):
        make_message_id(domain)


@pytest.mark.parametrize(("subject", "tagged"), [
    ("Invoice", "Re: Invoice [#1042]"),
    ("Re: Invoice [#1042]", "Re: Invoice [#1042]"),
    ("AW: SV: [#1042] Invoice", "Re: Invoice [#1042]"),
    ("", "Re: [#1042]"),
])
def test_tag_subject(subject, tagged):
    assert tag_subject(subject, 1042) == tagged
    assert tag_subject(tag_subject(subject, 1042), 1042) == tagged
