from datetime import UTC, datetime, timedelta


async def test_probe(client, login, clock, db):
    r = await client.put("/api/v1/hospitals")
    print("405", r.status_code, r.headers, r.text)
    r = await client.post("/api/v1/auth/wechat-login", content=b'{"code": "\xff"}', headers={"content-type": "application/json"})
    print("utf8", r.status_code, r.text)
    r = await client.post("/api/v1/auth/wechat-login", content=b'{"code": ', headers={"content-type": "application/json"})
    print("bad", r.status_code, r.text)
    r = await client.post("/api/v1/auth/wechat-login", content=b'code=1', headers={"content-type": "text/plain"})
    print("text", r.status_code, r.text)
    r = await client.get("/api/v1/hospitals/9223372036854775808")
    print("big", r.status_code, r.text)
    r = await client.get("/openapi.json")
    print("openapi", r.status_code, sorted(r.json()["paths"]))
    clock.set(datetime.now(UTC) + timedelta(days=30))
    h = await login()
    r = await client.get("/api/v1/me/patients", headers=h)
    print("future", r.status_code, r.text)
