const { open, text, all, tap, one } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

const D = (n) => format.addDays(fx.TODAY, n)

function availability() {
  return {
    items: [
      { date: D(0), remaining: 0, capacity: 10, released: true, release_at: fx.at(D(-7), '08:00') },
      { date: D(1), remaining: 4, capacity: 10, released: true, release_at: fx.at(D(-6), '08:00') },
      { date: D(7), remaining: 10, capacity: 10, released: false, release_at: fx.at(D(0), '08:00') },
    ],
  }
}

function doctors(date) {
  return {
    items: [
      Object.assign(fx.doctor(), {
        remaining: 4,
        schedules: [
          fx.schedule({ id: 1, visit_date: date, remaining: 4 }),
          fx.schedule({ id: 2, visit_date: date, period: 'afternoon', period_label: '下午', remaining: 0 }),
        ],
      }),
      Object.assign(fx.doctor({ id: 8, name: '王五', title: '主治医师', fee_fen: 2000 }), {
        remaining: 0,
        schedules: [fx.schedule({ id: 3, visit_date: date, status: 'suspended', remaining: 3 })],
      }),
    ],
    total: 2, page: 1, page_size: 50,
  }
}

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/departments/:id', { body: { id: 11, name: '心内科', location: '门诊楼2层A区', intro: '', hospital_id: 1, parent_id: 10 } })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/departments/:id/availability', { body: availability() })
  fake.route('GET /api/v1/departments/:id/doctors', (req) => ({ body: doctors(req.query.date) }))
})

test('the date strip covers the release window with each day’s state', async () => {
  const comp = open('department', { id: '11', hospitalId: '1' })
  await settle()
  expect(fake.calls('GET /api/v1/departments/11/availability')[0].query).toEqual({ start: D(0), end: D(7) })
  const days = all(comp, '.day')
  expect(days).toHaveLength(8)
  expect(text(days[0])).toBe(`今天 ${format.shortDate(D(0))} 约满`)
  expect(text(days[1])).toBe(`明天 ${format.shortDate(D(1))} 余4`)
  expect(text(days[2])).toContain('无排班')
  expect(text(days[7])).toContain('08:00放号')
})

test('the first day with slots left is chosen and its doctors shown', async () => {
  const comp = open('department', { id: '11' })
  await settle()
  expect(comp.querySelector('.day.active').dom.textContent).toContain('明天')
  expect(fake.calls('GET /api/v1/departments/11/doctors')[0].query).toMatchObject({ date: D(1) })
  const items = all(comp, '.doctor-item')
  expect(items).toHaveLength(2)
  expect(text(items[0])).toContain('张三')
  expect(text(items[0])).toContain('¥50.00')
  expect(text(items[0])).toContain('上午 余4 下午 约满 当日余号 4')
  expect(text(items[1])).toContain('上午 停诊 当日停诊') // the server's remaining: 3 is not shown for 停诊
})

test('sold-out and not-yet-released days say so plainly', async () => {
  const comp = open('department', { id: '11' })
  await settle()
  tap(comp, '.day', 0)
  await settle()
  expect(text(comp, '.day-notice')).toBe(`${D(0)} 的号源已约满，请选择其他日期`)
  tap(comp, '.day', 7)
  await settle()
  expect(text(comp, '.day-notice')).toBe(`${D(7)} 的号源将于 ${D(0)} 08:00 放出，请届时再来预约`)
})

test('a day without doctors shows an empty state', async () => {
  const comp = open('department', { id: '11' })
  await settle()
  fake.route('GET /api/v1/departments/:id/doctors', { body: { items: [], total: 0, page: 1, page_size: 50 } })
  tap(comp, '.day', 2)
  await settle()
  expect(text(comp, '.state-empty')).toContain('当天没有医生出诊')
})

test('tapping a doctor opens the doctor page for that day', async () => {
  const comp = open('department', { id: '11' })
  await settle()
  tap(comp, '.doctor-item', 0)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/doctor/doctor?id=7&date=${D(1)}` }))
})

test('a failed doctor list can be retried without reloading the page', async () => {
  fake.route('GET /api/v1/departments/:id/doctors', 'network')
  const comp = open('department', { id: '11' })
  await settle()
  expect(text(comp, '.state-error')).toContain('网络连接失败')
  fake.route('GET /api/v1/departments/:id/doctors', (req) => ({ body: doctors(req.query.date) }))
  tap(comp, '.state-retry')
  await settle()
  expect(all(comp, '.doctor-item')).toHaveLength(2)
})

describe('a doctor card says what the day holds', () => {
  test('a day not yet released: the release time, no remaining count', async () => {
    fake.route('GET /api/v1/departments/:id/doctors', (req) => ({
      body: {
        items: [Object.assign(fx.doctor(), {
          remaining: 35, // the server counts the unreleased capacity: not shown
          schedules: [fx.schedule({ id: 9, visit_date: req.query.date, released: false, bookable: false, remaining: 35, release_at: fx.at(D(0), '08:00') })],
        })],
        total: 1, page: 1, page_size: 50,
      },
    }))
    const comp = open('department', { id: '11', date: D(7) })
    await settle()
    const card = text(comp, '.doctor-item')
    expect(card).toContain(`${format.shortDate(D(0))} 08:00 放号`)
    expect(card).not.toMatch(/余号|35/)
    expect(one(comp, '.doctor-remaining').dom.className).toMatch(/day-unreleased/)
    expect(one(comp, '.doctor-item .session').dom.className).toMatch(/st-unreleased/)
  })

  test('停诊 sessions count for nothing; the open ones are added up', async () => {
    fake.route('GET /api/v1/departments/:id/doctors', (req) => ({
      body: {
        items: [Object.assign(fx.doctor(), {
          remaining: 9,
          schedules: [
            fx.schedule({ id: 1, visit_date: req.query.date, remaining: 4 }),
            fx.schedule({ id: 2, visit_date: req.query.date, period: 'afternoon', period_label: '下午', status: 'suspended', remaining: 5 }),
          ],
        })],
        total: 1, page: 1, page_size: 50,
      },
    }))
    const comp = open('department', { id: '11' })
    await settle()
    expect(text(comp, '.doctor-item')).toContain('上午 余4 下午 停诊 当日余号 4')
  })

  test('each day and session state has its own class (distinct looks in 长辈模式 too)', async () => {
    const comp = open('department', { id: '11' })
    await settle()
    const dayClass = (i) => (all(comp, '.day')[i].dom.className.match(/st-\w+/) || [''])[0]
    expect([dayClass(0), dayClass(1), dayClass(2), dayClass(7)]).toEqual(['st-full', 'st-open', 'st-none', 'st-unreleased'])
    expect(all(comp, '.doctor-item .session').map((n) => (n.dom.className.match(/st-\w+/) || [''])[0])).toEqual(['st-open', 'st-full', 'st-suspended'])
  })
})
