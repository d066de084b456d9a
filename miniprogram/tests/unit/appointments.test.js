const { open, text, all, tap } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

function pageOf(items, total = items.length) {
  return { body: { items, total, page: 1, page_size: 20 } }
}

beforeEach(() => loggedIn())

test('lists appointments with status, time and person', async () => {
  fake.route('GET /api/v1/me/appointments', pageOf([fx.appointment(), fx.appointment({ id: 901, status: 'cancelled', status_label: '已取消', cancellable: false })]))
  const comp = open('appointments')
  await settle()
  const items = all(comp, '.appointment-item')
  expect(items).toHaveLength(2)
  expect(text(items[0])).toContain('张三 主任医师 待就诊')
  expect(text(items[0])).toContain('09:00-09:30 · 3号')
  expect(text(items[0])).toContain('就诊人：李四')
  expect(text(items[1])).toContain('已取消')
})

test('an unpaid one says by when to pay', async () => {
  const a = fx.unpaid(fx.fromNow(10 * 60 * 1000), { id: 902 })
  fake.route('GET /api/v1/me/appointments', pageOf([a, fx.appointment()]))
  const comp = open('appointments')
  await settle()
  const items = all(comp, '.appointment-item')
  expect(text(items[0])).toContain('待支付')
  expect(text(items[0])).toContain(`请在 ${format.dateTime(a.pay_deadline)} 前支付，超时将自动取消`)
  expect(text(items[1])).not.toContain('前支付')
})

test('tabs ask for their statuses', async () => {
  fake.route('GET /api/v1/me/appointments', pageOf([]))
  const comp = open('appointments')
  await settle()
  expect(fake.calls('GET /api/v1/me/appointments')[0].query.status).toBeUndefined()
  const wanted = [undefined, 'pending_payment', 'booked', 'checked_in,completed', 'cancelled,expired,suspended,no_show']
  for (let i = 1; i < 5; i++) {
    tap(comp, '.status-tab', i)
    await settle()
    expect(fake.calls('GET /api/v1/me/appointments').pop().query.status).toBe(wanted[i])
  }
  expect(all(comp, '.status-tab').map((n) => n.dom.textContent)).toEqual(['全部', '待支付', '待就诊', '已就诊', '已取消'])
})

test('empty: says so and offers to book', async () => {
  fake.route('GET /api/v1/me/appointments', pageOf([]))
  const comp = open('appointments')
  await settle()
  expect(text(comp, '.state-empty')).toContain('暂无预约记录')
  tap(comp, '.go-book')
  await settle()
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/index/index' }))
})

test('reloads on every show and on pull-down; pages on reaching the bottom', async () => {
  fake.route('GET /api/v1/me/appointments', (req) => pageOf(req.query.page === '2' ? [fx.appointment({ id: 902 })] : [fx.appointment()], 2))
  const comp = open('appointments')
  await settle()
  comp.instance.onReachBottom()
  await settle()
  expect(all(comp, '.appointment-item')).toHaveLength(2)
  comp.instance.onShow()
  await settle()
  comp.instance.onPullDownRefresh()
  await settle()
  expect(fake.calls('GET /api/v1/me/appointments').map((r) => r.query.page)).toEqual(['1', '2', '1', '1'])
  expect(wx.stopPullDownRefresh).toHaveBeenCalled()
})

test('tapping one opens its detail', async () => {
  fake.route('GET /api/v1/me/appointments', pageOf([fx.appointment()]))
  const comp = open('appointments')
  await settle()
  tap(comp, '.appointment-item')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=900' }))
})

test('an expired login is renewed without the user noticing', async () => {
  fake.route('POST /api/v1/auth/refresh', { body: { access_token: 'access-2', refresh_token: 'refresh-2', token_type: 'bearer', expires_in: 1, refresh_expires_in: 2, account: { id: 1, is_new: false } } })
  fake.route('GET /api/v1/me/appointments', (req) =>
    req.header.Authorization === 'Bearer access-2' ? pageOf([fx.appointment()]) : fx.error(401, 'TOKEN_EXPIRED', '登录已过期，请重新登录')
  )
  const comp = open('appointments')
  await settle()
  expect(all(comp, '.appointment-item')).toHaveLength(1)
  expect(wx.showToast).not.toHaveBeenCalled()
})

