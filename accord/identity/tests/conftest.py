"""Helpers for following the links in mail sent during identity tests."""

import re


def link_path(body: str) -> str:
    """The path of the one link in a mail body sent while serving the test client."""
    return re.search(r"http://testserver(/\S+)", body).group(1)
