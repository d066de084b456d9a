const { open, text, tap, exists } = require('../support/pages')
const fx = require('../support/fixtures')

beforeEach(() => loggedIn())

test('a booked appointment: success, queue number, Shanghai time and the place', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.appointment() })
  const comp = open('result', { id: '900' })
  await settle()
  expect(text(comp, '.result-headline')).toBe('预约成功')
  expect(text(comp, '.result-queue')).toBe('就诊序号 3 号')
  expect(text(comp, '.result-time')).toBe(`${require('../../utils/format').visitLabel(fx.TOMORROW, '上午')} 09:00-09:30`)
  expect(text(comp, '.result-place')).toBe('北京协和医院 心内科（门诊楼2层A区）')
  expect(exists(comp, '.result-pay')).toBe(false)
})

test('ways on: detail, my appointments, home', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.appointment() })
  const comp = open('result', { id: '900' })
  await settle()
  tap(comp, '.result-detail')
  tap(comp, '.result-list')
  tap(comp, '.result-home')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=900' }))
  expect(wx.switchTab.mock.calls.map((c) => c[0].url)).toEqual(['/pages/appointments/appointments', '/pages/index/index'])
})

test('a pending payment offers to pay', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.appointment({ status: 'pending_payment', status_label: '待支付' }) })
  const comp = open('result', { id: '900' })
  await settle()
  expect(text(comp, '.result-headline')).toBe('待支付')
  tap(comp, '.result-pay')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=900' }))
})

test('a load failure has a retry and a way home', async () => {
  fake.route('GET /api/v1/appointments/:id', 'network')
  const comp = open('result', { id: '900' })
  await settle()
  expect(text(comp, '.state-error')).toContain('网络连接失败')
  expect(exists(comp, '.state-home')).toBe(true)
})

test('after a 停诊 rebook: 改约成功, and what was paid', async () => {
  fake.route('GET /api/v1/appointments/:id', { body: fx.paid({ id: 950 }) })
  const comp = open('result', { id: '950', rebooked: '1' })
  await settle()
  expect(text(comp, '.result-headline')).toBe('改约成功')
  expect(text(comp, '.result-pay-status')).toBe('（已支付）')
})
