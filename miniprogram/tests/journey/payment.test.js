/**
 * Paying on the real server, at a hospital that takes the fee online (booking_rules.payment_required):
 * book -> the payment page (fee, time left) -> wx.requestPayment with the server's parameters (the
 * shim tells the fake WeChat "the user paid", WeChat Pay's signed notification reaches the server) ->
 * booked -> 我的预约 -> cancel (the refund rule first) -> the refund arrives as a message, which is
 * read, and the unread counts drop. Also: paying later, and paying for what no longer waits for it.
 */
const { open, text, all, exists, tap, input, waitFor } = require('../support/pages')
const { describeLive } = require('../support/live')
const api = require('../../utils/api')
const format = require('../../utils/format')
const h = require('./helpers')
const scene = require('./scene')

const REFUND_WAIT_MS = 15000

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** The number in "N 条未读" on the messages page (0 when the line is not shown). */
function unreadOn(messages) {
  const m = /^(\d+) 条未读$/.exec(text(messages, '.unread-count'))
  return m ? Number(m[1]) : 0
}

/** The unread badge on 我的, as a user opening the tab sees it ('' when there is none). */
async function profileBadge() {
  const profile = open('profile')
  await settle()
  return exists(profile, '.unread-badge') ? text(profile, '.unread-badge') : ''
}

/**
 * Pulls `page` to refresh (its onPullDownRefresh) until `condition()` holds, as a user waiting for the
 * background refund would; resolves with the milliseconds it took, fails after REFUND_WAIT_MS.
 */
async function refreshUntil(page, condition, what) {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > REFUND_WAIT_MS) throw new Error(`no ${what} within ${REFUND_WAIT_MS / 1000} s`)
    await sleep(250)
    page.instance.onPullDownRefresh()
    await settle()
  }
  return Date.now() - start
}