describe('issue 14: money on the cards, upcoming first, 去支付', () => {
  const cancelled = (over) => fx.paid(Object.assign({ status: 'cancelled', status_label: '已取消', cancellable: false, refund_on_cancel: false }, over))

  test('each card carries a short money tag for its payment status', async () => {
    const items = [
      fx.paid({ id: 1 }),
      cancelled({ id: 2, payment: fx.payment('refunded', { refund: 'succeeded' }) }),
      cancelled({ id: 3, payment: fx.payment('refunding', { refund: 'processing' }) }),
      fx.appointment({ id: 4 }),
      fx.unpaid(undefined, { id: 5 }),
      cancelled({ id: 6, payment: fx.payment('refunding', { refund: 'abnormal' }) }),
      fx.appointment({ id: 7, status: 'expired', status_label: '已过期', cancellable: false, payment: fx.payment('unpaid') }),
      fx.appointment({ id: 8, fee_fen: 0, payment: fx.payment('not_required') }),
    ]
    fake.route('GET /api/v1/me/appointments', pageOf(items))
    const comp = open('appointments')
    await settle()
    const tags = { 5: null }
    const tagged = comp.instance.data.items.filter((a) => !a.canPay)
    const shown = all(comp, '.pay-tag')
    expect(shown).toHaveLength(tagged.length)
    shown.forEach((node, i) => {
      tags[tagged[i].id] = text(node)
    })
    // One per card, except the one still to pay: its 应付 ¥50.00 and 去支付 say it (no third 待支付).
    expect(tags).toEqual({ 1: '已支付 ¥50.00', 2: '已退款 ¥50.00', 3: '退款中', 4: '到院支付 ¥50.00', 5: null, 6: '退款异常', 7: '未支付', 8: '免费' })
    expect(all(comp, '.card-actions')).toHaveLength(1)
    expect(text(comp, '.card-actions')).toContain('应付 ¥50.00')
  })

  test('upcoming (待支付, 待就诊, 已签到) first by visit time, soonest first; then the rest, newest first', async () => {
    const d = (days) => format.addDays(fx.TODAY, days)
    const on = (id, days, hhmm, over) => fx.appointment(Object.assign({ id, visit_date: d(days), starts_at: fx.at(d(days), hhmm), ends_at: fx.at(d(days), hhmm) }, over))
    // In the server's order: visit date, newest first.
    const items = [
      on(1, 5, '09:00', { status: 'cancelled', status_label: '已取消', cancellable: false }),
      on(2, 3, '14:00'),
      on(3, 3, '08:00', { status: 'pending_payment', status_label: '待支付' }),
      on(4, 2, '10:00', { status: 'suspended', status_label: '已停诊', cancellable: false }),
      on(5, 0, '08:30', { status: 'checked_in', status_label: '已签到', cancellable: false }),
      on(6, -1, '09:00', { status: 'completed', status_label: '已就诊', cancellable: false }),
      on(7, -3, '09:00', { status: 'expired', status_label: '已过期', cancellable: false }),
    ]
    fake.route('GET /api/v1/me/appointments', pageOf(items))
    const comp = open('appointments')
    await settle()
    expect(comp.instance.data.items.map((a) => a.id)).toEqual([5, 3, 2, 1, 4, 6, 7])
  })

  test('the order holds over the pages loaded so far (an upcoming one on page 2 moves up)', async () => {
    const later = format.addDays(fx.TODAY, 4)
    fake.route('GET /api/v1/me/appointments', (req) =>
      req.query.page === '2'
        ? pageOf([fx.appointment({ id: 12, visit_date: fx.TODAY, starts_at: fx.at(fx.TODAY, '23:30') })], 2)
        : pageOf([fx.appointment({ id: 11, visit_date: later, status: 'cancelled', status_label: '已取消', starts_at: fx.at(later, '09:00') })], 2)
    )
    const comp = open('appointments')
    await settle()
    comp.instance.onReachBottom()
    await settle()
    expect(comp.instance.data.items.map((a) => a.id)).toEqual([12, 11])
  })

  test('a 待支付 card has 去支付, which opens the payment page and not the detail', async () => {
    fake.route('GET /api/v1/me/appointments', pageOf([fx.unpaid(undefined, { id: 902 }), fx.appointment()]))
    const comp = open('appointments')
    await settle()
    expect(all(comp, '.pay-now')).toHaveLength(1)
    tap(comp, '.pay-now')
    await settle()
    expect(wx.navigateTo.mock.calls.map((c) => c[0].url)).toEqual(['/pages/payment/payment?id=902'])
  })

  test('a 待支付 card past its deadline (not yet swept) offers no 去支付 and says the time is up', async () => {
    fake.route('GET /api/v1/me/appointments', pageOf([fx.unpaid(fx.fromNow(-60 * 1000), { id: 902 })]))
    const comp = open('appointments')
    await settle()
    expect(all(comp, '.pay-now')).toHaveLength(0)
    expect(text(comp, '.appointment-pay')).toBe('支付时间已过，号源已释放')
  })
})

describe('what a card says beyond its status', () => {
  test('停诊 with an offer still open: the card says a slot is held and until when', async () => {
    const expires = fx.fromNow(60 * 60 * 1000)
    const hhmm = format.date(expires) === format.today() ? format.time(expires) : format.shortDateTime(expires)
    fake.route('GET /api/v1/me/appointments', pageOf([
      fx.suspended({ id: 1, rebook: fx.rebookOffer({ expires_at: expires }) }),
      fx.suspended({ id: 2, rebook: fx.rebookOffer({ expires_at: fx.fromNow(-60 * 1000) }) }),
      fx.suspended({ id: 3, rebook: fx.rebookOffer({ accepted_appointment_id: 99 }) }),
      fx.suspended({ id: 4, rebook: null }),
    ]))
    const comp = open('appointments')
    await settle()
    expect(comp.instance.data.items.map((a) => a.id)).toEqual([1, 2, 3, 4])
    // Only the open offer: not the expired one, the accepted one, or a 停诊 without an offer.
    expect(all(comp, '.appointment-rebook')).toHaveLength(1)
    expect(text(comp, '.appointment-rebook')).toBe(`医生停诊，已为您保留改约号源至 ${hhmm}，点此改约`)
    expect(comp.instance.data.items[0].rebookHint).toBeTruthy()
  })

  test('no queue number on a card whose visit will not take place', async () => {
    fake.route('GET /api/v1/me/appointments', pageOf([
      fx.appointment({ id: 1 }),
      fx.appointment({ id: 2, status: 'cancelled', status_label: '已取消', cancellable: false }),
      fx.suspended({ id: 3, rebook: null }),
    ]))
    const comp = open('appointments')
    await settle()
    expect(comp.instance.data.items.map((a) => a.id)).toEqual([1, 2, 3])
    const times = all(comp, '.appointment-time').map((n) => text(n))
    expect(times[0]).toContain('· 3号')
    expect(times[1]).not.toContain('号')
    expect(times[2]).not.toContain('号')
  })
})
