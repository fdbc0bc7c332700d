"""What a reply adds: the text above the quoted history and the signature."""

import re

# A line that says "everything below is the earlier conversation".
ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Op\b.{0,300}\bschreef\b.{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*El\b.{0,300}\bescribió\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Il\b.{0,300}\bha scritto\s*:\s*$", re.IGNORECASE),
]
ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine"
    r"|oorspronkelijk bericht|mensaje original|messaggio originale|forwarded message"
    r"|weitergeleitete nachricht)\s*-{2,}\s*$", re.IGNORECASE)
OUTLOOK_FROM = re.compile(r"^\s*\*?(?:from|von|de|van|da)\s*\*?\s*:", re.IGNORECASE)
OUTLOOK_SENT = re.compile(
    r"^\s*\*?(?:sent|gesendet|envoyé|verzonden|enviado|inviato|date|datum)\s*\*?\s*:",
    re.IGNORECASE)
# Directly above a quote, a shorter "Name wrote:" also introduces it.
QUOTE_INTRODUCTION = re.compile(
    r"^.{0,300}\b(?:wrote|schrieb|a écrit|schreef|escribió|ha scritto)\s*:\s*$", re.IGNORECASE)
SIGNATURE = {"-- ", "--"}
# Gmail and others wrap a long "On ... wrote:" line; it is read over this many lines.
ATTRIBUTION_LINES = 3
OUTLOOK_HEADER_LINES = 4


def trim_quoted(text: str) -> str:
    """The text above the quoted history, the forwarded/original message block and
    the "-- " signature; the whole text when nothing would be left above them.

    A ">" quote only counts as history when nothing but more quotes, blank lines
    or other history follows it, so answers written between quoted lines stay.
    """
    lines = text.split("\n")
    end = _history_start(lines)
    end = min(end, _trailing_quote_start(lines[:end]))
    trimmed = "\n".join(lines[:end]).rstrip()
    return trimmed if trimmed.strip() else text


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line in SIGNATURE or ORIGINAL_MESSAGE.match(line):
            return index
        if _is_attribution(lines, index):
            return index
        if OUTLOOK_FROM.match(line) and any(
                OUTLOOK_SENT.match(following)
                for following in lines[index + 1:index + 1 + OUTLOOK_HEADER_LINES]):
            return _before_rule(lines, index)
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    if not lines[index].strip() or lines[index].lstrip().startswith(">"):
        return False
    for count in range(1, ATTRIBUTION_LINES + 1):
        joined = " ".join(line.strip() for line in lines[index:index + count])
        if any(pattern.match(joined) for pattern in ATTRIBUTION):
            return True
    return False


def _before_rule(lines: list[str], index: int) -> int:
    # Outlook draws a line of underscores above its header block.
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and re.fullmatch(r"\s*_{8,}\s*", lines[above]):
        return above
    return index


def _trailing_quote_start(lines: list[str]) -> int:
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            start = index
        elif stripped:
            break
    if start == len(lines):
        return start
    # The attribution line just above the quote goes with it.
    above = start - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    for first in range(max(0, above - ATTRIBUTION_LINES + 1), above + 1):
        if _is_attribution(lines[:above + 1], first):
            return first
    if above >= 0 and QUOTE_INTRODUCTION.match(lines[above]):
        return above
    return start
