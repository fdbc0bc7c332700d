"""The knowledge base through its pages: writing, versions, publishing, search, permissions,
and the articles suggested for a ticket."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.identity.models import Role
from accord.service import knowledge, services
from accord.service.models import Article, ArticleStatus, ArticleVersion


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


def write(org, actor, **data):
    with scope(organization=org):
        return knowledge.create_article(org, actor, data=data)


def test_body_keeps_the_allowed_tags_and_loses_scripts_handlers_styles_and_attributes():
    dirty = (
        '<h2 onclick="steal()">Reset</h2><p style="color:red" class="x" data-id="4" '
        'hx-get="/admin">Press <strong>reset</strong> and <em>wait</em>.</p>'
        '<script>alert(1)</script><style>p{}</style><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(1)">bad</a> <a href="https://help.example/a" '
        'target="_blank" hx-post="/x">good</a><ul><li>one</li></ul><pre><code>x &lt; 2'
        '</code></pre><blockquote>q</blockquote><iframe src="https://evil.example"></iframe>'
        '<h1>Big</h1><h3>Small</h3><br><ol><li>two</li></ol>'
    )

    clean = knowledge.clean_html(dirty)

    assert clean == (
        '<h2>Reset</h2><p>Press <strong>reset</strong> and <em>wait</em>.</p>'
        '<a rel="noopener noreferrer">bad</a> <a href="https://help.example/a" '
        'rel="noopener noreferrer">good</a><ul><li>one</li></ul><pre><code>x &lt; 2'
        '</code></pre><blockquote>q</blockquote>Big<h3>Small</h3><br><ol><li>two</li></ol>'
    )


def test_plain_text_of_an_article_separates_blocks_and_unescapes():
    assert knowledge.plain_text("<h2>Reset</h2><p>x &lt; 2 &amp; y</p><ul><li>a</li></ul>") == (
        "Reset x < 2 & y a")


def test_agent_writes_a_draft_then_publishes_it(org, agent, client_for):
    client = client_for(agent)

    response = client.post("/knowledge/new/", {
        "title": "  Reset   your password ", "visibility": "public",
        "body": '<p onmouseover="x()">Open <a href="https://ex.example/r">the page</a>.</p>'
                "<script>bad()</script>",
    })

    assert response.status_code == 302
    with scope(organization=org):
        article = Article.objects.get()
        assert response["Location"] == f"/knowledge/{article.pk}/"
        assert article.title == "Reset your password"
        assert article.body == ('<p>Open <a href="https://ex.example/r" '
                                'rel="noopener noreferrer">the page</a>.</p>')
        assert article.status == ArticleStatus.DRAFT
        assert article.created_by == agent.user
    page = client.get(f"/knowledge/{article.pk}/").content.decode()
    assert "bad()" not in page
    assert "Customers read it at" not in page

    published = client.post(f"/knowledge/{article.pk}/publish/", {"version": article.version})

    assert published.status_code == 302
    with scope(organization=org):
        article.refresh_from_db()
        assert article.status == ArticleStatus.PUBLISHED
        assert article.current.number == 1
        assert article.draft is None
        assert article.current.published_by == agent.user
    page = client.get(f"/knowledge/{article.pk}/").content.decode()
    assert f"http://testserver/portal/{org.slug}/articles/{article.pk}/" in page


def test_editing_a_published_article_keeps_readers_on_the_published_text_until_publish(
    org, agent, client_for
):
    article = write(org, agent.user, title="Shipping times", body="<p>Three days.</p>",
                    visibility="public", status="published")
    client = client_for(agent)

    response = client.post(f"/knowledge/{article.pk}/edit/", {
        "version": article.version, "title": "Shipping times", "body": "<p>Two days.</p>",
        "visibility": "public", "category": ""})

    assert response.status_code == 302
    with scope(organization=org):
        article.refresh_from_db()
        assert article.status == ArticleStatus.PUBLISHED
        assert article.body == "<p>Three days.</p>"
        assert article.draft.number == 2
        assert article.draft.body == "<p>Two days.</p>"
    portal_copy = client.get(f"/knowledge/{article.pk}/").content.decode()
    assert "Draft waiting to be published (version 2)" in portal_copy

    client.post(f"/knowledge/{article.pk}/edit/", {
        "version": article.version, "title": "Shipping times", "body": "<p>Two days!</p>",
        "visibility": "public", "category": ""})
    client.post(f"/knowledge/{article.pk}/publish/", {})

    with scope(organization=org):
        article.refresh_from_db()
        assert article.body == "<p>Two days!</p>"
        assert article.current.number == 2
        assert article.draft is None
        versions = [(v.number, v.body, v.published_at is not None)
                    for v in ArticleVersion.objects.filter(article=article)]
    assert versions == [(2, "<p>Two days!</p>", True), (1, "<p>Three days.</p>", True)]


def test_draft_article_shows_its_edits_at_once_without_new_versions(org, agent, client_for):
    article = write(org, agent.user, title="Draft", body="<p>one</p>")

    client_for(agent).post(f"/knowledge/{article.pk}/edit/", {
        "version": article.version, "title": "Draft two", "body": "<p>two</p>",
        "visibility": "internal", "category": ""})

    with scope(organization=org):
        article.refresh_from_db()
        assert (article.title, article.body) == ("Draft two", "<p>two</p>")
        assert ArticleVersion.objects.filter(article=article).count() == 1


def test_version_history_lists_every_version_with_its_publication(org, agent, client_for):
    article = write(org, agent.user, title="Refunds", body="<p>a</p>", status="published")
    with scope(organization=org):
        knowledge.update_article(org, agent.user, article, data={"body": "<p>b</p>"})

    page = client_for(agent).get(f"/knowledge/{article.pk}/").content.decode()

    assert page.count("<td>Refunds</td>") == 2
    assert '<span class="badge badge-ok">current</span>' in page
    assert '<span class="badge badge-warn">draft</span>' in page


def test_unpublishing_takes_the_article_off_the_portal(org, agent, client_for, in_org):
    article = write(org, agent.user, title="Old offer", body="", visibility="public",
                    status="published")
    with in_org(org):
        from accord.service import portal

        portal.update_settings(org, agent.user, data={"is_enabled": True})

    response = client_for(agent).post(f"/knowledge/{article.pk}/unpublish/", {})

    assert response.status_code == 302
    with scope(organization=org):
        article.refresh_from_db()
        assert article.status == ArticleStatus.DRAFT
        assert AuditEntry.objects.filter(entity="article", object_id=article.pk,
                                         action="update").count() == 2
    assert client_for(agent).get(f"/portal/{org.slug}/articles/{article.pk}/").status_code == 404


def test_an_edit_based_on_an_old_version_answers_409_and_keeps_the_text(org, agent, client_for):
    article = write(org, agent.user, title="Returns", body="<p>a</p>")
    with scope(organization=org):
        knowledge.update_article(org, agent.user, article, data={"body": "<p>b</p>"})

    response = client_for(agent).post(f"/knowledge/{article.pk}/edit/", {
        "version": article.version, "title": "Returns", "body": "<p>mine</p>",
        "visibility": "internal", "category": ""})

    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    with scope(organization=org):
        article.refresh_from_db()
        assert article.body == "<p>b</p>"
    # The page now carries the stored version, so saving again goes through.
    assert f'name="version" value="{article.version}"' in response.content.decode()
    again = client_for(agent).post(f"/knowledge/{article.pk}/edit/", {
        "version": article.version, "title": "Returns", "body": "<p>mine</p>",
        "visibility": "internal", "category": ""})
    assert again.status_code == 302
    with scope(organization=org):
        article.refresh_from_db()
        assert article.body == "<p>mine</p>"


def test_empty_title_is_refused_next_to_the_field(agent, client_for):
    response = client_for(agent).post("/knowledge/new/", {
        "title": " ", "body": "", "visibility": "internal"})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_every_role_reads_articles_but_only_support_managers_and_admins_write(
    org, make_member, client_for
):
    reader = client_for(make_member(org, Role.READ_ONLY))
    seller = client_for(make_member(org, Role.SALES))
    manager = client_for(make_member(org, Role.MANAGER))

    assert reader.get("/knowledge/").status_code == 200
    assert seller.get("/knowledge/").status_code == 200
    assert seller.get("/knowledge/new/").status_code == 403
    assert reader.post("/knowledge/new/", {"title": "x", "visibility": "internal"}
                       ).status_code == 403
    assert manager.get("/knowledge/new/").status_code == 200
    assert "Knowledge base" in reader.get("/").content.decode()


def test_list_finds_words_without_accents_and_by_their_beginning(org, agent, client_for):
    write(org, agent.user, title="Réinitialiser le mot de passe", body="<p>Écran</p>")
    write(org, agent.user, title="Factures", body="<p>Télécharger la facture</p>")
    client = client_for(agent)

    by_prefix = client.get("/knowledge/", {"q": "reinit"}).content.decode()
    by_body = client.get("/knowledge/", {"q": "telech"}).content.decode()
    by_accent = client.get("/knowledge/", {"q": "ÉCRAN"}).content.decode()

    assert "Réinitialiser le mot de passe" in by_prefix
    assert "Factures" not in by_prefix
    assert "Factures" in by_body
    assert "Réinitialiser" not in by_body
    assert "Réinitialiser le mot de passe" in by_accent


def test_list_filters_by_category_and_status(org, agent, client_for):
    with scope(organization=org):
        billing = knowledge.create_category(org, agent.user, data={"name": "Billing"})
    write(org, agent.user, title="Invoices explained", category=billing.pk, status="published")
    write(org, agent.user, title="Card declined", category=billing.pk)
    write(org, agent.user, title="Installing the app", status="published")
    client = client_for(agent)

    in_billing = client.get("/knowledge/", {"category_id": billing.pk}).content.decode()
    published_billing = client.get("/knowledge/", {"category_id": billing.pk,
                                                   "status": "published"}).content.decode()
    bad = client.get("/knowledge/", {"status": "gone"})

    assert "Invoices explained" in in_billing
    assert "Card declined" in in_billing
    assert "Installing the app" not in in_billing
    assert "Invoices explained" in published_billing
    assert "Card declined" not in published_billing
    assert bad.status_code == 422
    assert "Choose one of: draft, published." in bad.content.decode()


def test_renaming_a_category_makes_its_articles_found_by_the_new_name(org, agent, client_for):
    with scope(organization=org):
        category = knowledge.create_category(org, agent.user, data={"name": "Billing"})
    write(org, agent.user, title="Invoices", category=category.pk)
    client = client_for(agent)

    response = client.post(f"/knowledge/categories/{category.pk}/", {
        "version": category.version, "name": "Payments", "position": 3})

    assert response.status_code == 302
    assert "Invoices" in client.get("/knowledge/", {"q": "payments"}).content.decode()
    assert "Invoices" not in client.get("/knowledge/", {"q": "billing"}).content.decode()


def test_article_of_another_organisation_answers_404(org, other_org, agent, make_member,
                                                     client_for):
    elsewhere = make_member(other_org, Role.SUPPORT)
    article = write(other_org, elsewhere.user, title="Theirs")
    client = client_for(agent)

    assert client.get(f"/knowledge/{article.pk}/").status_code == 404
    assert client.post(f"/knowledge/{article.pk}/publish/", {}).status_code == 404
    assert client.post(f"/knowledge/{article.pk}/delete/", {}).status_code == 404


def test_deleting_an_article_removes_it_and_its_search_entry(org, agent, client_for):
    article = write(org, agent.user, title="Obsolete printer guide")
    client = client_for(agent)

    response = client.post(f"/knowledge/{article.pk}/delete/", {})

    assert response.status_code == 302
    assert client.get(f"/knowledge/{article.pk}/").status_code == 404
    assert "Obsolete" not in client.get("/knowledge/", {"q": "printer"}).content.decode()


# Suggestions


def test_suggestion_words_drop_stop_words_short_words_digits_and_repeats():
    assert knowledge.suggestion_words("Re: How do I reset my PASSWORD? password 2024 ok") == [
        "reset", "password"]


def test_suggestions_rank_by_words_matched_then_title_and_skip_internal_and_drafts(
    org, agent
):
    both = write(org, agent.user, title="Printer setup", body="<p>When the printer jams</p>",
                 visibility="public", status="published")
    title_only = write(org, agent.user, title="Printer drivers", body="<p>Downloads</p>",
                       visibility="public", status="published")
    body_only = write(org, agent.user, title="Paper", body="<p>Printers need paper</p>",
                      visibility="public", status="published")
    write(org, agent.user, title="Printer jams (internal)", visibility="internal",
          status="published")
    write(org, agent.user, title="Printer jams draft", visibility="public")
    with scope(organization=org):
        ticket = services.create_ticket(org, agent.user, data={"subject": "The printer jams"})

        suggested = knowledge.suggest_articles(ticket)
        limited = knowledge.suggest_articles(ticket, limit=1)

    assert suggested == [both, title_only, body_only]
    assert limited == [both]


def test_suggestions_fragment_offers_links_to_insert_into_the_reply(org, agent, client_for):
    article = write(org, agent.user, title="Reset your password", visibility="public",
                    status="published")
    with scope(organization=org):
        ticket = services.create_ticket(org, agent.user,
                                        data={"subject": "Cannot reset password"})

    page = client_for(agent).get(f"/knowledge/suggestions/{ticket.number}/").content.decode()

    assert f'href="/knowledge/{article.pk}/">Reset your password</a>' in page
    assert (f'class="link kb-insert-link" data-url="http://testserver/portal/{org.slug}'
            f'/articles/{article.pk}/"') in page
    assert '<script src="/static/service/knowledge.js" defer></script>' in page
    assert "<script>" not in page


def test_suggestions_without_a_match_say_so(org, agent, client_for):
    with scope(organization=org):
        ticket = services.create_ticket(org, agent.user, data={"subject": "Hello"})

    page = client_for(agent).get(f"/knowledge/suggestions/{ticket.number}/").content.decode()

    assert "No published public article matches this ticket's subject." in page



def test_export_writes_the_filtered_articles_as_csv(org, agent, client_for):
    write(org, agent.user, title="=cmd|calc", status="published", visibility="public")
    write(org, agent.user, title="Draft only")

    response = client_for(agent).get("/knowledge/export.csv", {"status": "published"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode().lstrip("\ufeff").splitlines()
    assert lines[0] == "id,title,category,status,visibility,published_at,updated_at"
    assert len(lines) == 2
    assert lines[1].split(",")[1:5] == ["'=cmd|calc", "", "published", "public"]


def test_each_step_of_an_article_is_an_event_for_webhooks(org, agent, client_for):
    article = write(org, agent.user, title="Refunds", body="<p>a</p>", visibility="public")
    client = client_for(agent)

    client.post(f"/knowledge/{article.pk}/publish/", {"version": article.version})
    with scope(organization=org):
        article.refresh_from_db()
    client.post(f"/knowledge/{article.pk}/unpublish/", {"version": article.version})
    client.post(f"/knowledge/{article.pk}/delete/", {})

    with scope(organization=org):
        events = list(DomainEvent.objects.filter(entity="article").order_by("id")
                      .values_list("type", flat=True))
        published = DomainEvent.objects.get(type="article.published")
    assert events == ["article.created", "article.published", "article.unpublished",
                      "article.deleted"]
    assert published.data["title"] == "Refunds"
    assert published.data["published_version"] == 1
