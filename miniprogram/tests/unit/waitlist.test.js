const { open, text, all, exists, tap, one, waitFor } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')
const waitlistUtil = require('../../utils/waitlist')

beforeEach(() => loggedIn())

async function openList(items) {
  fake.route('GET /api/v1/waitlist', { body: { items, total: items.length } })
  const comp = open('waitlist')
  await settle()
  return comp
}

test('entries with their status, visit, 就诊人 and position (前面还有 N 人)', async () => {
  const comp = await openList([fx.waitlistEntry(), fx.waitlistEntry({ id: 301, position: 1, waiting_ahead: 0, patient: { id: 51, name: '李建国' } })])
  const cards = all(comp, '.waitlist-item')
  expect(cards).toHaveLength(2)
  expect(text(one(comp, '.entry-status', 0))).toBe('候补中')
  expect(text(one(comp, '.entry-doctor', 0))).toBe('张三')
  expect(text(one(comp, '.entry-place', 0))).toBe('北京协和医院 心内科')
  expect(text(one(comp, '.entry-visit', 0))).toBe(`${format.visitLabel(format.addDays(fx.TODAY, 2), '上午')} 08:00 开诊`)
  expect(text(one(comp, '.entry-patient', 0))).toBe(`就诊人：李四 · ${fx.TODAY} 08:00 加入候补`)
  expect(text(one(comp, '.entry-position', 0))).toBe('前面还有 2 人')
  expect(text(one(comp, '.entry-position', 1))).toBe('您排在第 1 位，有号源释放将首先为您保留')
  expect(exists(comp, '.confirm-offer')).toBe(false)
  expect(all(comp, '.leave')).toHaveLength(2)
})

test('an offer counts down (请在 mm:ss 内确认), sits on top, and at zero the list is reloaded', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] })
  try {
    fake.route('GET /api/v1/waitlist', { body: { items: [fx.waitlistEntry(), fx.offeredEntry(3, { id: 302 })], total: 2 } })
    const comp = open('waitlist')
    // The fake's answers come on a timer: let them through (10 ms, far from the next second).
    for (let i = 0; i < 10; i++) await jest.advanceTimersByTimeAsync(1)
    expect(all(comp, '.waitlist-item').map((n) => n.dom.getAttribute('data-id'))).toEqual(['302', '300'])
    expect(text(comp, '.offer-title')).toBe('已为您保留 4 号')
    expect(text(comp, '.offer-countdown')).toBe('请在 00:03 内确认')
    expect(text(comp, '.entry-status')).toBe('待确认')
    await jest.advanceTimersByTimeAsync(1000)
    expect(text(comp, '.offer-countdown')).toBe('请在 00:02 内确认')
    await jest.advanceTimersByTimeAsync(1000)
    expect(text(comp, '.offer-countdown')).toBe('请在 00:01 内确认')
    // The server has passed the slot on by now.
    fake.route('GET /api/v1/waitlist', { body: { items: [fx.waitlistEntry(), fx.waitlistEntry({ id: 302, status: 'ended', status_label: '已结束', position: null, waiting_ahead: null, end_reason: '未在保留时间内确认，号源已让给下一位' })], total: 2 } })
    await jest.advanceTimersByTimeAsync(1000)
    for (let i = 0; i < 10; i++) await jest.advanceTimersByTimeAsync(1)
    expect(fake.calls('GET /api/v1/waitlist')).toHaveLength(2)
    expect(exists(comp, '.confirm-offer')).toBe(false)
    expect(text(comp, '.entry-ended')).toBe('未在保留时间内确认，号源已让给下一位')
  } finally {
    jest.useRealTimers()
  }
})

test('the countdown goes by the seconds the server said were left, not the phone’s clock', () => {
  const received = Date.now()
  // A phone 10 minutes fast would read expires_at as already past; seconds_left keeps 5 minutes.
  const entry = fx.offeredEntry(300, { offer: { slot_number: 4, expires_at: new Date(received - 60000).toISOString(), seconds_left: 300 } })
  const view = waitlistUtil.entryView(entry, received)
  expect(view.expired).toBe(false)
  expect(view.remainText).toBe('05:00')
  const noSeconds = waitlistUtil.entryView(fx.offeredEntry(0, { offer: { slot_number: 4, expires_at: new Date(received + 90000).toISOString() } }), received)
  expect(noSeconds.remainText).toMatch(/^01:(29|30)$/)
})

