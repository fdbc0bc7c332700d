"""What an e-mail template becomes: sanitised HTML, its plain text, and one message per contact.

Template texts are rendered by accord.merge_fields, so they see only the
plain values offered here (contact, company, owner, organisation) and the
tracking links of the message, never a model or a setting.
"""

import html
import re

import nh3
from django.core.mail import EmailMultiAlternatives
from django.utils.translation import gettext as _

from accord import merge_fields

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "center", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
# Inline styles are how e-mail is laid out: most mail programs drop <style>
# blocks. Browsers showing the preview still run no script (the iframe is
# sandboxed and the page's CSP forbids it).
COMMON = {"style", "align", "class", "dir", "title"}
ALLOWED_ATTRIBUTES = {
    "*": COMMON,
    "a": {"href"} | COMMON,
    "img": {"src", "alt", "width", "height"} | COMMON,
    "table": {"width", "cellpadding", "cellspacing", "border", "bgcolor"} | COMMON,
    "td": {"width", "colspan", "rowspan", "valign", "bgcolor"} | COMMON,
    "th": {"width", "colspan", "rowspan", "valign", "bgcolor"} | COMMON,
}
URL_SCHEMES = {"http", "https", "mailto"}
HTML_LIMIT = 200_000  # characters; a long newsletter is a tenth of this
# A tracked link: an absolute http(s) URL without merge fields in it.
TRACKABLE_HREF = re.compile(r'href="(https?://[^"{}%]+)"')
BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|blockquote|pre)>|<br\s*/?>|<hr\s*/?>", re.I)
LINK = re.compile(r'<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>', re.I | re.S)
# What makes a style run script in some mail program: script URLs, IE's
# expression() and behaviours, Firefox's old XBL bindings.
STYLE_SCRIPT = re.compile(r"javascript:|vbscript:|data:text/html|expression\(|behavior:|"
                          r"-moz-binding")
CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.S)
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)


def sanitize_html(markup: str) -> str:
    """`markup` reduced to the e-mail allow-list: no script, style block, form, frame or
    event handler; links and images keep only http(s) (and mailto) URLs."""
    return nh3.clean(markup or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, strip_comments=True, link_rel=None,
                     attribute_filter=_style_without_script)


def _style_without_script(element: str, attribute: str, value: str) -> str | None:
    """The attribute as given, except a style that could run script, which is dropped."""
    if attribute == "style" and STYLE_SCRIPT.search(_css_as_read(value)):
        return None
    return value


def _css_as_read(value: str) -> str:
    """CSS text the way a parser reads it: no comments or escapes, spaces, case."""
    text = CSS_COMMENT.sub("", value)
    text = CSS_ESCAPE.sub(lambda m: chr(min(int(m.group(1), 16), 0x10FFFF)) if m.group(1)
                          else m.group(2), text)
    return "".join(char for char in text if char.isprintable() and not char.isspace()).lower()


def html_to_text(markup: str) -> str:
    """A plain-text part for `markup`: blocks on their own lines, links as "words (URL)"."""
    text = LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})"
                    if m.group(1) and m.group(1) not in m.group(2) else m.group(2), markup)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(nh3.clean(text, tags=set(), attributes={}))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def track_links(markup: str) -> tuple[str, list[str]]:
    """`markup` with each trackable link replaced by a tracking merge field, and the
    links in order; the n-th link's href becomes `{{ tracking.links.n }}`."""
    urls: list[str] = []

    def replace(match):
        urls.append(html.unescape(match.group(1)))
        return f'href="{{{{ tracking.links.{len(urls) - 1} }}}}"'

    return TRACKABLE_HREF.sub(replace, markup), urls


def with_footer(markup: str, text: str) -> tuple[str, str]:
    """The campaign bodies with the unsubscribe link and the open pixel added."""
    words = html.escape(_("Do not want these e-mails? Unsubscribe"))
    footer = (f'<p style="font-size:12px;color:#666"><a href="{{{{ tracking.unsubscribe }}}}">'
              f"{words}</a></p>"
              '<img src="{{ tracking.open }}" width="1" height="1" alt="">')
    text_footer = "\n-- \n" + _("Unsubscribe: %(url)s") % {"url": "{{ tracking.unsubscribe }}"}
    return markup + footer, text.rstrip("\n") + "\n" + text_footer + "\n"


def person_values(contact, org, viewer) -> dict:
    """The merge values of one contact: contact (with lifecycle stage), company, owner and
    organisation, all plain strings. Custom fields hidden from the `viewer` (a
    Membership) stay empty, and all of them without one."""
    values = merge_fields.person_values(contact, viewer)
    if viewer is None and contact is not None:
        values["contact"]["custom"] = {}
    if contact is not None:
        values["contact"]["lifecycle_stage"] = contact.lifecycle_stage
        owner = contact.owner if contact.owner_id else None
        name = owner.full_name or owner.email if owner is not None else ""
        values["owner"] = merge_fields.Named(
            {"name": name, "email": owner.email} if owner is not None else {}, name)
    else:
        values["owner"] = merge_fields.Named({})
    values["organization"] = merge_fields.Named({"name": org.name}, org.name)
    return values


def render(subject: str, html_body: str, text_body: str, values: dict) -> tuple[str, str, str]:
    """(subject, HTML, text) with merge fields filled; InvalidInput when a text is bad.

    A value with a line break never becomes a second header line, and the filled-in HTML
    is sanitised again (see `Compiled.render`).
    """
    return (
        " ".join(merge_fields.render(subject, values, field="subject").split()),
        sanitize_html(merge_fields.render(html_body, values, html=True, field="html")),
        merge_fields.render(text_body, values, field="text"),
    )


class Compiled:
    """A campaign's subject and bodies, checked by the merge-field sandbox and compiled
    once, then filled in for many contacts; InvalidInput when a text is not valid."""

    def __init__(self, subject: str, html_body: str, text_body: str):
        self.parts = [(merge_fields.compile_text(text, field), field)
                      for text, field in ((subject, "subject"), (html_body, "html"),
                                          (text_body, "text"))]

    def render(self, values: dict) -> tuple[str, str, str]:
        """(subject, HTML, text) for one person.

        The HTML is sanitised once more after filling in: escaping keeps a
        value from adding tags, but a value that makes up a whole `href` or
        `src` (say a first name "javascript:...") would otherwise pass as a URL.
        """
        out = [merge_fields.fill(template, values, html=escape, field=field)
               for (template, field), escape in zip(self.parts, (False, True, False),
                                                    strict=True)]
        return " ".join(out[0].split()), sanitize_html(out[1]), out[2]


def marketing_message(subject: str, html_body: str, text_body: str, *, sender: str, to: str,
                      message_id: str, unsubscribe: str) -> EmailMultiAlternatives:
    """A marketing e-mail (campaign or sequence) with its plain and HTML parts and the
    headers mail programs use for a one-click unsubscribe (RFC 8058)."""
    message = EmailMultiAlternatives(
        subject=subject, body=text_body, from_email=sender, to=[to],
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        })
    message.attach_alternative(html_body, "text/html")
    return message
