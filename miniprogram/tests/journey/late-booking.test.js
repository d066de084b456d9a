/**
 * Booking so late that it can no longer be cancelled, at a hospital that takes the fee online: the
 * confirm page warns before 确认预约 (the schedule's booking_notice), the payment page before paying
 * (the appointment's payment_notice), and once paid the detail page says why it cannot be cancelled;
 * the server refuses a cancellation too.
 *
 * Why this holds at any hour: the pay-first demo hospitals refund only up to one day before a session
 * (cancel_minutes_before 1440, checked below), so every session of today that has not started is past
 * its cancellation deadline. From 18:00 Shanghai time no session of today can be booked any more (the
 * last half-day, 晚上, starts at 18:00), so a same-day booking cannot be made at every hour, not even
 * through the staff API; the journey then takes tomorrow's session whose deadline (the same time today)
 * has passed, e.g. tomorrow 08:00 after 08:00 today, and the notice names that deadline instead:
 * "已过退号截止时间（MM月DD日 HH:mm），支付后不可取消退款". Today's session is preferred whenever there is one.
 */
const { text, exists, tap, waitFor } = require('../support/pages')
const { describeLive } = require('../support/live')
const api = require('../../utils/api')
const format = require('../../utils/format')
const h = require('./helpers')
const scene = require('./scene')

// Room for the journey (booking, the 15-minute payment window is not needed) before the session closes.
const MARGIN_MS = 10 * 60 * 1000

/** "12月03日 08:00": the deadline as the server's notice writes it (Shanghai time). */
function noticeTime(value) {
  const [, month, day] = format.date(value).split('-')
  return `${month}月${day}日 ${format.time(value)}`
}

/** What the notice must say for `schedule`, worked out from its date and deadline, not copied from it. */
function expectedNotice(schedule) {
  if (schedule.visit_date === format.today()) return '就诊当日预约，支付后不可取消退款'
  return `已过退号截止时间（${noticeTime(schedule.cancel_deadline)}），支付后不可取消退款`
}

/** A pay-first session whose cancellation deadline has passed and that still takes bookings: today's, else tomorrow's. */
async function lateSession() {
  const hospitals = await scene.hospitalsWhere({ payment_required: true })
  expect(hospitals.length).toBeGreaterThan(0)
  hospitals.forEach((hospital) => expect(hospital.booking_rules.cancel_minutes_before).toBeGreaterThanOrEqual(1440))
  const today = format.today()
  for (const date of [today, format.addDays(today, 1)]) {
    for (const hospital of hospitals) {
      const tree = await scene.get(`/api/v1/hospitals/${hospital.id}/departments`)
      for (const group of tree.items) {
        for (const department of group.children) {
          const late = (await scene.bookableOn(department, date)).find(
            ({ schedule }) =>
              schedule.fee_fen > 0 && Date.parse(schedule.cancel_deadline) < Date.now() && Date.parse(schedule.booking_closes_at) > Date.now() + MARGIN_MS
          )
          if (late) {
            const slots = await scene.get(`/api/v1/schedules/${late.schedule.id}/slots`)
            const slot = slots.items.find((s) => s.status === 'available')
            if (slot) return { hospital, department, doctor: late.doctor, schedule: late.schedule, slot }
          }
        }
      }
    }
  }
  throw new Error('no pay-first session past its cancellation deadline today or tomorrow')
}

describeLive('journey against the real server: a booking too late to cancel', () => {
  test('the confirm page warns before 确认预约 and the payment page before paying; once paid it cannot be cancelled', async () => {
    const { schedule, doctor, slot } = await lateSession()
    const notice = expectedNotice(schedule)
    expect(schedule.booking_notice).toBe(notice) // the doctor and department pages' schedule says the same
    await api.createPatient({ name: '周末', id_number: h.newIdNumber(), phone: '13500000001', relationship: 'self' })

    // 确认: the warning sits above 确认预约, before anything is booked.
    const confirm = await h.openUrl(`/pages/confirm/confirm?scheduleId=${schedule.id}&doctorId=${doctor.id}&slotId=${slot.id}`)
    expect(text(confirm, '.booking-notice')).toBe(`⚠ ${notice}`)
    expect(text(confirm, '.confirm-bar')).toMatch(new RegExp(`^⚠ ${notice} .*确认预约$`))
    expect(text(confirm, '.confirm-cancel-deadline')).toBe(`${format.dateTime(schedule.cancel_deadline)} 前可取消`)
    expect(text(confirm, '.confirm-pay-mode')).toBe('在线支付')
    expect(phone.calls('POST', '/api/v1/appointments')).toHaveLength(0)
    tap(confirm, '.submit')
    await settle()
    const [booking] = phone.calls('POST', '/api/v1/appointments')
    expect(booking.status).toBe(201)
    expect(booking.data).toMatchObject({ status: 'pending_payment', payment_notice: notice })
    const id = booking.data.id
    const fee = format.money(booking.data.fee_fen)

    // 支付: the same warning before the pay button.
    expect(h.lastUrl('redirectTo')).toBe(`/pages/payment/payment?id=${id}`)
    const payment = await h.follow('redirectTo')
    expect(text(payment, '.pay-notice')).toBe(`支付前请注意 ${notice}`)
    expect(text(payment, '.pay-notice-text')).toBe(notice)
    expect(text(payment, '.pay-btn')).toBe(`微信支付 ${fee}`)
    payment.instance.pollIntervalMs = 200
    tap(payment, '.pay-btn')
    await waitFor(() => wx.redirectTo.mock.calls.length === 2, { timeoutMs: 15000, what: 'the result page after paying' })
    expect(h.lastUrl('redirectTo')).toBe(`/pages/result/result?id=${id}`)

    // 详情: paid, and no way to cancel, with the reason.
    const detail = await h.openUrl(`/pages/appointment/appointment?id=${id}`)
    const paid = phone.calls('GET', `/api/v1/appointments/${id}`).pop().data
    expect(paid).toMatchObject({ status: 'booked', cancellable: false, refund_on_cancel: false, payment_notice: null, payment: { status: 'paid' } })
    expect(text(detail, '.detail-status')).toBe('待就诊')
    expect(text(detail, '.fee-status')).toBe('已支付')
    expect(exists(detail, '.cancel-btn')).toBe(false)
    expect(text(detail, '.cancel-closed')).toContain(`已过取消截止时间（${format.dateTime(paid.cancel_deadline)}），无法在线取消。`)
    expect(text(detail, '.cancel-closed')).toContain(paid.cancel_rule.replace(/[。；，\s]+$/, ''))

    // The server agrees: no cancellation, in its words.
    const refused = await api.cancelAppointment(id).catch((e) => e)
    expect(refused).toMatchObject({ status: 409, code: 'CANCEL_DEADLINE_PASSED' })
    expect(refused.message).toBe(`已过退号截止时间（${noticeTime(paid.cancel_deadline)}），无法取消`)
  })
})
