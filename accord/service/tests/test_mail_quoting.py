"""Trimming quoted history and signatures from replies."""

import pytest

from accord.service.mail.quoting import trim_quoted


@pytest.mark.parametrize(("text", "reply"), [
    ("Thanks!\n\n> earlier text\n> more", "Thanks!"),
    ("Thanks!\n\nOn Mon, 10 Mar 2025 at 10:00, Accord Support <support@accord.example>\n"
     "wrote:\n\n> earlier", "Thanks!"),
    ("Danke.\n\nAm 10.03.2025 um 11:15 schrieb Pieter de Wit <pieter@dewit-bouw.example>:\n"
     "> Frage", "Danke."),
    ("Merci.\n\nLe lun. 10 mars 2025 à 10:00, Support <s@accord.example> a écrit :\n> x",
     "Merci."),
    ("See below.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTo: me\n\nold",
     "See below."),
    ("Agreed.\n\n________________________________\nFrom: Accord Support <s@accord.example>\n"
     "Sent: Monday, 10 March 2025 10:00\nTo: Pieter\nSubject: Invoice\n\nold text",
     "Agreed."),
    ("Von: Support <s@accord.example>\nGesendet: Montag\nAn: x\n\nalt", None),
    ("Call me tomorrow.\n-- \nPieter de Wit\nDe Wit Bouw", "Call me tomorrow."),
    ("> q1\nanswer one\n> q2\nanswer two", None),
    ("Intro\n> quoted question\nmy answer below it", None),
    ("Just a plain message\nwith two lines", None),
    ("From: the start of our contract we paid on time.\nPlease check.", None),
])
def test_trim_quoted(text, reply):
    assert trim_quoted(text) == (text if reply is None else reply)


def test_quote_introduced_by_a_name_only_is_trimmed_with_its_introduction():
    text = "Sounds good.\n\nPieter de Wit wrote:\n> Can we meet?\n> Tuesday?\n"

    assert trim_quoted(text) == "Sounds good."


def test_nothing_left_keeps_the_full_text():
    text = "-- \nPieter de Wit"

    assert trim_quoted(text) == text
