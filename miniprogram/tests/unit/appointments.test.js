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
