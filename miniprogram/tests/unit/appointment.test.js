const { open, text, all, tap, exists, waitFor } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')
const qrcode = require('../../utils/qrcode')

beforeEach(() => loggedIn())

async function openDetail(appointment) {
  fake.route('GET /api/v1/appointments/:id', { body: appointment })
  const comp = open('appointment', { id: String(appointment.id) })
  await settle()
  return comp
}

test('shows queue number, time, place and the check-in QR code and code', async () => {
  const comp = await openDetail(fx.appointment())
  expect(text(comp, '.detail-status')).toBe('待就诊')
  expect(text(comp, '.detail-queue')).toBe('就诊序号 3 号')
  expect(text(comp, '.detail-time')).toContain('09:00-09:30')
  expect(text(comp, '.detail-place')).toBe('北京协和医院 心内科 门诊楼2层A区 帅府园1号')
  expect(text(comp, '.check-in-code')).toBe('签到码 YY-7F3K2Q')
  const size = qrcode.encode('YY-7F3K2Q').size
  expect(all(comp, '.qr-row')).toHaveLength(size)
  expect(all(comp, '.qr-cell')).toHaveLength(size * size)
  expect(all(comp, '.qr-cell.on').length).toBeGreaterThan(size * 4)
  tap(comp, '.check-in-code')
  await settle()
  expect(wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: 'YY-7F3K2Q' }))
})

test('cancelling asks first, stating the deadline and that the money goes back, then frees the appointment', async () => {
  const comp = await openDetail(fx.paid())
  expect(text(comp, '.cancel-rule')).toContain(`可在 ${fx.TOMORROW} 07:00 前取消`)
  expect(text(comp, '.cancel-rule')).toContain('取消后 ¥50.00 将原路退回')
  fake.route('POST /api/v1/appointments/:id/cancel', {
    body: fx.paid({ status: 'cancelled', status_label: '已取消', cancellable: false, refund_on_cancel: false, status_reason: '用户取消', payment: fx.payment('refunding', { refund: 'processing' }) }),
  })
  tap(comp, '.cancel-btn')
  await settle()
  const modal = wx.showModal.mock.calls[0][0]
  expect(modal.title).toBe('确认取消预约？')
  expect(modal.content).toContain('取消后 ¥50.00 将原路退回。')
  expect(modal.content).toContain('就诊前2小时可免费取消，已支付费用原路全额退回。')
  expect(modal.content).not.toContain('如已')
  expect(modal.content).toContain(`取消截止：${fx.TOMORROW} 07:00`)
  expect(fake.calls('POST /api/v1/appointments/900/cancel')).toHaveLength(1)
  expect(text(comp, '.detail-status')).toBe('已取消')
  expect(text(comp, '.detail-reason')).toBe('取消原因：用户取消')
  expect(exists(comp, '.detail-queue')).toBe(false)
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(text(comp, '.fee-summary')).toBe('¥50.00 正在原路退回，到账后会通知您。')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已取消预约' }))
})

test('the confirmation says when cancelling gives nothing back (paid, refund_on_cancel false)', async () => {
  const comp = await openDetail(fx.paid({ refund_on_cancel: false, cancel_rule: '就诊当日预约，支付后不可退款' }))
  fake.modalConfirm = false
  tap(comp, '.cancel-btn')
  await settle()
  const content = wx.showModal.mock.calls[0][0].content
  expect(content).toContain('取消后不退款。就诊当日预约，支付后不可退款。')
  expect(content).not.toContain('退回')
})

test('the confirmation for an unpaid hold says the slot is released, nothing about refunds', async () => {
  const comp = await openDetail(fx.unpaid())
  fake.modalConfirm = false
  tap(comp, '.cancel-btn')
  await settle()
  const content = wx.showModal.mock.calls[0][0].content
  expect(content).toContain('该预约尚未支付，取消后号源将释放。')
  expect(content).not.toContain('退')
})

test('a hospital taking the fee at the window: 到院支付, and cancelling frees the slot', async () => {
  const comp = await openDetail(fx.appointment())
  expect(text(comp, '.fee-status')).toBe('到院支付')
  expect(text(comp, '.fee-summary')).toBe('挂号费 ¥50.00 请于就诊当日在医院窗口支付。')
  expect(text(comp, '.cancel-rule')).toContain('取消后号源将释放给其他患者。')
})

test('saying no in the confirmation cancels nothing', async () => {
  const comp = await openDetail(fx.appointment())
  fake.modalConfirm = false
  tap(comp, '.cancel-btn')
  await settle()
  expect(fake.calls('POST /api/v1/appointments/900/cancel')).toHaveLength(0)
})

