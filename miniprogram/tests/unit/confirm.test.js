const { open, text, all, tap, exists, one } = require('../support/pages')
const fx = require('../support/fixtures')

function setup({ patients = [fx.patient({ id: 51, name: '李父', relationship: 'parent', relationship_label: '父母' }), fx.patient()], slotStatuses } = {}) {
  loggedIn()
  fake.route('GET /api/v1/config', { body: fx.CONFIG })
  fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 100 }, slotStatuses) })
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/me/patients', { body: { items: patients, total: patients.length } })
}

async function openConfirm(query = { scheduleId: '100', slotId: '1000', doctorId: '7' }) {
  const comp = open('confirm', query)
  await settle()
  return comp
}

test('shows the visit, the fee, the rules and picks 本人 by default', async () => {
  setup()
  const comp = await openConfirm()
  expect(text(comp, '.confirm-doctor')).toBe('张三 主任医师')
  expect(text(comp, '.confirm-time')).toBe('08:00-08:30（1号）')
  expect(text(comp, '.confirm-fee')).toBe('¥50.00')
  expect(text(comp, '.booking-rules')).toContain('最晚于就诊前2小时取消预约')
  expect(text(comp, '.booking-rules')).not.toContain('以前可取消')
  expect(text(comp, '.patient-option.chosen')).toContain('李四')
  expect(text(comp, '.submit')).toBe('确认预约')
  expect(text(comp, '.confirm-bar')).toBe('到院支付 ¥50.00 确认预约')
})

test('submitting asks for the subscriptions, then books with an Idempotency-Key and shows the result', async () => {
  setup()
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment() })
  const comp = await openConfirm()
  tap(comp, '.patient-option', 0) // 李父
  tap(comp, '.submit')
  await settle()
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-confirmed', 'tmpl-reminder'] }))
  const [req] = fake.calls('POST /api/v1/appointments')
  expect(req.body).toEqual({ schedule_id: 100, slot_id: 1000, patient_id: 51 })
  expect(req.header['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
  expect(wx.requestSubscribeMessage.mock.invocationCallOrder[0]).toBeLessThan(wx.request.mock.invocationCallOrder[wx.request.mock.calls.length - 1])
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
})

test('refusing the subscriptions does not stop the booking', async () => {
  setup()
  fake.subscribeAnswer = 'reject'
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment() })
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(fake.calls('POST /api/v1/appointments')).toHaveLength(1)
})

test('a booking that must be paid goes to the payment page', async () => {
  setup()
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment({ status: 'pending_payment', status_label: '待支付' }) })
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=900' }))
})

test('a retry after a network failure reuses the Idempotency-Key; a new choice gets a new one', async () => {
  setup()
  let n = 0
  fake.route('POST /api/v1/appointments', () => (++n === 1 ? 'network' : { status: 201, body: fx.appointment() }))
  fake.modalConfirm = true // tap 重试
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '预约未完成', confirmText: '重试' }))
  expect(wx.showModal.mock.calls[0][0].content).toContain('网络连接失败')
  const [first, second] = fake.calls('POST /api/v1/appointments')
  expect(second.header['Idempotency-Key']).toBe(first.header['Idempotency-Key'])
  expect(wx.redirectTo).toHaveBeenCalledTimes(1)
  expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1) // not again on the retry

  // A server error leaves the attempt open; choosing someone else starts a new attempt.
  const comp2 = await openConfirm()
  fake.route('POST /api/v1/appointments', { status: 503, body: { code: 'UPSTREAM_UNAVAILABLE', message: '外部服务暂不可用，请稍后再试' } })
  fake.modalConfirm = false
  tap(comp2, '.submit')
  await settle()
  tap(comp2, '.submit')
  await settle()
  tap(comp2, '.patient-option', 0)
  tap(comp2, '.submit')
  await settle()
  const keys = fake.calls('POST /api/v1/appointments').slice(2).map((r) => r.header['Idempotency-Key'])
  expect(keys[0]).toBe(keys[1])
  expect(keys[2]).not.toBe(keys[1])
})

test("sold out: the server's message, and back to choose again", async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'SOLD_OUT', '该时段号源已约满'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该时段号源已约满', confirmText: '重新选择' }))
  expect(wx.navigateBack).toHaveBeenCalled()
  expect(text(comp, '.unavailable')).toContain('该时段号源已约满')
})

test('a duplicate booking offers to show my appointments', async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'DUPLICATE_BOOKING', '该就诊人已预约此时段'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该就诊人已预约此时段', confirmText: '查看预约' }))
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointments/appointments' }))
})

test('other refusals are shown in the server’s words', async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'BLACKLISTED', '您因多次爽约暂不能预约'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '您因多次爽约暂不能预约', showCancel: false }))
})

