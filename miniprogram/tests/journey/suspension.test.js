/**
 * 停诊 on the real server: a patient has booked and paid; the hospital's administrator suspends the
 * session through the staff API (the demo account h<N>-admin, its password derived from the test
 * server's known YIYUE_SECRET_KEY: helpers.demoStaffPassword). The patient's appointment then reads
 * 已停诊 with the reason and offers held slots; one tap (改约到此) takes the one with another doctor of
 * the clinic that day, the new appointment waits for payment, is paid, and 我的预约 lists it.
 *
 * Which session: at the last pay-first hospital (not the one the payment journeys use), from three days
 * ahead (the late-booking journey uses today and tomorrow), in a clinic where another doctor also
 * works that day, so that the offer has a "different doctor" option. Suspending a session touches
 * every booking in it, so no other journey may book there.
 */
const { open, text, all, exists, tap, waitFor } = require('../support/pages')
const { describeLive } = require('../support/live')
const crypto = require('crypto')
const api = require('../../utils/api')
const format = require('../../utils/format')
const h = require('./helpers')
const scene = require('./scene')

const REASON = '医生临时外出会诊'
// Two background waits (the payment, the 停诊 refund, up to 15 s each) on a busy machine.
const TIMEOUT_MS = 45000

describeLive('journey against the real server: 停诊 and 改约', () => {
  test('the session is suspended by the hospital; the patient sees 停诊 with the reason and rebooks with another doctor in one tap', async () => {
    const hospitals = await scene.hospitalsWhere({ payment_required: true })
    const hospital = hospitals[hospitals.length - 1]
    const withColleague = (list) => list.find((c) => list.some((o) => o.doctor.id !== c.doctor.id))
    const session = await scene.bookableSession(hospital, withColleague, { fromDay: 3 })
    const slot = session.slots.find((s) => s.status === 'available')

    // The scene: booked and paid (the payment journeys go through those pages).
    const person = await api.createPatient({ name: '吴停', id_number: h.newIdNumber(), phone: '13500000002', relationship: 'self' })
    const booked = await api.book({ schedule_id: session.schedule.id, slot_id: slot.id, patient_id: person.id }, crypto.randomUUID())
    expect(booked.status).toBe('pending_payment')
    const paid = await h.payByApi(booked.id)
    expect(paid.payment.status).toBe('paid')
    const fee = format.money(paid.fee_fen)

    // The hospital's administrator suspends the session.
    const admin = await h.staffUser(`h${hospital.id}-admin`)
    expect(admin.staff).toMatchObject({ role: 'hospital_admin', hospital_id: hospital.id })
    const suspended = await admin.call('POST', `/api/v1/staff/schedules/${session.schedule.id}/suspend`, { reason: REASON })
    expect(suspended.statusCode).toBe(200)
    expect(suspended.data).toMatchObject({ schedule_id: session.schedule.id, status: 'suspended' })
    expect(suspended.data.suspended_appointments).toBeGreaterThanOrEqual(1)

    // 我的预约 -> 已取消: the card reads 已停诊; open it.
    const mine = open('appointments')
    await settle()
    tap(mine, '.status-tab', 4)
    await settle()
    expect(all(mine, '.appointment-item').map((n) => n.dom.getAttribute('data-id'))).toEqual([String(booked.id)])
    expect(text(mine, '.appointment-status')).toBe('已停诊')
    tap(mine, '.appointment-item')
    await settle()
    expect(h.lastUrl()).toBe(`/pages/appointment/appointment?id=${booked.id}`)
    const detail = await h.follow()

    // 详情: 停诊, why, no check-in code, no cancel; the held options, the same doctor's first.
    const shown = phone.calls('GET', `/api/v1/appointments/${booked.id}`).pop().data
    expect(shown).toMatchObject({ status: 'suspended', status_reason: REASON, cancellable: false })
    expect(text(detail, '.detail-status')).toBe('已停诊')
    expect(text(detail, '.detail-reason')).toBe(`停诊原因：${REASON}`)
    expect(exists(detail, '.check-in')).toBe(false)
    expect(exists(detail, '.cancel-btn')).toBe(false)
    const offer = shown.rebook
    expect(offer).toMatchObject({ accepted_appointment_id: null })
    expect(Date.parse(offer.expires_at)).toBeGreaterThan(Date.now())
    const expiresText = format.date(offer.expires_at) === format.today() ? format.time(offer.expires_at) : format.shortDateTime(offer.expires_at)
    expect(text(detail, '.rebook-title')).toBe(`医生停诊，已为您保留以下号源至 ${expiresText}`)
    const options = detail.instance.data.rebook.options
    expect(all(detail, '.rebook-option')).toHaveLength(offer.options.length)
    const sameDoctor = options.filter((o) => o.same_doctor)
    sameDoctor.forEach((o) => expect(o.doctor.id).toBe(session.doctor.id))
    expect(options.slice(0, sameDoctor.length)).toEqual(sameDoctor) // 同一医生 first
    const index = options.findIndex((o) => !o.same_doctor)
    expect(index).toBeGreaterThanOrEqual(0) // another doctor of the clinic works that day (chosen so)
    const choice = options[index]
    expect(choice.doctor.id).not.toBe(session.doctor.id)
    expect(choice.visit_date).toBe(session.date)
    expect(choice.department.id).toBe(session.department.id)
    // The option as the patient reads it: who, when, which number, the fee (the layout is the page's).
    const row = text(all(detail, '.rebook-option')[index])
    expect(text(all(detail, '.rebook-doctor')[index])).toBe(choice.doctor.name)
    expect(row).toContain(`${format.visitLabel(choice.visit_date, choice.period_label)} ${format.timeRange(choice.starts_at, choice.ends_at)}`)
    expect(row).toContain(`第${choice.queue_number}号`)
    expect(row).toContain(format.money(choice.fee_fen))
    expect(row).toContain('改约到此')
    expect(text(detail, '.rebook-keep')).toBe(`不改约，保留退款：无需操作，挂号费 ${fee} 原路退回，进度见下方“费用”。`)

    // 改约到此 with the other doctor: a new appointment, to pay first at this hospital.
    tap(detail, '.rebook-pick', index)
    await settle()
    const [rebook] = phone.calls('POST', `/api/v1/appointments/${booked.id}/rebook`)
    expect(rebook.status).toBe(201)
    expect(rebook.data).toMatchObject({ status: 'pending_payment', schedule_id: choice.schedule_id, doctor: { id: choice.doctor.id }, queue_number: choice.queue_number })
    const newId = rebook.data.id
    expect(newId).not.toBe(booked.id)
    expect(h.lastUrl('redirectTo')).toBe(`/pages/payment/payment?id=${newId}&rebooked=1`)

    // 支付 the new one.
    const payment = await h.follow('redirectTo')
    expect(text(payment, '.pay-amount')).toBe(format.money(rebook.data.fee_fen))
    payment.instance.pollIntervalMs = 200
    tap(payment, '.pay-btn')
    await waitFor(() => h.lastUrl('redirectTo') === `/pages/result/result?id=${newId}&rebooked=1`, { timeoutMs: 15000, what: 'the result page after paying' })
    const result = await h.follow('redirectTo')
    expect(text(result, '.result-headline')).toBe('改约成功')

    // 我的预约 -> 待就诊: the new appointment, with the other doctor, paid.
    const mineAfter = open('appointments')
    await settle()
    tap(mineAfter, '.status-tab', 2)
    await settle()
    expect(all(mineAfter, '.appointment-item').map((n) => n.dom.getAttribute('data-id'))).toEqual([String(newId)])
    expect(text(mineAfter, '.appointment-item')).toContain(choice.doctor.name)
    expect(text(mineAfter, '.appointment-status')).toBe('待就诊')
    expect(text(mineAfter, '.pay-tag')).toBe(`已支付 ${format.money(rebook.data.fee_fen)}`)

    // The suspended one now says it was rebooked and leads to the new appointment.
    const old = await h.openUrl(`/pages/appointment/appointment?id=${booked.id}`)
    expect(text(old, '.rebook-accepted')).toBe('您已改约，新的预约已生成')
    expect(exists(old, '.rebook-pick')).toBe(false)
    // 停诊 refunds what was paid in full, in the background: pull to refresh until it has landed.
    await h.pollUntil(
      async () => {
        old.instance.onPullDownRefresh()
        await settle()
        return text(old, '.fee-refund-status')
      },
      (status) => status === '已退款',
      { what: 'the 停诊 refund on the suspended appointment' }
    )
    expect(text(old, '.fee-refund-amount')).toBe(fee)
    tap(old, '.rebook-open-accepted')
    await settle()
    expect(h.lastUrl('redirectTo')).toBe(`/pages/appointment/appointment?id=${newId}`)
  }, TIMEOUT_MS)
})
