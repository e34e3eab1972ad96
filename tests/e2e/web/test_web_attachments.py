"""Attachments on /app/report: uploaded on pick, claimed by the save, read only by those who
may see the lead's details, and sent again in chat by 重新接收附件 (issue: web forms)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.services import attachments
from storage.models import Lead, WebFile
from tests.e2e.web.conftest import WebHarness, report
from tests.e2e.web.test_web_access import _csrf
from tests.e2e.web.test_web_browser import ZHANG, browser, open_as, shot

__all__ = ["browser"]  # the fixture, shared with the other browser tests

LI = 1102  # a liaison of another unit (经济发展局)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 400  # ~100 KB, every byte value
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
REQUIRED = {
    "project": "年产5万吨新材料项目",
    "company": "浙江华峰新材料有限公司",
    "industry": "新材料",
    "amount": "12000",
    "origin": "省外",
    "stage": "在谈",
}


async def _signed_in(web: WebHarness, user: int) -> tuple[aiohttp.ClientSession, str]:
    client = await web.client(user)
    async with client.get("/app/report") as r:
        assert r.status == 200
        return client, _csrf(await r.text())


async def _upload(
    client: aiohttp.ClientSession, csrf: str, data: bytes, name: str, kind: str = "application/pdf"
) -> tuple[int, dict[str, Any]]:
    headers = {
        "X-CSRF-Token": csrf,
        "X-File-Name": quote(name, safe=""),
        "Content-Type": kind,
    }
    async with client.post("/app/api/files", data=data, headers=headers) as r:
        return r.status, await r.json()


async def _lead(web: WebHarness, code: str) -> Lead:
    async with web.h.db.session() as s:
        lead = await s.get(Lead, int(code.lstrip("L")))
        assert lead is not None
        return lead


async def test_a_liaison_attaches_two_files_on_the_page_and_opens_them_from_the_card(
    browser: object, web: WebHarness
) -> None:
    page: Any = await open_as(browser, web, ZHANG, "/app/report")
    assert await page.locator("label", has_text="附件").count() == 1
    await page.get_by_label("项目名称").fill(REQUIRED["project"])
    await page.get_by_label("投资方").fill(REQUIRED["company"])
    await page.get_by_label("行业").select_option(REQUIRED["industry"])
    await page.get_by_label("计划投资额").fill("1.2亿")
    await page.get_by_label("来源地").select_option(REQUIRED["origin"])
    await page.get_by_label("阶段").select_option(REQUIRED["stage"])
    await page.set_input_files(
        "#files",
        [
            {"name": "项目投资计划书.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "现场.png", "mimeType": "image/png", "buffer": PNG},
        ],
    )
    done = page.locator("#files-list li[data-state=done]")
    await done.nth(1).wait_for()  # both uploaded (the CSP forbids evaluating strings)
    assert await done.count() == 2
    await page.locator("#files-list").scroll_into_view_if_needed()
    await shot(page, "report-attachments")
    await page.get_by_role("button", name="保存").click()
    await page.wait_for_selector("#saved")
    lead = await _lead(web, "L0001")
    assert [(a["kind"], a["name"]) for a in lead.attachments] == [
        ("document", "项目投资计划书.pdf"),
        ("photo", "现场.png"),
    ]
    assert all(a["file_id"].startswith(attachments.REF_PREFIX) for a in lead.attachments)
    links = page.locator("#files a")
    assert await links.count() == 2
    href = await links.first.get_attribute("href")
    got = await page.request.get(f"{web.base}{href}")  # the page's own cookie
    assert got.status == 200 and await got.body() == PDF
    assert "attachment" in got.headers["content-disposition"]
    await page.locator("#files").scroll_into_view_if_needed()
    await shot(page, "lead-card-attachments")


async def test_a_picked_file_over_the_limit_is_refused_on_the_page(
    browser: object, web: WebHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments, "MAX_BYTES", 50_000)
    page: Any = await open_as(browser, web, ZHANG, "/app/report")
    await page.set_input_files(
        "#files", [{"name": "大文件.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.wait_for_selector("#files-err.show")
    assert "大文件.pdf" in await page.inner_text("#files-err")
    assert await page.locator("#files-list li").count() == 0


async def test_another_unit_cannot_read_the_files_and_strangers_get_401(web: WebHarness) -> None:
    client, csrf = await _signed_in(web, ZHANG)
    async with client:
        status, body = await _upload(client, csrf, PDF, "plan.pdf")
        assert status == 200 and body["ok"] and body["kind"] == "document"
        token = body["token"]
        async with client.get(f"/app/files/{token}") as r:
            assert r.status == 404  # not saved with a lead yet: nobody reads it
        form = {**REQUIRED, "csrf": csrf, "file": token}
        async with client.post("/app/report", data=form) as r:
            assert r.status == 200, await r.text()
        async with client.get(f"/app/files/{token}") as r:
            assert r.status == 200 and await r.read() == PDF
            assert r.headers["Cache-Control"] == "no-store"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with client.get("/app/api/leads/L0001") as r:
            files = (await r.json())["lead"]["files"]
        assert files == [{"name": "plan.pdf", "kind": "document", "url": f"/app/files/{token}"}]
    other, _ = await _signed_in(web, LI)
    async with other:
        async with other.get(f"/app/files/{token}") as r:
            assert r.status == 403
            assert PDF[:20] not in await r.read()
        async with other.get("/app/api/leads/L0001") as r:
            assert "files" not in (await r.json())["lead"]
        async with other.get("/app/leads/L0001") as r:
            assert token not in await r.text()
    async with await web.client() as nobody, nobody.get(f"/app/files/{token}") as r:
        assert r.status == 401
    async with await web.client(ZHANG) as c, c.get("/app/files/" + "0" * 32) as r:
        assert r.status == 404


async def test_a_form_cannot_claim_someone_elses_upload(web: WebHarness) -> None:
    mine, my_csrf = await _signed_in(web, ZHANG)
    theirs, their_csrf = await _signed_in(web, LI)
    async with mine, theirs:
        _, body = await _upload(theirs, their_csrf, PDF, "theirs.pdf")
        form = {**REQUIRED, "csrf": my_csrf, "file": [body["token"], "nonsense"]}
        data = aiohttp.FormData([(k, v) for k, vs in form.items() for v in _many(vs)])
        async with mine.post("/app/report", data=data) as r:
            assert r.status == 200
    lead = await _lead(web, "L0001")
    assert lead.attachments == []
    async with web.h.db.session() as s:
        row = (await s.scalars(select(WebFile))).one()
        assert row.lead_id is None  # still only theirs, unsaved


async def test_uploads_need_the_csrf_token_and_refuse_empty_and_huge_bodies(
    web: WebHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, csrf = await _signed_in(web, ZHANG)
    async with client:
        async with client.post("/app/api/files", data=PDF, headers={"X-File-Name": "a.pdf"}) as r:
            assert r.status == 403
        status, body = await _upload(client, csrf, b"", "empty.pdf")
        assert status == 400 and "空" in body["message"]
        monkeypatch.setattr(attachments, "MAX_BYTES", 1000)
        status, body = await _upload(client, csrf, PDF, "big.pdf")
        assert status == 413 and body["error"] == "attach.too_big"
        chunks = (PDF[i : i + 500] for i in range(0, 5000, 500))  # no Content-Length: streamed

        async def stream() -> Any:
            for chunk in chunks:
                yield chunk

        headers = {"X-CSRF-Token": csrf, "X-File-Name": "s.pdf"}
        async with client.post("/app/api/files", data=stream(), headers=headers) as r:
            assert r.status == 413
    async with web.h.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WebFile)) == 0


async def test_an_html_upload_is_served_as_a_download_never_as_a_page(web: WebHarness) -> None:
    client, csrf = await _signed_in(web, ZHANG)
    async with client:
        name = "../../<script>x</script>.html"
        _, body = await _upload(client, csrf, b"<script>alert(1)</script>", name, "text/html")
        assert "/" not in body["name"]
        form = {**REQUIRED, "csrf": csrf, "file": body["token"]}
        async with client.post("/app/report", data=form) as r:
            assert r.status == 200
        async with client.get(f"/app/files/{body['token']}") as r:
            assert r.content_type == "application/octet-stream"
            assert r.headers["Content-Disposition"].startswith("attachment;")


async def test_web_files_are_sent_again_in_chat(web: WebHarness) -> None:
    client, csrf = await _signed_in(web, ZHANG)
    async with client:
        _, doc = await _upload(client, csrf, PDF, "项目投资计划书.pdf")
        _, pic = await _upload(client, csrf, PNG, "现场.png", "image/png")
        form = {**REQUIRED, "csrf": csrf, "file": [doc["token"], pic["token"]]}
        data = aiohttp.FormData([(k, v) for k, vs in form.items() for v in _many(vs)])
        async with client.post("/app/report", data=data) as r:
            assert r.status == 200
    h = web.h
    await h.send(ZHANG, "/lead L0001")
    r = await h.press(ZHANG, "重新接收附件（2）")
    assert [i.method for i in r.items] == ["sendDocument", "sendPhoto"]
    sent = h.api.calls_of("sendDocument")[-1].params["document"]
    assert sent["file_name"] == "项目投资计划书.pdf" and sent["file_size"] == len(PDF)


async def test_a_stale_page_keeps_its_uploads_when_a_field_is_wrong(web: WebHarness) -> None:
    client, csrf = await _signed_in(web, ZHANG)
    async with client:
        _, doc = await _upload(client, csrf, PDF, "plan.pdf")
        form = {**REQUIRED, "amount": "很多", "csrf": csrf, "file": doc["token"]}
        async with client.post("/app/report", data=form) as r:
            assert r.status == 400
            page = await r.text()
        assert doc["token"] in page and "plan.pdf" in page  # still listed, kept on re-render
        form["amount"] = "12000"
        async with client.post("/app/report", data=form) as r:
            assert r.status == 200
    assert len((await _lead(web, "L0001")).attachments) == 1
    await report(web.h, ZHANG, "另一家企业有限公司")  # a chat lead beside it: no files


def _many(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
