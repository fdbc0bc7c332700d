"""The audit log's Changes column wraps long change lists inside its cell."""

import re

from django.urls import reverse

from accord.customers import services


def test_changes_cell_wraps_its_list_instead_of_being_cut_off(org, admin, client_for,
                                                             in_org):
    long_title = "Director of " + "international-partnerships-" * 3 + "and alliances"
    with in_org(org):
        ada = services.create_contact(org, admin.user, data={"first_name": "Ada"})
        services.update_contact(org, admin.user, ada, data={"title": long_title})
    client = client_for(admin)

    body = client.get(reverse("audit:log")).content.decode()
    css = b"".join(client.get("/static/accord/accord.css").streaming_content).decode()

    cells = re.findall(r'<td class="changes">\s*<ul class="small">\s*(.*?)\s*</ul>', body,
                       re.DOTALL)
    assert f"<li><strong>Job title</strong>: — → {long_title}</li>" in cells
    assert 'style="white-space' not in body
    assert ("table.list td.changes { white-space: normal; overflow-wrap: anywhere; "
            "min-width: 16rem; }") in css
