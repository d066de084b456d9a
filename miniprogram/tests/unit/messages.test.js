const { open, text, all, tap, exists } = require('../support/pages')
const fx = require('../support/fixtures')

const ITEMS = [
  { id: 1, kind: 'booking_confirmed', title: '预约成功', body: '您已成功预约张三医生', created_at: fx.at(fx.TODAY, '09:00'), read_at: null },
  { id: 2, kind: 'visit_reminder', title: '就诊提醒', body: '明天上午请按时就诊', created_at: fx.at(fx.TODAY, '08:00'), read_at: fx.at(fx.TODAY, '08:05') },
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

test('tapping an unread one marks it read', async () => {
  fake.route('GET /api/v1/me/notifications', { body: { items: ITEMS, total: 2, unread: 1 } })
  fake.route('POST /api/v1/me/notifications/:id/read', { status: 204 })
  const comp = open('messages')
  await settle()
  tap(comp, '.message-item', 0)
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/1/read')).toHaveLength(1)
  expect(exists(comp, '.message-item.unread')).toBe(false)
  tap(comp, '.message-item', 1) // already read: nothing to send
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/2/read')).toHaveLength(0)
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