test("a refused cancellation shows the server's reason and reloads", async () => {
  const comp = await openDetail(fx.appointment())
  fake.route('POST /api/v1/appointments/:id/cancel', fx.error(409, 'CANCEL_DEADLINE_PASSED', '已过取消截止时间，无法取消'))
  tap(comp, '.cancel-btn')
  await settle()
  expect(wx.showModal.mock.calls[1][0]).toMatchObject({ title: '无法取消', content: '已过取消截止时间，无法取消' })
  expect(fake.calls('GET /api/v1/appointments/900')).toHaveLength(2)
})

test('past the deadline there is no cancel button, and the page says why (deadline and rule)', async () => {
  const comp = await openDetail(fx.paid({ cancellable: false, refund_on_cancel: false, cancel_deadline: fx.fromNow(-60 * 1000) }))
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(text(comp, '.cancel-closed')).toContain('已过取消截止时间（')
  expect(text(comp, '.cancel-closed')).toContain('就诊前2小时可免费取消，已支付费用原路全额退回。')
  expect(all(comp, '.cancel-rule')[0].dom.className).toContain('cancel-rule-closed') // shown as a warning
})

test('cancellable: the rule card is plain, not a warning', async () => {
  const comp = await openDetail(fx.paid())
  expect(all(comp, '.cancel-rule')[0].dom.className).not.toContain('cancel-rule-closed')
})

test('the 费用 heading carries the money tag (已退款 ¥50.00) and the ID number sits on its own line', async () => {
  const comp = await openDetail(fx.paid({ status: 'cancelled', status_label: '已取消', cancellable: false, refund_on_cancel: false, payment: fx.payment('refunded', { refund: 'succeeded' }) }))
  expect(text(comp, '.fee-tag')).toBe('已退款 ¥50.00')
  expect(all(comp, '.fee-summary')[0].dom.className).not.toContain('notice-warn')
  expect(text(comp, '.id-masked')).toBe('110***********1234')
})

test('not cancellable before the deadline (e.g. a day-of booking): no cancel button, the rule says why', async () => {
  const comp = await openDetail(fx.paid({ cancellable: false, refund_on_cancel: false, cancel_rule: '就诊当日预约，支付后不可取消退款' }))
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(text(comp, '.cancel-closed')).toBe('该预约不可在线取消。就诊当日预约，支付后不可取消退款。如有疑问请联系医院。')
})

test('an unpaid appointment shows the deadline and the time left, offers to pay and has no check-in code yet', async () => {
  const a = fx.unpaid()
  const comp = await openDetail(a)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(text(comp, '.to-pay')).toContain(`请在 ${format.dateTime(a.pay_deadline)} 前支付挂号费 ¥50.00`)
  expect(text(comp, '.pay-remain')).toMatch(/^剩余支付时间 (09:5\d|10:00)$/)
  expect(exists(comp, '.pay-expired')).toBe(false)
  // Cancelling an unpaid one: nothing to refund, and the confirmation says so.
  expect(text(comp, '.cancel-rule')).toContain('该预约尚未支付，取消后号源将释放')
  expect(text(comp, '.fee-status')).toBe('待支付')
  expect(text(comp, '.fee-summary')).toBe(`待支付 ¥50.00，请在 ${format.dateTime(a.pay_deadline)} 前完成支付。`)
  // The page's main action: a full-width button with the amount.
  expect(text(comp, '.pay-now')).toBe('去支付 ¥50.00')
  expect(all(comp, '.pay-now')[0].dom.className).not.toContain('btn-small')
  tap(comp, '.pay-now')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=900' }))
  comp.instance.onHide()
  expect(comp.instance.payTimer).toBeNull() // no ticking behind the payment page; onShow reloads and restarts it
})

test('the time to pay running out replaces 去支付 with 重新预约', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.unpaid(fx.fromNow(300)) })
  const comp = open('appointment', { id: '900' })
  comp.instance.countdownTickMs = 20
  await settle()
  expect(exists(comp, '.pay-now')).toBe(true)
  await waitFor(() => exists(comp, '.pay-expired'), { what: 'the expired notice' })
  expect(exists(comp, '.to-pay')).toBe(false)
  expect(text(comp, '.pay-expired')).toContain('支付时间已过，号源已释放，请重新预约')
  comp.instance.pay() // a late tap on a stale button does nothing
  tap(comp, '.book-again')
  await settle()
  expect(wx.navigateTo.mock.calls.map((c) => c[0].url)).toEqual([`/pages/doctor/doctor?id=7&date=${fx.TOMORROW}`])
})

