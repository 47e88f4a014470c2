from tests.factories import login_as, make_site, make_user


def test_login_page_renders(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert b"<form" in r.data


def test_admin_home_and_site_list(client, session):
    admin = make_user("admin")
    site = make_site(code="PAR-001", name="Agence Paris Opéra")
    login_as(client, admin)
    r = client.get("/")
    assert r.status_code == 200, r.data[:500]
    r = client.get("/sites?q=opéra")
    assert r.status_code == 200
    assert "Agence Paris Opéra" in r.get_data(as_text=True)
    r = client.get(f"/sites/{site.id}")
    assert r.status_code == 200
