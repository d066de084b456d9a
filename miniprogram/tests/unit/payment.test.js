const { open, text, tap, waitFor } = require('../support/pages')
const fx = require('../support/fixtures')

const PENDING = fx.appointment({ status: 'pending_payment', status_label: '待支付', pay_deadline: fx.at(fx.TODAY, '10:30'), cancellable: true })
const PARAMS = { timeStamp: '1700000000', nonceStr: 'abc', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'sig==' }

async function openPayment() {
  const comp = open('payment', { id: '900' })
  comp.instance.pollIntervalMs = 1
  await settle()
  return comp
}

beforeEach(() => {
  loggedIn()
  fake.route('POST /api/v1/appointments/:id/pay', { body: PARAMS })
})

test('shows the fee and the deadline', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  const comp = await openPayment()
  expect(text(comp, '.pay-amount')).toBe('¥50.00')
  expect(text(comp, '.pay-deadline')).toBe(`请在 ${fx.TODAY} 10:30 前完成支付，超时号源将自动释放`)
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

test('a refusal from the server is shown in its words', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: PENDING })
  fake.route('POST /api/v1/appointments/:id/pay', fx.error(409, 'PAYMENT_EXPIRED', '支付已超时，预约已取消'))
  const comp = await openPayment()
  tap(comp, '.pay-btn')
  await settle()
  expect(wx.requestPayment).not.toHaveBeenCalled()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '支付已超时，预约已取消' }))
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