test('a slot taken since it was picked is shown before submitting', async () => {
  setup({ slotStatuses: ['booked', 'available'] })
  const comp = await openConfirm()
  expect(text(comp, '.unavailable')).toContain('该号源已被预约，请返回选择其他号源')
  tap(comp, '.submit')
  await settle()
  expect(fake.calls('POST /api/v1/appointments')).toHaveLength(0)
  tap(comp, '.pick-again')
  await settle()
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('without 就诊人 the page asks to add one, and picks it up on return', async () => {
  setup({ patients: [] })
  const comp = await openConfirm()
  expect(text(comp, '.no-patients')).toContain('还没有就诊人')
  tap(comp, '.submit')
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请选择就诊人' }))
  tap(comp, '.add-first-patient')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/patient-edit/patient-edit' }))
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient({ id: 60, name: '新人' })], total: 1 } })
  comp.instance.onShow()
  await settle()
  expect(text(comp, '.patient-option.chosen')).toContain('新人')
  expect(exists(comp, '.no-patients')).toBe(false)
})

test('a load failure shows the error with a retry', async () => {
  setup()
  fake.route('GET /api/v1/schedules/:id/slots', fx.error(404, 'SCHEDULE_NOT_FOUND', '排班不存在'))
  const comp = await openConfirm()
  expect(text(comp, '.state-error')).toContain('排班不存在')
  expect(all(comp, '.state-retry')).toHaveLength(1)
})

describe('the sticky bottom bar: fee, how it is paid, the booking notice and 确认预约', () => {
  const bar = (comp) => one(comp, '.bottom-bar')

  test('pay-on-site hospital: 到院支付, and no online-payment or refund wording anywhere', async () => {
    setup()
    const comp = await openConfirm()
    expect(one(comp, '.submit').dom.closest('[class*="bottom-bar"]')).toBe(bar(comp).dom)
    expect(text(bar(comp))).toBe('到院支付 ¥50.00 确认预约')
    expect(text(comp, '.confirm-pay-mode')).toBe('到院支付')
    expect(text(comp, '.booking-rules')).toContain('挂号费¥50.00于就诊当日在医院窗口支付，预约时无需付款')
    expect(text(comp)).not.toMatch(/在线支付|原路|退回/)
  })

  test('pay-first hospital: 在线支付 and the refund rule', async () => {
    setup()
    fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital({ booking_rules: Object.assign({}, fx.RULES, { payment_required: true }) }) })
    const comp = await openConfirm()
    expect(text(bar(comp))).toBe('在线支付 ¥50.00 确认预约')
    expect(text(comp, '.booking-rules')).toContain('预约后请在线支付挂号费¥50.00')
    expect(text(comp)).not.toContain('到院支付')
  })

  test('a free session says 免费 without a payment mode', async () => {
    setup()
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 100, fee_fen: 0 }) })
    const comp = await openConfirm()
    expect(text(bar(comp))).toBe('挂号费 免费 确认预约')
    expect(exists(comp, '.confirm-pay-mode')).toBe(false)
  })

  test("the schedule's booking_notice is shown as a warning right above 确认预约", async () => {
    setup()
    fake.route('GET /api/v1/schedules/:id/slots', {
      body: fx.slots({ id: 100, booking_notice: '就诊当日预约，支付后不可取消退款', cancel_deadline: fx.at(fx.TOMORROW, '06:00') }),
    })
    const comp = await openConfirm()
    const notice = one(comp, '.booking-notice')
    expect(text(notice)).toBe('⚠ 就诊当日预约，支付后不可取消退款')
    expect(notice.dom.className).toMatch(/notice-warn/)
    // Inside the bar, before the button (document order).
    const html = bar(comp).dom.innerHTML
    expect(html.indexOf('就诊当日预约')).toBeLessThan(html.indexOf('确认预约'))
    expect(one(comp, '.page').dom.className).toMatch(/has-bar-notice/)
    expect(text(comp, '.confirm-cancel-deadline')).toBe(`${fx.TOMORROW} 06:00 前可取消`)
  })

  test('no booking_notice (null, or a server without the field): no warning', async () => {
    setup()
    const comp = await openConfirm()
    expect(exists(comp, '.booking-notice')).toBe(false)
    expect(exists(comp, '.confirm-cancel-deadline')).toBe(false)
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 100, booking_notice: null }) })
    const again = await openConfirm()
    expect(exists(again, '.booking-notice')).toBe(false)
  })

  test('a suspended (停诊) schedule cannot be booked', async () => {
    setup()
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 100, status: 'suspended', status_label: '停诊', remaining: 0, bookable: false }) })
    const comp = await openConfirm()
    expect(text(comp, '.unavailable')).toContain('该时段停诊')
    tap(comp, '.submit')
    await settle()
    expect(fake.calls('POST /api/v1/appointments')).toHaveLength(0)
  })
})