test('an appointment the server has expired (unpaid) says so plainly and offers 重新预约', async () => {
  const comp = await openDetail(fx.appointment({ status: 'expired', status_label: '已过期', cancellable: false, pay_deadline: null, payment: fx.payment('unpaid') }))
  expect(text(comp, '.detail-status')).toBe('已过期')
  expect(exists(comp, '.detail-queue')).toBe(false)
  expect(text(comp, '.fee-summary')).toBe('您未支付挂号费，无需退款。')
  expect(text(comp, '.pay-expired')).toContain('支付时间已过，号源已释放，请重新预约')
  expect(exists(comp, '.pay-now')).toBe(false)
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(exists(comp, '.book-again')).toBe(true)
})

describe('the 费用 block says exactly what happened to the money', () => {
  const cancelled = (payment) => fx.paid({ status: 'cancelled', status_label: '已取消', cancellable: false, refund_on_cancel: false, payment })

  test('paid: amount and time paid', async () => {
    const comp = await openDetail(fx.paid())
    expect(text(comp, '.fee-amount')).toBe('¥50.00')
    expect(text(comp, '.fee-status')).toBe('已支付')
    expect(text(comp, '.fee-paid-at')).toBe(`${fx.TODAY} 10:16`)
    expect(exists(comp, '.fee-refund-status')).toBe(false)
    expect(text(comp, '.fee-summary')).toBe(`已于 ${fx.TODAY} 10:16 在线支付 ¥50.00。`)
  })

  test('refunded: status, amount and time of the refund', async () => {
    const comp = await openDetail(cancelled(fx.payment('refunded', { refund: fx.refund('succeeded', { amount_fen: 5000 }) })))
    expect(text(comp, '.fee-status')).toBe('已退款')
    expect(text(comp, '.fee-refund-status')).toBe('已退款')
    expect(text(comp, '.fee-refund-amount')).toBe('¥50.00')
    expect(text(comp, '.fee-refunded-at')).toBe(`${fx.TODAY} 11:00`)
    expect(text(comp, '.fee-summary')).toBe(`¥50.00 已于 ${fx.TODAY} 11:00 原路退回。`)
    tap(comp, '.to-messages')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/messages/messages' }))
  })

  test('refunding: under way, no refund time yet', async () => {
    const comp = await openDetail(cancelled(fx.payment('refunding', { refund: 'processing' })))
    expect(text(comp, '.fee-refund-status')).toBe('退款中')
    expect(exists(comp, '.fee-refunded-at')).toBe(false)
    expect(text(comp, '.fee-summary')).toBe('¥50.00 正在原路退回，到账后会通知您。')
  })

  test('退款异常: the hospital will contact them', async () => {
    const comp = await openDetail(cancelled(fx.payment('refunding', { refund: 'abnormal' })))
    expect(text(comp, '.fee-refund-status')).toBe('退款异常')
    expect(text(comp, '.fee-summary')).toContain('医院将尽快与您联系处理')
    // A warning box, and the tag beside 费用 says it at a glance.
    expect(all(comp, '.fee-summary')[0].dom.className).toContain('notice-warn')
    expect(text(comp, '.fee-tag')).toBe('退款异常')
  })

  test('paid and cancelled without a refund: says it is not refunded', async () => {
    const comp = await openDetail(cancelled(fx.payment('paid')))
    expect(text(comp, '.fee-summary')).toBe(`已于 ${fx.TODAY} 10:16 在线支付 ¥50.00，按退号规则不予退款。`)
  })

  test('pay at the window and cancelled: nothing paid, nothing to refund; never the old hedge', async () => {
    const comp = await openDetail(fx.appointment({ status: 'cancelled', status_label: '已取消', cancellable: false }))
    expect(text(comp, '.fee-summary')).toBe('挂号费为到院支付，您未付款，无需退款。')
    expect(text(comp)).not.toContain('如已在线支付')
    expect(exists(comp, '.to-messages')).toBe(false)
  })

  test('free: says so', async () => {
    const comp = await openDetail(fx.appointment({ fee_fen: 0, payment: fx.payment('not_required') }))
    expect(text(comp, '.fee-amount')).toBe('免费')
    expect(text(comp, '.fee-summary')).toBe('本次挂号免费，无需支付。')
  })
})

