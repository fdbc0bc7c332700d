def test_missing_record_gets_the_app_layout_and_a_way_out(admin, client_for):
    response = client_for(admin).get("/contacts/999999/")

    body = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here." in body
    assert 'href="/trash/"' in body
    assert 'aria-label="Main"' in body


def test_unknown_page_for_a_visitor_who_is_not_signed_in(client, db):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert "There is nothing here." in response.content.decode()
