/**
 * 抽签放号 (issue 9): on a window-mode session the confirm button enters the draw during the window; the
 * entry page shows 排队中 and polls until 已中签 / 未中签; my entries list every one with its label.
 */
const { open, text, all, tap, exists } = require('../support/pages')
const fx = require('../support/fixtures')
const booking = require('../../utils/booking')

const OPENS = '2026-03-02T00:00:00Z' // 08:00:00 in Shanghai
const CLOSES = '2026-03-02T00:00:30Z' // 08:00:30

function windowSchedule(over = {}) {
  return Object.assign(
    { id: 100, release_mode: 'window', release_mode_label: '抽签放号', release_at: OPENS, release_window_closes_at: CLOSES, release_window_open: true, bookable: false },
    over
  )
}

function entry(over = {}) {
  const s = fx.schedule({ id: 100 })
  return Object.assign(
    {
      id: 700, status: 'queued', status_label: '排队中', weight: 1, result_reason: '', appointment_id: null,
      created_at: OPENS, decided_at: null,
      schedule: { id: 100, visit_date: s.visit_date, period: 'morning', period_label: '上午', starts_at: s.starts_at, release_at: OPENS, window_closes_at: CLOSES },
      hospital: { id: 1, name: '北京协和医院' }, department: { id: 11, name: '心内科' },
      doctor: { id: 7, name: '张三', title: '主任医师' }, patient: { id: 50, name: '李四' },
    },
    over
  )
}

function setupConfirm(schedule = windowSchedule()) {
  loggedIn()
  fake.route('GET /api/v1/config', { body: Object.assign({}, fx.CONFIG, { subscribe_templates: Object.assign({}, fx.CONFIG.subscribe_templates, { release_result: 'tmpl-release' }) }) })
  fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots(schedule) })
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient()], total: 1 } })
}

test('a window session is labelled 抽签放号 with its window and is open to the draw, not to booking', () => {
  const state = booking.scheduleState(fx.schedule(windowSchedule()))
  expect(state).toEqual({ key: 'draw', label: '抽签放号 08:00:00–08:00:30', bookable: true, draw: true })
  const before = booking.scheduleState(fx.schedule(windowSchedule({ released: false, release_window_open: false })))
  expect(before.key).toBe('unreleased')
  expect(before.label).toContain('抽签放号')
  // A first-come session is as before.
  expect(booking.scheduleState(fx.schedule()).key).toBe('open')
})

test('in the window 参加抽签 enters the draw (no booking) and opens the entry', async () => {
  setupConfirm()
  fake.route('POST /api/v1/release-entries', { status: 201, body: entry() })
  const comp = open('confirm', { scheduleId: '100', doctorId: '7' })
  await settle()
  expect(text(comp, '.submit')).toBe('参加抽签')
  expect(text(comp, '.draw-notice')).toContain('08:00:00–08:00:30')
  tap(comp, '.submit')
  await settle()
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-release', 'tmpl-reminder'] }))
  const [req] = fake.calls('POST /api/v1/release-entries')
  expect(req.body).toEqual({ schedule_id: 100, patient_id: 50 })
  expect(fake.calls('POST /api/v1/appointments')).toHaveLength(0)
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/release/release?id=700' }))
})

test("a closed window is refused in the server's words", async () => {
  setupConfirm()
  fake.route('POST /api/v1/release-entries', fx.error(409, 'RELEASE_WINDOW_CLOSED', '该时段的抽签放号窗口已结束'))
  const comp = open('confirm', { scheduleId: '100', doctorId: '7' })
  await settle()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该时段的抽签放号窗口已结束' }))
})

test('the entry shows 排队中 and polls until the draw: 已中签 with the appointment', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] })
  try {
    loggedIn()
    fake.route('GET /api/v1/release-entries/:id', { body: entry() })
    const comp = open('release', { id: '700' })
    for (let i = 0; i < 10; i++) await jest.advanceTimersByTimeAsync(1)
    expect(text(comp, '.release-status')).toBe('排队中')
    expect(text(comp, '.release-window')).toBe('08:00:00–08:00:30')
    expect(exists(comp, '.release-appointment')).toBe(false)
    fake.route('GET /api/v1/release-entries/:id', { body: entry({ status: 'won', status_label: '已中签', appointment_id: 900 }) })
    await jest.advanceTimersByTimeAsync(3000)
    for (let i = 0; i < 10; i++) await jest.advanceTimersByTimeAsync(1)
    expect(text(comp, '.release-status')).toBe('已中签')
    expect(fake.calls('GET /api/v1/release-entries/700').length).toBeGreaterThanOrEqual(2)
    const calls = fake.calls('GET /api/v1/release-entries/700').length
    await jest.advanceTimersByTimeAsync(10000) // decided: no more polling
    expect(fake.calls('GET /api/v1/release-entries/700')).toHaveLength(calls)
    tap(comp, '.release-appointment')
    for (let i = 0; i < 10; i++) await jest.advanceTimersByTimeAsync(1)
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
  } finally {
    jest.useRealTimers()
  }
})

test('a lost entry says why; my entries list 排队中 / 已中签 / 未中签', async () => {
  loggedIn()
  fake.route('GET /api/v1/release-entries/:id', { body: entry({ status: 'lost', status_label: '未中签', result_reason: '未抽中' }) })
  const one = open('release', { id: '701' })
  await settle()
  expect(text(one, '.release-status')).toBe('未中签')
  expect(text(one, '.release-reason')).toBe('未抽中')

  fake.route('GET /api/v1/me/release-entries', {
    body: {
      items: [entry(), entry({ id: 701, status: 'won', status_label: '已中签', appointment_id: 900 }), entry({ id: 702, status: 'lost', status_label: '未中签' })],
      total: 3, page: 1, page_size: 20,
    },
  })
  const list = open('release', {})
  await settle()
  expect(all(list, '.release-item-status').map((n) => n.dom.textContent.trim())).toEqual(['排队中', '已中签', '未中签'])
  tap(list, '.release-item', 1)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/release/release?id=701' }))
})
