const { open, text, all, tap, exists } = require('../support/pages')
const fx = require('../support/fixtures')

const ITEMS = [
  { id: 1, kind: 'booking_confirmed', title: '预约成功', body: '您已成功预约张三医生', appointment_id: 900, created_at: fx.at(fx.TODAY, '09:00'), read_at: null },
  { id: 2, kind: 'visit_reminder', title: '就诊提醒', body: '明天上午请按时就诊', appointment_id: 900, created_at: fx.at(fx.TODAY, '08:00'), read_at: fx.at(fx.TODAY, '08:05') },
]
const REFUNDS = [
  { id: 5, kind: 'refunded', title: '退款成功', body: '已退款50.00元，款项将原路退回', appointment_id: 901, created_at: fx.at(fx.TODAY, '09:10'), read_at: null },
  { id: 4, kind: 'cancelled', title: '已取消预约', body: '已支付的挂号费将按退号规则原路退回', appointment_id: 901, created_at: fx.at(fx.TODAY, '09:09'), read_at: null },
  { id: 3, kind: 'suspended', title: '停诊通知', body: '医生停诊', appointment_id: null, created_at: fx.at(fx.TODAY, '09:08'), read_at: null },
]

beforeEach(() => loggedIn())

test('lists notifications with time and unread marks', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: ITEMS, total: 2, unread: 1 } })
  const comp = open('messages')
  await settle()
  expect(all(comp, '.message-item')).toHaveLength(2)
  expect(text(comp, '.message-item.unread')).toContain('预约成功')
  expect(text(comp, '.message-item')).toContain(`${fx.TODAY} 09:00`)
  expect(text(comp, '.unread-count')).toBe('1 条未读')
})

test('tapping an unread one marks it read, lowers the count and opens its appointment', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: ITEMS, total: 2, unread: 1 } })
  fake.route('POST /api/v1/me/notifications/:id/read', (req) => ({ body: Object.assign({}, ITEMS[0], { id: Number(req.params.id), read_at: fx.at(fx.TODAY, '09:30') }) }))
  const comp = open('messages')
  await settle()
  tap(comp, '.message-item', 0)
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/1/read')).toHaveLength(1)
  expect(exists(comp, '.message-item.unread')).toBe(false)
  expect(exists(comp, '.unread-count')).toBe(false)
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=900' }))
  tap(comp, '.message-item', 1) // already read: nothing to send, still opens the appointment
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/2/read')).toHaveLength(0)
  expect(wx.navigateTo).toHaveBeenCalledTimes(2)
})

test('payment and refund messages: each marked by its kind; one read leaves the others counted', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: REFUNDS, total: 3, unread: 3 } })
  fake.route('POST /api/v1/me/notifications/:id/read', { body: {} })
  const comp = open('messages')
  await settle()
  expect(text(comp, '.message-item.kind-refunded')).toContain('退款成功')
  expect(text(comp, '.message-item.kind-refunded')).toContain('查看预约')
  expect(exists(comp, '.message-item.kind-cancelled')).toBe(true)
  expect(text(comp, '.message-item.kind-suspended')).not.toContain('查看预约') // about no appointment: nothing to open
  expect(text(comp, '.unread-count')).toBe('3 条未读')
  tap(comp, '.message-item', 2)
  await settle()
  expect(text(comp, '.unread-count')).toBe('2 条未读')
  expect(all(comp, '.message-item.unread')).toHaveLength(2)
  expect(wx.navigateTo).not.toHaveBeenCalled()
})

test('全部已读 marks every message read with one request', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: REFUNDS, total: 3, unread: 3 } })
  fake.route('POST /api/v1/me/notifications/read-all', { body: { updated: 3 } })
  const comp = open('messages')
  await settle()
  tap(comp, '.read-all')
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/read-all')).toHaveLength(1)
  expect(fake.calls('POST /api/v1/me/notifications/5/read')).toHaveLength(0)
  expect(exists(comp, '.message-item.unread')).toBe(false)
  expect(exists(comp, '.unread-count')).toBe(false)
  expect(exists(comp, '.read-all')).toBe(false) // nothing left to mark
  expect(all(comp, '.message-item')).toHaveLength(3)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已全部标为已读' }))
})

test('全部已读 failing keeps the marks and says why', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: REFUNDS, total: 3, unread: 3 } })
  fake.route('POST /api/v1/me/notifications/read-all', 'network')
  const comp = open('messages')
  await settle()
  tap(comp, '.read-all')
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: expect.stringContaining('网络连接失败') }))
  expect(all(comp, '.message-item.unread')).toHaveLength(3)
  expect(text(comp, '.unread-count')).toBe('3 条未读')
})

test('no unread messages: no 全部已读', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: [ITEMS[1]], total: 1, unread: 0 } })
  const comp = open('messages')
  await settle()
  expect(exists(comp, '.read-all')).toBe(false)
})

test('empty and error states', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
  const comp = open('messages')
  await settle()
  expect(text(comp, '.state-empty')).toContain('暂无消息')
  fake.route('GET /api/v1/me/notifications', 'network')
  const comp2 = open('messages')
  await settle()
  expect(text(comp2, '.state-error')).toContain('网络连接失败')
})
