const { open, text, tap, exists, waitFor, one } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

const PARAMS = { timeStamp: '1700000000', nonceStr: 'abc', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'sig==' }
const PENDING = fx.unpaid() // 10 minutes left
const EXPIRED_MESSAGE = '支付时间已过，号源已释放，请重新预约'

async function openPayment({ tickMs } = {}) {
  const comp = open('payment', { id: '900' })
  comp.instance.pollIntervalMs = 1
  if (tickMs) comp.instance.countdownTickMs = tickMs
  await settle()
  return comp
}

beforeEach(() => {
  loggedIn()
  fake.route('POST /api/v1/appointments/:id/pay', { body: Object.assign({ appointment_id: 900, amount_fen: 5000, pay_deadline: PENDING.pay_deadline }, PARAMS) })
})

test('shows the fee, the time left and the deadline', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  const comp = await openPayment()
  expect(text(comp, '.pay-amount')).toBe('¥50.00')
  expect(text(comp, '.pay-remain')).toMatch(/^剩余支付时间 (09:5\d|10:00)$/)
  expect(text(comp, '.pay-deadline')).toBe(`请在 ${format.dateTime(PENDING.pay_deadline)} 前完成支付，超时号源将自动释放`)
  expect(exists(comp, '.pay-expired')).toBe(false)
  expect(comp.instance.payTimer).toBeTruthy()
  comp.detach()
  expect(comp.instance.payTimer).toBeNull() // the countdown stops with the page
})

test('the countdown reaching zero closes the payment: no pay button, 重新预约 instead', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.unpaid(fx.fromNow(300)) })
  const comp = await openPayment({ tickMs: 20 })
  expect(exists(comp, '.pay-btn')).toBe(true)
  await waitFor(() => exists(comp, '.pay-expired'), { what: 'the expired notice' })
  expect(text(comp, '.pay-expired')).toContain(EXPIRED_MESSAGE)
  expect(exists(comp, '.pay-btn')).toBe(false)
  expect(exists(comp, '.pay-remain')).toBe(false)
  tap(comp, '.book-again')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/doctor/doctor?id=7&date=${fx.TOMORROW}` }))
  expect(fake.calls('POST /api/v1/appointments/900/pay')).toHaveLength(0)
})

test('a deadline already past (the server has not released the slot yet) is shown as expired at once', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.unpaid(fx.fromNow(-60 * 1000)) })
  const comp = await openPayment()
  expect(text(comp, '.pay-expired')).toContain(EXPIRED_MESSAGE)
  expect(exists(comp, '.pay-btn')).toBe(false)
  expect(exists(comp, '.view-appointment')).toBe(true)
  expect(exists(comp, '.pay-home')).toBe(true)
})

test("pays with the server's parameters, then polls until the appointment is booked", async () => {
  let polls = 0
  fake.route('GET /api/v1/appointments/:id', () => ({ body: ++polls >= 3 ? fx.appointment() : PENDING }))
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await waitFor(() => wx.redirectTo.mock.calls.length > 0, { what: 'redirect to result' })
  expect(wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining(PARAMS))
  expect(fake.calls('POST /api/v1/appointments/900/pay')).toHaveLength(1)
  expect(polls).toBe(3)
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
})

test('cancelling the payment sheet says so and stays', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  fake.payOutcome = 'cancel'
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(text(comp, '.pay-error')).toBe('您已取消支付，可在截止时间前重新支付')
  expect(wx.redirectTo).not.toHaveBeenCalled()
})

test('PAYMENT_EXPIRED from the server: its words in a modal and on the page, and 重新预约 instead of paying', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  fake.route('POST /api/v1/appointments/:id/pay', fx.error(409, 'PAYMENT_EXPIRED', '支付时间已过，号源已释放，请重新预约'))
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(wx.requestPayment).not.toHaveBeenCalled()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '支付已超时', content: '支付时间已过，号源已释放，请重新预约' }))
  expect(text(comp, '.pay-expired')).toContain('支付时间已过，号源已释放，请重新预约')
  expect(exists(comp, '.pay-btn')).toBe(false)
  expect(exists(comp, '.pay-remain')).toBe(false)
  expect(exists(comp, '.book-again')).toBe(true)
})

test('NOT_AWAITING_PAYMENT (paid or cancelled meanwhile): says so and shows what the appointment is now', async () => {
  let status = PENDING
  fake.route('GET /api/v1/appointments/:id', () => ({ body: status }))
  fake.route('POST /api/v1/appointments/:id/pay', () => {
    status = fx.appointment()
    return fx.error(409, 'NOT_AWAITING_PAYMENT', '该预约无需支付或已支付')
  })
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该预约无需支付或已支付' }))
  expect(wx.requestPayment).not.toHaveBeenCalled()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
})

test('any other refusal is shown in the server’s words, and paying stays possible', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  fake.route('POST /api/v1/appointments/:id/pay', fx.error(502, 'WECHAT_PAY_UNAVAILABLE', '微信支付暂不可用，请稍后再试'))
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '支付失败', content: '微信支付暂不可用，请稍后再试' }))
  expect(text(comp, '.pay-error')).toBe('微信支付暂不可用，请稍后再试')
  expect(exists(comp, '.pay-btn')).toBe(true)
  expect(exists(comp, '.pay-expired')).toBe(false)
})

test('if the server has not seen the payment after polling, the page says where to look', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  const comp = await openPayment()
  comp.instance.pollTimes = 3
  tap(comp, '.pay-btn')
  await waitFor(() => text(comp, '.pay-error') !== '', { what: 'the pending message' })
  expect(text(comp, '.pay-error')).toContain('支付结果确认中')
})

test('an appointment that no longer waits for payment goes straight to the result', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.appointment() })
  await openPayment()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
})

test('paying later leads to the appointment', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  const comp = await openPayment()
  tap(comp, '.view-appointment')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=900' }))
})

test('payment_notice is shown as a warning before the pay button', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.unpaid(undefined, { payment_notice: '就诊当日预约，支付后不可取消退款' }) })
  const comp = await openPayment()
  expect(text(comp, '.pay-notice')).toBe('支付前请注意 就诊当日预约，支付后不可取消退款')
  expect(one(comp, '.pay-notice').dom.className).toContain('notice-warn') // a warning, not an amber note
  const html = comp.dom.innerHTML
  expect(html.indexOf('pay-notice')).toBeLessThan(html.indexOf('pay-btn'))
})

test('no payment_notice: no warning', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  const comp = await openPayment()
  expect(exists(comp, '.pay-notice')).toBe(false)
})

test('HOLD_EXPIRED (the hold already released) is handled exactly like PAYMENT_EXPIRED', async () => {
  const message = '该预约已超过支付时限，号源已释放，请重新预约'
  fake.route('GET /api/v1/appointments/:id', { body: fx.unpaid(undefined, { payment_notice: '就诊当日预约，支付后不可取消退款' }) })
  fake.route('POST /api/v1/appointments/:id/pay', fx.error(409, 'HOLD_EXPIRED', message))
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(wx.requestPayment).not.toHaveBeenCalled()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '支付已超时', content: message }))
  expect(text(comp, '.pay-expired')).toContain(message)
  expect(exists(comp, '.pay-btn')).toBe(false)
  expect(exists(comp, '.pay-notice')).toBe(false)
  tap(comp, '.book-again')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/doctor/doctor?id=7&date=${fx.TOMORROW}` }))
})