test('checked in: "已签到，请候诊" with the queue number, no check-in code any more, not cancellable', async () => {
  const comp = await openDetail(fx.paid({ status: 'checked_in', status_label: '已签到', cancellable: false, refund_on_cancel: false }))
  expect(text(comp, '.detail-status')).toBe('已签到，请候诊')
  expect(text(comp, '.checked-in-queue')).toBe('就诊序号 3 号')
  expect(exists(comp, '.check-in')).toBe(false)
  expect(exists(comp, '.cancel-btn')).toBe(false)
})

test('suspended without an offer: status and 停诊原因 instead of the queue number and QR', async () => {
  const comp = await openDetail(fx.suspended({ rebook: null }))
  expect(text(comp, '.detail-status')).toBe('已停诊')
  expect(text(comp, '.detail-reason')).toBe('停诊原因：医生临时出诊任务')
  expect(exists(comp, '.detail-queue')).toBe(false)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(exists(comp, '.rebook')).toBe(false)
  expect(text(comp, '.fee-refund-status')).toBe('退款中')
})

describe('停诊 rebook offer', () => {
  const other = fx.rebookOption({
    schedule_id: 201, slot_id: 2100, same_doctor: false, doctor: { id: 8, name: '王五', title: '副主任医师' },
    visit_date: fx.TOMORROW, starts_at: fx.at(fx.TOMORROW, '14:00'), ends_at: fx.at(fx.TOMORROW, '14:30'), period: 'afternoon', period_label: '下午', queue_number: 5, fee_fen: 3000,
  })
  const same = fx.rebookOption()
  const offer = (over = {}) => fx.suspended({ rebook: fx.rebookOffer(Object.assign({ options: [other, same] }, over)) })

  test('the card: hold time, same doctor first and marked, each option with its details, and keeping the refund', async () => {
    const expires = fx.fromNow(60 * 60 * 1000)
    const comp = await openDetail(offer({ expires_at: expires }))
    const hhmm = format.date(expires) === format.today() ? format.time(expires) : format.shortDateTime(expires)
    expect(text(comp, '.rebook-title')).toBe(`医生停诊，已为您保留以下号源至 ${hhmm}`)
    const options = all(comp, '.rebook-option')
    expect(options).toHaveLength(2)
    expect(all(comp, '.same-doctor')).toHaveLength(1)
    // Each option: the time first (what the patient chooses by), its fee, then who and which number.
    const texts = (sel) => all(comp, sel).map((n) => text(n))
    expect(texts('.rebook-time')).toEqual([`${format.visitLabel(same.visit_date, '上午')} 08:30-09:00`, `${format.visitLabel(fx.TOMORROW, '下午')} 14:00-14:30`])
    expect(texts('.rebook-fee')).toEqual(['¥50.00', '¥30.00'])
    expect(texts('.rebook-who').map((t) => t.replace(/\s+/g, ''))).toEqual(['同一医生张三主任医师·第2号', '王五副主任医师·第5号'])
    expect(texts('.rebook-place')).toEqual(['心内科（门诊楼2层A区）', '心内科（门诊楼2层A区）'])
    expect(options[0].dom.className).toContain('rebook-option-same')
    expect(text(options[1])).not.toContain('同一医生')
    expect(options[1].dom.className).not.toContain('rebook-option-same')
    // Full-width buttons (no btn-small), one per option.
    all(comp, '.rebook-pick').forEach((n) => expect(n.dom.className).not.toContain('btn-small'))
    expect(all(comp, '.rebook-pick').map((n) => text(n))).toEqual(['改约到此', '改约到此'])
    expect(text(comp, '.rebook-keep')).toContain('不改约，保留退款')
    expect(text(comp, '.fee-refund-status')).toBe('退款中') // the refund under way is shown
    expect(exists(comp, '.detail-queue')).toBe(false)
  })

  test('改约到此 posts the option and goes to the new appointment (booked: the result page)', async () => {
    fake.route('POST /api/v1/appointments/:id/rebook', { status: 201, body: fx.paid({ id: 950, queue_number: 5 }) })
    const comp = await openDetail(offer())
    tap(comp, '.rebook-pick', 1) // 王五
    await settle()
    const calls = fake.calls('POST /api/v1/appointments/900/rebook')
    expect(calls).toHaveLength(1)
    expect(calls[0].body).toEqual({ schedule_id: 201 })
    expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=950&rebooked=1' }))
  })

  test('a new appointment waiting for payment goes to the payment page', async () => {
    fake.route('POST /api/v1/appointments/:id/rebook', { status: 201, body: fx.unpaid(undefined, { id: 951 }) })
    const comp = await openDetail(offer())
    tap(comp, '.rebook-pick', 0)
    await settle()
    expect(fake.calls('POST /api/v1/appointments/900/rebook')[0].body).toEqual({ schedule_id: 200 })
    expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=951&rebooked=1' }))
  })

  test('an offer past expires_at says so, offers no option, and leads to booking again', async () => {
    const comp = await openDetail(offer({ expires_at: fx.fromNow(-60 * 1000) }))
    expect(exists(comp, '.rebook-pick')).toBe(false)
    expect(text(comp, '.rebook-expired')).toContain('已过期')
    tap(comp, '.rebook-again')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/department/department?id=11&hospitalId=1' }))
  })

  test('the hold running out while the page is open turns the card to expired', async () => {
    const comp = await openDetail(offer({ expires_at: fx.fromNow(1500) }))
    expect(exists(comp, '.rebook-pick')).toBe(true)
    await waitFor(() => exists(comp, '.rebook-expired'), { what: 'the expired offer' })
    expect(exists(comp, '.rebook-pick')).toBe(false)
  })

  test('409 REBOOK_OFFER_EXPIRED: the server’s words, no option left', async () => {
    fake.route('POST /api/v1/appointments/:id/rebook', fx.error(409, 'REBOOK_OFFER_EXPIRED', '改约号源保留已过期'))
    const comp = await openDetail(offer())
    tap(comp, '.rebook-pick')
    await settle()
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '改约已过期', content: '改约号源保留已过期' }))
    expect(text(comp, '.rebook-expired')).toBe('改约号源保留已过期')
    expect(exists(comp, '.rebook-pick')).toBe(false)
    comp.instance.onShow() // a reload keeps the server's verdict even if the phone's clock disagrees
    await settle()
    expect(exists(comp, '.rebook-pick')).toBe(false)
  })

  test('409 REBOOK_ALREADY_ACCEPTED: reloads and links to the accepted appointment', async () => {
    let accepted = null
    fake.route('GET /api/v1/appointments/:id', () => ({ body: offer({ accepted_appointment_id: accepted }) }))
    fake.route('POST /api/v1/appointments/:id/rebook', () => {
      accepted = 960
      return fx.error(409, 'REBOOK_ALREADY_ACCEPTED', '您已改约，请查看新的预约')
    })
    const comp = open('appointment', { id: '900' })
    await settle()
    tap(comp, '.rebook-pick')
    await settle()
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '您已改约，请查看新的预约' }))
    expect(exists(comp, '.rebook-pick')).toBe(false)
    expect(text(comp, '.rebook-accepted')).toContain('您已改约')
    tap(comp, '.rebook-open-accepted')
    await settle()
    expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=960' }))
  })

  test('REBOOK_ALREADY_ACCEPTED with the new appointment only in the error detail still links to it', async () => {
    fake.route('POST /api/v1/appointments/:id/rebook', { status: 409, body: { code: 'REBOOK_ALREADY_ACCEPTED', message: '您已改约', detail: { appointment_id: 961 } } })
    const comp = await openDetail(offer())
    tap(comp, '.rebook-pick')
    await settle()
    tap(comp, '.rebook-open-accepted')
    await settle()
    expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=961' }))
  })

  test('an accepted offer (accepted_appointment_id) links straight to the new appointment', async () => {
    const comp = await openDetail(offer({ accepted_appointment_id: 960 }))
    expect(exists(comp, '.rebook-pick')).toBe(false)
    tap(comp, '.rebook-open-accepted')
    await settle()
    expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=960' }))
  })

  test('another refusal (option gone) is shown and the offer reloaded', async () => {
    fake.route('POST /api/v1/appointments/:id/rebook', fx.error(404, 'REBOOK_OPTION_NOT_FOUND', '该改约号源不存在'))
    const comp = await openDetail(offer())
    tap(comp, '.rebook-pick')
    await settle()
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '改约失败', content: '该改约号源不存在' }))
    expect(fake.calls('GET /api/v1/appointments/900')).toHaveLength(2)
  })
})

test('reloads on show (back from payment)', async () => {
  const comp = await openDetail(fx.unpaid())
  fake.route('GET /api/v1/appointments/:id', { body: fx.appointment() })
  comp.instance.onShow()
  await settle()
  expect(text(comp, '.detail-status')).toBe('待就诊')
})

test('someone else’s appointment: the server’s message', async () => {
  fake.route('GET /api/v1/appointments/:id', fx.error(404, 'APPOINTMENT_NOT_FOUND', '预约不存在'))
  const comp = open('appointment', { id: '5' })
  await settle()
  expect(text(comp, '.state-error')).toContain('预约不存在')
})
