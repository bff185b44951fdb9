def test_signup_and_me(world):
    r = world.signup()
    assert r.status == 201, r
    assert r.origin == "eu.origin.appx.example.eu"
    token = r.json["token"]
    me = world.request("GET", "/v1/me", token=token)
    assert me.status == 200, me
    assert me.json["profile"]["email"] == "alice@example.org"