test('确认预约 of an offer at a pay-first hospital goes on to the payment page', async () => {
  const comp = await openList([fx.offeredEntry(600)])
  fake.route('POST /api/v1/waitlist/:id/confirm', { status: 201, body: fx.unpaid(undefined, { id: 950 }) })
  tap(comp, '.confirm-offer')
  await settle()
  expect(fake.calls('POST /api/v1/waitlist/300/confirm')).toHaveLength(1)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=950' }))
})

test('确认预约 where the fee is paid at the hospital goes to the result page', async () => {
  const comp = await openList([fx.offeredEntry(600)])
  fake.route('POST /api/v1/waitlist/:id/confirm', { status: 201, body: fx.appointment({ id: 951 }) })
  tap(comp, '.confirm-offer')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=951' }))
})

test('a refused confirmation says why in the server’s words and shows the list as it is now', async () => {
  const comp = await openList([fx.offeredEntry(600)])
  fake.route('POST /api/v1/waitlist/:id/confirm', fx.error(409, 'CONFLICT', '保留时间已过，号源已让给下一位候补患者'))
  fake.route('GET /api/v1/waitlist', { body: { items: [fx.waitlistEntry({ status: 'ended', status_label: '已结束', end_reason: '保留时间已过' })], total: 1 } })
  tap(comp, '.confirm-offer')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '无法确认', content: '保留时间已过，号源已让给下一位候补患者' }))
  expect(wx.navigateTo).not.toHaveBeenCalled()
  expect(text(comp, '.entry-status')).toBe('已结束')
  expect(exists(comp, '.leave')).toBe(false)
})

test('取消候补 asks first (an offered slot passes on), then DELETE and the list again', async () => {
  const comp = await openList([fx.offeredEntry(600)])
  fake.route('DELETE /api/v1/waitlist/:id', { status: 204 })
  fake.modalConfirm = false
  tap(comp, '.leave')
  await settle()
  expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '取消候补？', content: '为您保留的号源将让给下一位候补的患者，取消后不可恢复。' })
  expect(fake.calls('DELETE /api/v1/waitlist/300')).toHaveLength(0)
  fake.modalConfirm = true
  fake.route('GET /api/v1/waitlist', { body: { items: [], total: 0 } })
  tap(comp, '.leave')
  await settle()
  expect(fake.calls('DELETE /api/v1/waitlist/300')).toHaveLength(1)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已取消候补' }))
  expect(text(comp, '.state-empty')).toContain('还没有候补')
})

test('a waiting entry’s confirmation names the doctor and the visit', async () => {
  const comp = await openList([fx.waitlistEntry()])
  fake.modalConfirm = false
  tap(comp, '.leave')
  await settle()
  expect(wx.showModal.mock.calls[0][0].content).toBe(`取消后将退出 张三 ${format.visitLabel(format.addDays(fx.TODAY, 2), '上午')} 的候补队列，重新候补需重新排队。`)
})

test('a failed 取消候补 is said in the server’s words', async () => {
  const comp = await openList([fx.waitlistEntry()])
  fake.route('DELETE /api/v1/waitlist/:id', fx.error(404, 'NOT_FOUND', '候补记录不存在'))
  tap(comp, '.leave')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '无法取消候补', content: '候补记录不存在' }))
})

test('a booked entry leads to its appointment; an ended one says why', async () => {
  const comp = await openList([
    fx.waitlistEntry({ id: 303, status: 'booked', status_label: '已预约', position: null, waiting_ahead: null, appointment_id: 960 }),
    fx.waitlistEntry({ id: 304, status: 'ended', status_label: '已结束', position: null, waiting_ahead: null, end_reason: '出诊已开始，候补结束' }),
  ])
  expect(text(comp, '.entry-booked')).toBe('已为您预约成功 查看预约')
  tap(comp, '.open-appointment')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=960' }))
  expect(text(comp, '.entry-ended')).toBe('出诊已开始，候补结束')
  expect(exists(comp, '.leave')).toBe(false)
})

test('医生主页 from an entry opens the doctor on that day', async () => {
  const comp = await openList([fx.waitlistEntry()])
  tap(comp, '.open-doctor')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/doctor/doctor?id=7&date=${format.addDays(fx.TODAY, 2)}` }))
})

test('no entries: how to join one, and a way to book', async () => {
  const comp = await openList([])
  expect(text(comp, '.state-empty')).toBe('还没有候补。医生号源约满时，可在医生主页加入候补 去预约')
  expect(exists(comp, '.waitlist-hint')).toBe(false)
})

test('the timer stops when the page is hidden', async () => {
  const comp = await openList([fx.offeredEntry(600)])
  expect(comp.instance.timer).toBeTruthy()
  comp.instance.onHide()
  expect(comp.instance.timer).toBe(null)
})
