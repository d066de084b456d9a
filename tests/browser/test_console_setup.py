"""A hospital's first day on the console: departments, doctors, a weekly template and 放号, all through the
pages; and a form that refuses bad input beside its fields."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import ConsolePage
from tests.conftest import NOW
from tests.factories import STAFF_PASSWORD, make_catalog, make_hospital, make_staff
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.staff_accounts import create_staff_account


async def test_a_new_hospital_administrator_sets_up_a_clinic_and_releases_a_week_of_sessions(
    tab: ConsolePage, db: Database
) -> None:
    hospital = await make_hospital(db, name="新建人民医院")
    async with db.session() as session:
        admin = await create_staff_account(
            session,
            username="new.admin",
            password=STAFF_PASSWORD,
            role="hospital_admin",
            display_name="新管理员",
            hospital_id=hospital.id,
            now=NOW,
        )
    page = tab.page
    asked = tab.accept_confirms()
    await tab.login(admin.username)

    # 科室管理: a top-level department, then a clinic under it
    await page.get_by_role("link", name="科室管理").click()
    await expect(page.locator("#department-rows")).to_contain_text("还没有科室")
    await page.get_by_role("link", name="＋ 新增大科室").click()
    await page.get_by_label("科室名称").fill("外科")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#toast")).to_contain_text("已新增大科室「外科」")

    await page.locator("tr", has_text="外科").get_by_role("link", name="＋ 科室").click()
    await expect(page.locator("select[name=parent_id] option:checked")).to_have_text("外科")
    await page.get_by_label("科室名称").fill("骨科")
    await page.locator("input[name=location]").fill("门诊楼2层B区")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#toast")).to_contain_text("已新增科室「骨科」")
    clinic_row = page.locator("tr.dept-child", has_text="骨科")
    await expect(clinic_row).to_contain_text("门诊楼2层B区")

    # 医生管理: two doctors of the clinic, the fee typed in yuan
    await clinic_row.get_by_role("link", name="＋ 医生").click()
    await expect(page.locator("select[name=department_id] option:checked")).to_have_text("骨科")
    await page.get_by_label("姓名").fill("张伟")
    await page.locator("select[name=gender]").select_option("男")
    await page.locator("select[name=title]").select_option("主任医师")
    await page.get_by_label("挂号费（元）").fill("50")
    await page.get_by_label("擅长").fill("骨折、关节置换")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#toast")).to_contain_text("已新增医生「张伟」")

    await page.get_by_role("link", name="＋ 新增医生").click()
    await page.get_by_label("姓名").fill("刘洋")
    await page.locator("select[name=gender]").select_option("女")
    await page.locator("select[name=department_id]").select_option(label="骨科")
    await page.get_by_label("挂号费（元）").fill("25.5")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#toast")).to_contain_text("已新增医生「刘洋」")
    doctors = page.locator("table.doctor-grid tbody")
    await expect(doctors.locator("tr", has_text="张伟")).to_contain_text("¥50.00")
    await expect(doctors.locator("tr", has_text="刘洋")).to_contain_text("¥25.50")
    await expect(doctors.locator("tr", has_text="刘洋")).to_contain_text("主治医师")  # the title preset
    await expect(doctors.locator("tr", has_text="张伟")).to_contain_text("外科 / 骨科")

    # 排班模板: Monday and Wednesday mornings, 12 numbers of which 2 kept for walk-ins
    await page.get_by_role("link", name="排班模板").click()
    await page.locator("tr", has_text="张伟").get_by_role("link", name="设置").click()
    for day in ("周一", "周三"):
        await page.get_by_label(f"{day}上午号源数").fill("12")
        await page.get_by_label(f"{day}上午现场号").fill("2")
    await page.get_by_role("button", name="保存整周模板").click()
    await expect(page.locator("#toast")).to_contain_text("已保存张伟的排班模板")
    await expect(page.get_by_label("周三上午号源数")).to_have_value("12")
    await page.get_by_role("link", name="返回列表").click()
    week = page.locator("tr", has_text="张伟")
    await expect(week.locator(".session-chip")).to_have_text(["上午 12", "上午 12"])
    await expect(week.locator("td.num")).to_have_text("24")

    # 排班与放号: release the coming week now; today is Monday 2 March, so Wednesday 4 and Monday 9
    await page.get_by_role("link", name="排班与放号").click()
    await expect(page.locator("table.schedule-grid tbody")).to_contain_text("该时间段没有排班")
    await page.locator("form.release-bar").get_by_role("button", name="立即放号").click()
    await expect(page.locator("#toast")).to_contain_text("已按排班模板生成至03月09日：新增2个出诊时段")
    assert len(asked) == 1 and "确定立即放号" in asked[0]

    rows = page.locator("table.schedule-grid tbody tr")
    await expect(rows).to_have_count(2)
    for row, day in zip(await rows.all(), ("2026-03-04 周三", "2026-03-09 周一"), strict=True):
        cells = row.locator("td")
        await expect(cells.nth(0)).to_have_text(day)
        await expect(cells.nth(1)).to_contain_text("上午")
        await expect(cells.nth(2)).to_have_text("骨科")
        await expect(cells.nth(3)).to_contain_text("张伟")
        await expect(cells.nth(4)).to_have_text("0 / 12")  # booked / numbers
        await expect(cells.nth(5)).to_have_text("10")  # free online
        await expect(cells.nth(6)).to_have_text("2 / 2")  # walk-in numbers free / kept
        await expect(cells.nth(7)).to_have_text("开放")


async def test_a_doctor_form_with_an_empty_name_and_a_negative_fee_shows_the_errors_and_creates_nothing(
    tab: ConsolePage, db: Database
) -> None:
    catalog = await make_catalog(db)
    admin = await make_staff(db, role="hospital_admin", catalog=catalog)
    page = tab.page
    await tab.login(admin.username)

    await tab.open("/admin/doctors/new")
    await page.locator("select[name=gender]").select_option("女")
    await page.locator("select[name=department_id]").select_option(label="心血管内科")
    await page.get_by_label("挂号费（元）").fill("-5")
    await page.get_by_label("擅长").fill("心律失常")
    # The browser would stop the form itself (required, min="0"); the server must refuse it all the same.
    await page.locator("form.form").evaluate("form => { form.noValidate = true; }")
    async with page.expect_navigation():
        await page.get_by_role("button", name="创建").click()

    name = page.locator("label.field", has=page.locator("input[name=name]"))
    fee = page.locator("label.field", has=page.locator("input[name=fee_yuan]"))
    await expect(name).to_have_class("field invalid")
    await expect(name.locator("small.error")).to_have_text("请填写姓名")
    await expect(fee).to_have_class("field invalid")
    await expect(fee.locator("small.error")).to_have_text("挂号费不能小于0")
    await expect(page.locator("small.error")).to_have_count(2)
    # what was typed stays in the form
    await expect(page.get_by_label("挂号费（元）")).to_have_value("-5")
    await expect(page.get_by_label("擅长")).to_have_value("心律失常")
    await expect(page.locator("select[name=gender]")).to_have_value("女")
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Doctor).where(Doctor.hospital_id == catalog.hospital.id)
        )
    assert count == 2  # the catalog's two doctors, no third
