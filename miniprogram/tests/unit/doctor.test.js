const { open, text, all, tap, exists, one } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

const D = (n) => format.addDays(fx.TODAY, n)

function schedules() {
  return {
    items: [
      fx.schedule({ id: 1, visit_date: D(1), remaining: 2 }),
      fx.schedule({ id: 2, visit_date: D(1), period: 'afternoon', period_label: '下午', starts_at: fx.at(D(1), '13:30'), ends_at: fx.at(D(1), '17:00'), remaining: 0 }),
      fx.schedule({ id: 3, visit_date: D(2), status: 'suspended' }),
      fx.schedule({ id: 4, visit_date: D(8), released: false, bookable: false, release_at: fx.at(D(1), '08:00') }),
      fx.schedule({ id: 5, visit_date: D(3), remaining: 3 }),
    ],
    total: 5,
  }
}

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/doctors/:id/schedules', { body: schedules() })
  fake.route('GET /api/v1/schedules/:id/slots', (req) => ({ body: fx.slots({ id: Number(req.params.id), visit_date: D(1) }) }))
})

test('shows intro, title and fee', async () => {
  const comp = open('doctor', { id: '7' })
  await settle()
  expect(text(comp, '.doctor-name')).toBe('张三')
  expect(text(comp, '.doctor-title')).toBe('主任医师')
  expect(text(comp, '.doctor-fee')).toBe('挂号费 ¥50.00')
  expect(text(comp, '.doctor-intro')).toBe('从医三十年')
  expect(fake.calls('GET /api/v1/doctors/7/schedules')[0].query).toEqual({ start: D(0), end: D(7) })
})

test('sessions are grouped by day, in time order, with their state', async () => {
  const comp = open('doctor', { id: '7' })
  await settle()
  const days = all(comp, '.schedule-day').map((n) => text(n))
  expect(days[0]).toBe(`${format.shortDate(D(1))} 明天 上午 余2 08:00-12:00 ¥50.00 下午 约满 13:30-17:00 ¥50.00`)
  expect(days[1]).toContain('停诊')
  expect(days[3]).toContain(`${format.shortDate(D(1))} 08:00 放号`)
})

test('the day asked for opens its first bookable session with a slot grid and time windows', async () => {
  const comp = open('doctor', { id: '7', date: D(1) })
  await settle()
  expect(fake.calls('GET /api/v1/schedules/1/slots')).toHaveLength(1)
  expect(all(comp, '.slot').map((n) => text(n))).toEqual(['1号 08:00-08:30 可约', '2号 09:00-09:30 已约', '3号 10:00-10:30 可约'])
})

test('an available slot leads to the confirm page; a taken one says so', async () => {
  const comp = open('doctor', { id: '7', date: D(1) })
  await settle()
  tap(comp, '.slot', 1)
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '该号源已被预约，请选择其他号源' }))
  expect(wx.navigateTo).not.toHaveBeenCalled()
  tap(comp, '.slot', 2)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/confirm/confirm?scheduleId=1&doctorId=7&slotId=1002' }))
})

test('suspended and unreleased sessions cannot be opened (约满 opens, to join the waitlist: tests/unit/doctor-waitlist.test.js)', async () => {
  const comp = open('doctor', { id: '7' })
  await settle()
  tap(comp, '.session', 2) // 停诊
  await settle()
  tap(comp, '.session', 4) // 放号 later
  await settle()
  expect(wx.showToast.mock.calls.map((c) => c[0].title)).toEqual(['停诊', `${format.shortDate(D(1))} 08:00 放号`])
  expect(fake.calls('GET /api/v1/schedules/3/slots')).toHaveLength(0)
  expect(fake.calls('GET /api/v1/schedules/4/slots')).toHaveLength(0)
  expect(exists(comp, '.slot-panel')).toBe(false)
})

test('tapping an open session loads its slots', async () => {
  const comp = open('doctor', { id: '7' })
  await settle()
  tap(comp, '.session', 3) // D(3): sessions are in time order
  await settle()
  expect(fake.calls('GET /api/v1/schedules/5/slots')).toHaveLength(1)
  expect(all(comp, '.slot')).toHaveLength(3)
})

test('a session without numbered slots is booked as a whole', async () => {
  fake.route('GET /api/v1/schedules/:id/slots', { body: { items: [], total: 0, schedule: fx.schedule({ id: 1 }) } })
  const comp = open('doctor', { id: '7', date: D(1) })
  await settle()
  tap(comp, '.book-session')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/confirm/confirm?scheduleId=1&doctorId=7' }))
})

test('no sessions in the window is said plainly', async () => {
  fake.route('GET /api/v1/doctors/:id/schedules', { body: { items: [], total: 0 } })
  const comp = open('doctor', { id: '7' })
  await settle()
  expect(text(comp, '.no-schedules')).toBe('近期没有出诊安排')
})

describe('the sticky bottom bar keeps the fee and the main action in sight', () => {
  test('fee and 预约 of the earliest free slot, which leads to the confirm page', async () => {
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 1, visit_date: D(1), fee_fen: 6000 }, ['booked', 'available', 'available']) })
    const comp = open('doctor', { id: '7', date: D(1) })
    await settle()
    const bar = one(comp, '.bottom-bar')
    expect(text(bar)).toBe('挂号费 ¥60.00 预约 2号 09:00')
    expect(one(comp, '.bar-action').dom.closest('[class*="bottom-bar"]')).toBe(bar.dom)
    tap(comp, '.bar-action')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/confirm/confirm?scheduleId=1&doctorId=7&slotId=1001' }))
  })

  test('before a session is chosen the bar shows the doctor’s fee and asks for one', async () => {
    const comp = open('doctor', { id: '7' })
    await settle()
    expect(text(comp, '.bottom-bar')).toBe('挂号费 ¥50.00 请选择出诊时段')
    expect(one(comp, '.bar-action').dom.className).toMatch(/disabled/)
    tap(comp, '.bar-action')
    await settle()
    expect(wx.navigateTo).not.toHaveBeenCalled()
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请选择出诊时段' }))
  })

  test('every slot taken: nothing to book', async () => {
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 1, visit_date: D(1) }, ['booked', 'held']) })
    const comp = open('doctor', { id: '7', date: D(1) })
    await settle()
    expect(text(comp, '.bar-action')).toBe('该时段已约满')
    expect(all(comp, '.slot').map((n) => /st-taken/.test(n.dom.className))).toEqual([true, true])
  })

  test('the slot grid comes right after the sessions, and slots carry their state class', async () => {
    const comp = open('doctor', { id: '7', date: D(1) })
    await settle()
    const html = comp.dom.innerHTML
    expect(html.indexOf('schedules')).toBeLessThan(html.indexOf('slot-grid'))
    expect(html.indexOf('slot-grid')).toBeLessThan(html.indexOf('doctor-bar'))
    expect(all(comp, '.slot-grid > .slot').length || all(comp, '.slot').length).toBe(3)
    expect(all(comp, '.slot').map((n) => (n.dom.className.match(/st-\w+/) || [''])[0])).toEqual(['st-open', 'st-taken', 'st-open'])
  })
})

test('a suspended (停诊) session says 停诊 with no number left', async () => {
  const comp = open('doctor', { id: '7' })
  await settle()
  const suspended = all(comp, '.session').find((n) => n.dom.getAttribute('data-id') === '3')
  expect(text(suspended)).toBe('上午 停诊 08:00-12:00 ¥50.00')
  expect(suspended.dom.className).toMatch(/st-suspended/)
  expect(text(suspended)).not.toMatch(/余\d/)
})