describeLive('journey against the real server: payment', () => {
  /** Books the first free slot at a hospital that takes the fee online; resolves with the payment page. */
  async function bookUnpaid() {
    const hospital = await scene.hospitalWhere({ payment_required: true })
    const session = await scene.bookableSession(hospital)
    const slot = session.slots.find((s) => s.status === 'available')
    await api.createPatient({ name: '孙三', id_number: h.newIdNumber(), phone: '13500000000', relationship: 'self' })

    const confirm = await h.openUrl(`/pages/confirm/confirm?scheduleId=${session.schedule.id}&doctorId=${session.doctor.id}&slotId=${slot.id}`)
    expect(text(confirm, '.booking-rules')).toContain('预约后需在线支付挂号费')
    tap(confirm, '.submit')
    await settle()
    const [booking] = phone.calls('POST', '/api/v1/appointments')
    expect(booking.status).toBe(201)
    expect(booking.data.status).toBe('pending_payment')
    expect(h.lastUrl('redirectTo')).toBe(`/pages/payment/payment?id=${booking.data.id}`)
    return { booking, payment: await h.follow('redirectTo') }
  }

  test('a new user books at a hospital that takes the fee online, pays, cancels, sees 已退款 ¥xx.xx on the detail and in 我的预约, and reads the messages', async () => {
    const hospital = await scene.hospitalWhere({ payment_required: true })
    const session = await scene.bookableSession(hospital)

    // 首页: logs in silently; a 就诊人 is ready (adding one through the form is the booking journey's).
    const home = open('index')
    await settle()
    expect(wx.login).toHaveBeenCalledTimes(1)
    await api.createPatient({ name: '钱多多', id_number: h.newIdNumber(), phone: '13600000000', relationship: 'self' })
    input(home, '.search-input', hospital.name)
    tap(home, '.search-btn')
    await settle()
    tap(home, '.hospital-item')
    await settle()

    // 医院: the rules say the fee is paid online; find the 科室 with open sessions.
    const hospitalPage = await h.follow()
    expect(text(hospitalPage, '.hospital-name')).toBe(hospital.name)
    expect(text(hospitalPage, '.booking-rules')).toContain('预约后需在线支付挂号费，超时未支付将自动取消')
    input(hospitalPage, '.dept-search', session.department.name)
    tap(hospitalPage, '.dept-search-btn')
    await settle()
    const deptText = [session.department.name, session.department.location].filter(Boolean).join(' ')
    const deptIndex = all(hospitalPage, '.dept-child').findIndex((n) => text(n) === deptText)
    expect(deptIndex).toBeGreaterThanOrEqual(0)
    tap(hospitalPage, '.dept-child', deptIndex)
    await settle()

    // 科室 -> the session's day (two days ahead: before the cancellation deadline whatever the hour the
    // tests run at; the page opens on the first bookable day) -> a doctor with slots left -> a free slot.
    const department = await h.follow()
    const dayIndex = department.instance.data.days.findIndex((d) => d.date === session.date)
    expect(dayIndex).toBeGreaterThanOrEqual(0)
    tap(department, '.day', dayIndex)
    await settle()
    const doctorIndex = all(department, '.doctor-item').findIndex((d) => /当日余号 \d+/.test(text(d)))
    expect(doctorIndex).toBeGreaterThanOrEqual(0)
    tap(department, '.doctor-item', doctorIndex)
    await settle()
    const doctor = await h.follow()
    const slotIndex = all(doctor, '.slot').findIndex((s) => /可约$/.test(text(s)))
    expect(slotIndex).toBeGreaterThanOrEqual(0)
    tap(doctor, '.slot', slotIndex)
    await settle()

    // 确认 -> book: held for payment, 15 minutes to pay.
    const confirm = await h.follow()
    expect(text(confirm, '.patient-option.chosen')).toContain('钱多多')
    tap(confirm, '.submit')
    await settle()
    const [booking] = phone.calls('POST', '/api/v1/appointments')
    expect(booking.status).toBe(201)
    expect(booking.data).toMatchObject({ status: 'pending_payment', status_label: '待支付' })
    const held = Date.parse(booking.data.pay_deadline) - Date.parse(booking.data.created_at)
    expect(held).toBeGreaterThan(14 * 60 * 1000)
    expect(held).toBeLessThanOrEqual(15 * 60 * 1000 + 1000)
    const id = booking.data.id
    const fee = format.money(booking.data.fee_fen)
    expect(h.lastUrl('redirectTo')).toBe(`/pages/payment/payment?id=${id}`)

    // 支付: the fee, the time left and the deadline; pay.
    const payment = await h.follow('redirectTo')
    expect(text(payment, '.pay-amount')).toBe(fee)
    expect(text(payment, '.pay-remain')).toMatch(/^剩余支付时间 1[45]:\d\d$/)
    expect(text(payment, '.pay-deadline')).toContain(format.dateTime(booking.data.pay_deadline))
    payment.instance.pollIntervalMs = 200
    tap(payment, '.pay-btn')
    await waitFor(() => wx.redirectTo.mock.calls.length === 2, { timeoutMs: 15000, what: 'the result page after paying' })
    expect(wx.requestPayment).toHaveBeenCalledTimes(1)
    expect(wx.requestPayment).toHaveBeenCalledWith(
      expect.objectContaining({ package: expect.stringMatching(/^prepay_id=\S+$/), signType: 'RSA', paySign: expect.any(String), timeStamp: expect.stringMatching(/^\d+$/) })
    )
    const [pay] = phone.calls('POST', `/api/v1/appointments/${id}/pay`)
    expect(pay.status).toBe(200)
    expect(pay.data).toMatchObject({ appointment_id: id, amount_fen: booking.data.fee_fen, pay_deadline: expect.any(String) })

    // 结果: booked, with a queue number.
    expect(h.lastUrl('redirectTo')).toBe(`/pages/result/result?id=${id}`)
    const result = await h.follow('redirectTo')
    expect(text(result, '.result-headline')).toBe('预约成功')
    expect(text(result, '.result-queue')).toMatch(/^就诊序号 \d+ 号$/)

    // 我的预约: nothing left under 待支付; under 待就诊, the paid one.
    const mine = open('appointments')
    await settle()
    tap(mine, '.status-tab', 1)
    await settle()
    expect(text(mine, '.state-empty')).toContain('暂无预约记录')
    tap(mine, '.status-tab', 2)
    await settle()
    expect(all(mine, '.appointment-item')).toHaveLength(1)
    expect(text(mine, '.appointment-status')).toBe('待就诊')
    expect(text(mine, '.pay-tag')).toBe(`已支付 ${fee}`)
    tap(mine, '.appointment-item')
    await settle()
    const detail = await h.follow()
    expect(text(detail, '.detail-status')).toBe('待就诊')
    expect(exists(detail, '.to-pay')).toBe(false)
    expect(text(detail, '.check-in-code')).toBe(`签到码 ${booking.data.check_in_code}`)
    // 费用: paid online, when, and nothing refunded.
    const shown = phone.calls('GET', `/api/v1/appointments/${id}`).pop().data
    expect(shown).toMatchObject({ cancellable: true, refund_on_cancel: true, payment: { status: 'paid', amount_fen: booking.data.fee_fen, refund: null } })
    expect(text(detail, '.fee-amount')).toBe(fee)
    expect(text(detail, '.fee-status')).toBe('已支付')
    expect(text(detail, '.fee-paid-at')).toBe(format.dateTime(shown.payment.paid_at))
    expect(text(detail, '.fee-summary')).toBe(`已于 ${format.dateTime(shown.payment.paid_at)} 在线支付 ${fee}。`)
    expect(exists(detail, '.fee-refund-status')).toBe(false)

    // Cancel: the confirmation says the fee goes back, the server's rule and the deadline.
    tap(detail, '.cancel-btn')
    await settle()
    const modal = wx.showModal.mock.calls.pop()[0]
    expect(modal.content).toContain(`取消后 ${fee} 将原路退回。`)
    expect(modal.content).toContain(`${shown.cancel_rule.replace(/[。；，\s]+$/, '')}。`)
    expect(shown.cancel_rule).toContain('已支付的挂号费原路全额退回')
    expect(modal.content).toContain(`取消截止：${format.dateTime(shown.cancel_deadline)}`)
    expect(modal.content).not.toContain('如已在线支付')
    expect(phone.calls('POST', `/api/v1/appointments/${id}/cancel`)[0].status).toBe(200)
    expect(text(detail, '.detail-status')).toBe('已取消')
    expect(exists(detail, '.cancel-btn')).toBe(false)
    expect(exists(detail, '.check-in')).toBe(false)

    // The refund is made in the background: pull to refresh the detail until it has landed. Then the
    // 费用 block says 已退款 with the amount and the time it went back.
    const refundedAt = await refreshUntil(detail, () => text(detail, '.fee-refund-status') === '已退款', '已退款 on the detail page')
    const refunded = phone.calls('GET', `/api/v1/appointments/${id}`).pop().data
    expect(refunded.payment).toMatchObject({ status: 'refunded', status_label: '已退款', refund: { status: 'succeeded', amount_fen: booking.data.fee_fen } })
    expect(text(detail, '.fee-status')).toBe('已退款')
    expect(text(detail, '.fee-refund-amount')).toBe(fee)
    expect(text(detail, '.fee-refunded-at')).toBe(format.dateTime(refunded.payment.refund.refunded_at))
    expect(text(detail, '.fee-summary')).toBe(`${fee} 已于 ${format.dateTime(refunded.payment.refund.refunded_at)} 原路退回。`)
    expect(refundedAt).toBeLessThan(REFUND_WAIT_MS)

    // 我的预约 -> 已取消: the card says 已取消 and 已退款 with the amount.
    const mineAfter = open('appointments')
    await settle()
    tap(mineAfter, '.status-tab', 4)
    await settle()
    expect(all(mineAfter, '.appointment-item').map((n) => n.dom.getAttribute('data-id'))).toEqual([String(id)])
    expect(text(mineAfter, '.appointment-status')).toBe('已取消')
    expect(text(mineAfter, '.pay-tag')).toBe(`已退款 ${fee}`)

    // 我的消息 (查看退款消息 on the detail): pull to refresh until the refund's message is listed.
    tap(detail, '.to-messages')
    await settle()
    const messages = await h.follow()
    const start = Date.now()
    while (!exists(messages, '.message-item.kind-refunded')) {
      if (Date.now() - start > REFUND_WAIT_MS) {
        throw new Error(`no "refunded" message within ${REFUND_WAIT_MS / 1000} s; listed: ${all(messages, '.message-title').map((n) => text(n)).join(' / ')}`)
      }
      await sleep(250)
      messages.instance.onPullDownRefresh()
      await settle()
    }
    const refundMessage = text(messages, '.message-item.kind-refunded')
    expect(refundMessage).toContain('退款成功')
    expect(refundMessage).toContain(`${(booking.data.fee_fen / 100).toFixed(2)}元`)
    expect(exists(messages, '.message-item.kind-cancelled')).toBe(true)
    expect(exists(messages, '.message-item.kind-booking_confirmed')).toBe(true)

    // Reading one lowers the count here and the badge on 我的.
    const unread = unreadOn(messages)
    expect(unread).toBeGreaterThanOrEqual(3)
    expect(await profileBadge()).toBe(String(unread))
    const refundIndex = all(messages, '.message-item').findIndex((n) => n.dom.className.includes('kind-refunded'))
    tap(messages, '.message-item', refundIndex)
    await settle()
    expect(phone.calls('POST', /^\/api\/v1\/me\/notifications\/\d+\/read$/).map((r) => r.status)).toEqual([200])
    expect(all(messages, '.message-item')[refundIndex].dom.className).not.toContain('unread')
    expect(unreadOn(messages)).toBe(unread - 1)
    expect(h.lastUrl()).toBe(`/pages/appointment/appointment?id=${id}`) // the message leads to its appointment
    expect(await profileBadge()).toBe(String(unread - 1))

    // 全部已读: one request, nothing unread anywhere.
    tap(messages, '.read-all')
    await settle()
    const [readAll] = phone.calls('POST', '/api/v1/me/notifications/read-all')
    expect(readAll).toMatchObject({ status: 200, data: { updated: unread - 1 } })
    expect(exists(messages, '.unread-count')).toBe(false)
    expect(exists(messages, '.message-item.unread')).toBe(false)
    expect(await profileBadge()).toBe('')
    messages.instance.onPullDownRefresh()
    await settle()
    expect(exists(messages, '.message-item.unread')).toBe(false)
  }, 45000) // the payment, the refund and its message are waited for (up to 15 s each)

  test('paying later: the payment page shows the fee, time left and deadline; the appointment waits under 待支付', async () => {
    const { booking, payment } = await bookUnpaid()
    expect(text(payment, '.pay-amount')).toBe(format.money(booking.data.fee_fen))
    expect(text(payment, '.pay-deadline')).toContain(format.dateTime(booking.data.pay_deadline))
    tap(payment, '.view-appointment')
    await settle()
    const detail = await h.follow('redirectTo')
    expect(text(detail, '.detail-status')).toBe(booking.data.status_label)
    expect(text(detail, '.to-pay')).toContain('去支付')
    expect(text(detail, '.to-pay')).toContain(format.dateTime(booking.data.pay_deadline))
    expect(text(detail, '.pay-remain')).toMatch(/^剩余支付时间 1[45]:\d\d$/)
    expect(text(detail, '.cancel-rule')).toContain('该预约尚未支付')
    expect(text(detail, '.fee-status')).toBe('待支付')
    expect(text(detail, '.fee-summary')).toBe(`待支付 ${format.money(booking.data.fee_fen)}，请在 ${format.dateTime(booking.data.pay_deadline)} 前完成支付。`)
    expect(exists(payment, '.pay-notice')).toBe(false) // two days ahead: paying now still leaves time to cancel
    const mine = open('appointments')
    await settle()
    tap(mine, '.status-tab', 1)
    await settle()
    expect(text(mine, '.appointment-status')).toBe('待支付')
    expect(text(mine, '.card-actions')).toBe(`应付 ${format.money(booking.data.fee_fen)} 去支付`)
    expect(text(mine, '.appointment-pay')).toContain(format.dateTime(booking.data.pay_deadline))
  })

  // The cancel answer itself says 退款中: the refund is owed from that unit of work on, before the job asks WeChat Pay.
  test('right after cancelling a paid booking, the 费用 block says the fee is being refunded (not 不予退款)', async () => {
    const { booking } = await bookUnpaid()
    const id = booking.data.id
    await h.payByApi(id)
    const detail = await h.openUrl(`/pages/appointment/appointment?id=${id}`)
    tap(detail, '.cancel-btn')
    await settle()
    const [cancel] = phone.calls('POST', `/api/v1/appointments/${id}/cancel`)
    expect(cancel.status).toBe(200)
    expect(text(detail, '.detail-status')).toBe('已取消')
    expect(text(detail, '.fee-summary')).not.toContain('不予退款')
    expect(cancel.data.payment.status).toBe('refunding')
    expect(['退款中', '已退款']).toContain(text(detail, '.fee-status')) // the refund may have landed already
  })

  test('paying for an appointment cancelled meanwhile: the server refuses (NOT_AWAITING_PAYMENT) and the page shows it cancelled', async () => {
    const { booking, payment } = await bookUnpaid()
    await api.cancelAppointment(booking.data.id) // e.g. from another phone
    tap(payment, '.pay-btn')
    await settle()
    const [pay] = phone.calls('POST', `/api/v1/appointments/${booking.data.id}/pay`)
    expect(pay).toMatchObject({ status: 409, data: { code: 'NOT_AWAITING_PAYMENT' } })
    expect(wx.requestPayment).not.toHaveBeenCalled()
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: pay.data.message }))
    expect(h.lastUrl('redirectTo')).toBe(`/pages/result/result?id=${booking.data.id}`)
    const result = await h.follow('redirectTo')
    expect(text(result, '.result-headline')).toBe('已取消')
  })
})
