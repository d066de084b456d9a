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

test('cancelling asks first, stating the deadline and the refund rule, then frees the appointment', async () => {
  const comp = await openDetail(fx.appointment())
  expect(text(comp, '.cancel-rule')).toContain(`可在 ${fx.TOMORROW} 07:00 前取消`)
  fake.route('POST /api/v1/appointments/:id/cancel', { body: fx.appointment({ status: 'cancelled', status_label: '已取消', cancellable: false }) })
  tap(comp, '.cancel-btn')
  await settle()
  const modal = wx.showModal.mock.calls[0][0]
  expect(modal.title).toBe('确认取消预约？')
  expect(modal.content).toContain('将原路全额退回')
  expect(modal.content).toContain(`取消截止：${fx.TOMORROW} 07:00`)
  expect(fake.calls('POST /api/v1/appointments/900/cancel')).toHaveLength(1)
  expect(text(comp, '.detail-status')).toBe('已取消')
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已取消预约' }))
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

test('past the deadline there is no cancel button, and the page says why', async () => {
  const comp = await openDetail(fx.appointment({ cancellable: false }))
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(text(comp, '.cancel-closed')).toContain('已过取消截止时间')
})

test('an unpaid appointment shows the deadline and the time left, offers to pay and has no check-in code yet', async () => {
  const a = fx.unpaid()
  const comp = await openDetail(a)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(text(comp, '.to-pay')).toContain(`请在 ${format.dateTime(a.pay_deadline)} 前支付挂号费 ¥50.00`)
  expect(text(comp, '.pay-remain')).toMatch(/^剩余支付时间 (09:5\d|10:00)$/)
  expect(exists(comp, '.pay-expired')).toBe(false)
  // Cancelling an unpaid one: nothing to refund, and the confirmation says so.
  expect(text(comp, '.cancel-rule')).toContain('该预约尚未支付，取消后号源将立即释放')
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
  const comp = await openDetail(fx.appointment({ status: 'expired', status_label: '已过期', cancellable: false, pay_deadline: null }))
  expect(text(comp, '.detail-status')).toBe('已过期')
  expect(text(comp, '.pay-expired')).toContain('支付时间已过，号源已释放，请重新预约')
  expect(exists(comp, '.pay-now')).toBe(false)
  expect(exists(comp, '.cancel-btn')).toBe(false)
  expect(exists(comp, '.check-in')).toBe(false)
  expect(exists(comp, '.book-again')).toBe(true)
})

test('a cancelled appointment with a fee says the money goes back and where to follow it', async () => {
  const comp = await openDetail(fx.appointment({ status: 'cancelled', status_label: '已取消', cancellable: false }))
  expect(text(comp, '.refund-note')).toContain('如已在线支付挂号费¥50.00，将原路全额退回')
  tap(comp, '.to-messages')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/messages/messages' }))
  const free = await openDetail(fx.appointment({ status: 'cancelled', status_label: '已取消', cancellable: false, fee_fen: 0 }))
  expect(exists(free, '.refund-note')).toBe(false)
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
