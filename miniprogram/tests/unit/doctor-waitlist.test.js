/** The doctor page's ratings and reviews, and 候补 on a sold-out (约满) session. */
const { open, text, all, exists, tap, one } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

const D = (n) => format.addDays(fx.TODAY, n)

function schedules() {
  return {
    items: [
      fx.schedule({ id: 1, visit_date: D(1), remaining: 0 }),
      fx.schedule({ id: 5, visit_date: D(3), remaining: 3 }),
    ],
    total: 2,
  }
}

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor({ rating: fx.rating() }) })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/doctors/:id/schedules', { body: schedules() })
  fake.route('GET /api/v1/schedules/:id/slots', (req) =>
    req.params.id === '1'
      ? { body: fx.slots({ id: 1, visit_date: D(1), remaining: 0 }, ['booked', 'booked', 'held']) }
      : { body: fx.slots({ id: Number(req.params.id), visit_date: D(3), remaining: 3 }) }
  )
  fake.route('GET /api/v1/doctors/:id/reviews', (req) => ({
    body: {
      items: [fx.doctorReview(), fx.doctorReview({ id: 81, stars: 3, tags: ['等待时间长', '解释清楚'], text: '排队久', reviewer: '李*' }), fx.doctorReview({ id: 82, text: '', tags: [] })].slice(0, Number(req.query.limit)),
      total: 123,
      rating: fx.rating(),
    },
  }))
  fake.route('GET /api/v1/schedules/:id/waitlist', { body: { waiting: 4, can_join: true, hold_minutes: 15 } })
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient({ id: 51, name: '李建国', relationship: 'parent' }), fx.patient()], total: 2 } })
})

describe('ratings', () => {
  test('the summary, top tags and the newest reviews with masked names; 查看全部 opens them all', async () => {
    const comp = open('doctor', { id: '7' })
    await settle()
    expect(text(comp, '.rating-line')).toBe('★4.8 · 123条评价 ›')
    expect(text(comp, '.rating-average')).toBe('4.8')
    expect(text(comp, '.rating-count')).toBe('123 条评价')
    expect(all(comp, '.rating-tag').map((n) => text(n))).toEqual(['耐心细致 56', '解释清楚 40', '态度好 20'])
    expect(fake.calls('GET /api/v1/doctors/7/reviews')[0].query).toEqual({ offset: '0', limit: '3' })
    const items = all(comp, '.review-item').map((n) => text(n))
    expect(items[0]).toBe(`王*★★★★★ ${fx.TODAY} 耐心细致 很好`)
    expect(items[1]).toBe(`李*★★★☆☆ ${fx.TODAY} 等待时间长 · 解释清楚 排队久`)
    expect(items[2]).toBe(`王*★★★★★ ${fx.TODAY}`)
    expect(text(comp, '.see-all')).toBe('查看全部（123）›')
    tap(comp, '.see-all')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/doctor-reviews/doctor-reviews?id=7&name=${encodeURIComponent('张三')}` }))
  })

  test('nobody has reviewed yet: 暂无评价, no summary', async () => {
    fake.route('GET /api/v1/doctors/:id', { body: fx.doctor({ rating: { average: null, count: 0, tags: [] } }) })
    fake.route('GET /api/v1/doctors/:id/reviews', { body: { items: [], total: 0, rating: { average: null, count: 0, tags: [] } } })
    const comp = open('doctor', { id: '7' })
    await settle()
    expect(text(comp, '.no-reviews')).toBe('暂无评价')
    expect(exists(comp, '.rating-line')).toBe(false)
    expect(exists(comp, '.see-all')).toBe(false)
  })

  test('the reviews failing to load leave the rest of the page alone', async () => {
    fake.route('GET /api/v1/doctors/:id/reviews', 'network')
    const comp = open('doctor', { id: '7', date: D(3) })
    await settle()
    expect(text(comp, '.rating-line')).toBe('★4.8 · 123条评价 ›') // from the doctor's own rating
    expect(all(comp, '.review-item')).toHaveLength(0)
    expect(all(comp, '.slot')).toHaveLength(3)
    expect(exists(comp, '.state-error')).toBe(false)
  })
})

describe('候补 on a sold-out session', () => {
  async function openFull() {
    const comp = open('doctor', { id: '7', date: D(1) })
    await settle()
    return comp
  }

  test('the day asked for has only a sold-out session: it opens with the number waiting and the 就诊人 to choose', async () => {
    const comp = await openFull()
    expect(fake.calls('GET /api/v1/schedules/1/waitlist')).toHaveLength(1)
    expect(text(comp, '.slot-closed')).toBe('该时段约满，暂不可预约')
    expect(text(comp, '.waitlist-count')).toBe('4 人正在候补')
    expect(text(comp, '.waitlist-how')).toContain('保留 15 分钟')
    expect(all(comp, '.waitlist-patient').map((n) => text(n))).toEqual(['李建国', '李四'])
    expect(text(comp, '.waitlist-patient.active')).toBe('李四') // 本人 first
    expect(text(comp, '.bar-action')).toBe('加入候补')
    expect(one(comp, '.bar-action').dom.className).toMatch(/join-waitlist/)
  })

  test('加入候补 posts the session and the chosen person, then offers 我的候补', async () => {
    const comp = await openFull()
    tap(comp, '.waitlist-patient', 0)
    await settle()
    fake.route('POST /api/v1/waitlist', { status: 201, body: fx.waitlistEntry({ position: 5, waiting_ahead: 4, patient: { id: 51, name: '李建国' } }) })
    fake.route('GET /api/v1/schedules/:id/waitlist', { body: { waiting: 5, can_join: true, hold_minutes: 15 } })
    tap(comp, '.bar-action')
    await settle()
    expect(fake.calls('POST /api/v1/waitlist')[0].body).toEqual({ schedule_id: 1, patient_id: 51 })
    const modal = wx.showModal.mock.calls[0][0]
    expect(modal.title).toBe('已加入候补')
    expect(modal.content).toBe('前面还有 4 人。有号源释放时将为您保留15分钟并通知您，请及时确认预约。')
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/waitlist/waitlist' }))
    expect(text(comp, '.waitlist-count')).toBe('5 人正在候补')
  })

  test('a sold-out session on the strip can be tapped to wait for it', async () => {
    const comp = open('doctor', { id: '7', date: D(3) })
    await settle()
    expect(fake.calls('GET /api/v1/schedules/5/slots')).toHaveLength(1)
    tap(comp, '.session', 0) // D(1) 约满
    await settle()
    expect(wx.showToast).not.toHaveBeenCalled()
    expect(text(comp, '.bar-action')).toBe('加入候补')
  })

  test('slots free again (WAITLIST_NOT_NEEDED): the server’s words, then the slots to book', async () => {
    const comp = await openFull()
    fake.route('POST /api/v1/waitlist', fx.error(409, 'WAITLIST_NOT_NEEDED', '该时段尚有号源，请直接预约'))
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 1, visit_date: D(1), remaining: 1 }, ['booked', 'available']) })
    tap(comp, '.bar-action')
    await settle()
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '无法加入候补', content: '该时段尚有号源，请直接预约' }))
    expect(text(comp, '.bar-action')).toBe('预约 2号 09:00')
    expect(exists(comp, '.waitlist-box')).toBe(false)
  })

  test('already waiting (WAITLIST_EXISTS) offers 我的候补; too many (WAITLIST_LIMIT) says so', async () => {
    const comp = await openFull()
    fake.route('POST /api/v1/waitlist', fx.error(409, 'WAITLIST_EXISTS', '该就诊人已在此时段候补中'))
    tap(comp, '.bar-action')
    await settle()
    expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '已在候补中', content: '该就诊人已在此时段候补中', confirmText: '查看候补' })
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/waitlist/waitlist' }))
    fake.route('POST /api/v1/waitlist', fx.error(409, 'WAITLIST_LIMIT', '每个账号最多同时候补3个时段'))
    tap(comp, '.bar-action')
    await settle()
    expect(wx.showModal.mock.calls[1][0]).toMatchObject({ title: '候补数量已达上限', content: '每个账号最多同时候补3个时段' })
  })

  test('no 就诊人 yet: the button waits for one, with a way to add it', async () => {
    fake.route('GET /api/v1/me/patients', { body: { items: [], total: 0 } })
    const comp = await openFull()
    expect(text(comp, '.no-patients')).toBe('还没有就诊人，请先添加')
    expect(one(comp, '.bar-action').dom.className).toMatch(/disabled/)
    tap(comp, '.bar-action')
    await settle()
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请先选择就诊人' }))
    expect(fake.calls('POST /api/v1/waitlist')).toHaveLength(0)
    tap(comp, '.add-patient')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/patient-edit/patient-edit' }))
  })

  test('a session that cannot be waited for says so, and nothing can be pressed', async () => {
    fake.route('GET /api/v1/schedules/:id/waitlist', { body: { waiting: 0, can_join: false, hold_minutes: 15 } })
    const comp = await openFull()
    expect(text(comp, '.waitlist-count')).toBe('暂无人候补')
    expect(text(comp, '.waitlist-closed')).toBe('该时段暂不可候补')
    expect(text(comp, '.bar-action')).toBe('该时段约满')
    expect(exists(comp, '.waitlist-patient')).toBe(false)
  })

  test('the waitlist count failing to load is said in the box', async () => {
    fake.route('GET /api/v1/schedules/:id/waitlist', fx.error(500, 'INTERNAL', '服务器开小差了'))
    const comp = await openFull()
    expect(text(comp, '.waitlist-error')).toBe('服务器开小差了')
    expect(text(comp, '.bar-action')).toBe('该时段约满')
  })
})

describe('numbers kept for members', () => {
  test('the session says how many are kept for members and when they open to everyone; those slots are marked', async () => {
    const body = fx.slots({ id: 5, visit_date: D(3), remaining: 3, member_reserved: 2, member_share_opens_at: fx.at(D(2), '08:00') }, ['available', 'booked', 'available'])
    body.items[2].member_only = true
    fake.route('GET /api/v1/schedules/:id/slots', { body })
    const comp = open('doctor', { id: '7', date: D(3) })
    await settle()
    expect(text(comp, '.member-note')).toBe(`★ 余号中 2 个为会员预留，${format.shortDate(D(2))} 08:00 起向所有患者开放`)
    expect(all(comp, '.slot').map((n) => text(n))).toEqual(['1号 08:00-08:30 可约', '2号 09:00-09:30 已约', '3号 10:00-10:30 可约 会员'])
  })

  test('none kept: no note', async () => {
    const comp = open('doctor', { id: '7', date: D(3) })
    await settle()
    expect(all(comp, '.member-note')).toHaveLength(0)
  })

  test('before the release, members’ earlier start', () => {
    const booking = require('../../utils/booking')
    const s = fx.schedule({ released: false, bookable: false, release_at: fx.at(D(1), '08:00'), member_release_at: fx.at(D(1), '07:00') })
    expect(booking.memberNote(s)).toBe(`会员可于 ${format.shortDate(D(1))} 07:00 起提前预约`)
    expect(booking.memberNote(fx.schedule())).toBe('')
  })
})

describe('提前预约: a member’s level books before the public release', () => {
  const releaseIn = (min) => new Date(Date.now() + min * 60000).toISOString()

  function unreleasedDay() {
    fake.route('GET /api/v1/doctors/:id/schedules', { body: { items: [fx.schedule({ id: 9, visit_date: D(7), released: false, bookable: false, remaining: 6, release_at: releaseIn(10) })], total: 1 } })
    fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 9, visit_date: D(7), released: false, bookable: false, remaining: 6, release_at: releaseIn(10) }) })
  }

  test('a 金卡 member (30 minutes early) sees the session open ten minutes before its release and can book it', async () => {
    unreleasedDay()
    fake.route('GET /api/v1/members/me', { body: fx.member({ level: { code: 'gold', name: '金卡会员' }, privileges: Object.assign({}, fx.member().privileges, { early_booking_minutes: 30 }) }) })
    const comp = open('doctor', { id: '7', date: D(7) })
    await settle()
    expect(text(comp, '.session')).toContain('会员提前约 余6')
    expect(text(comp, '.bar-action')).toBe('预约 1号 08:00')
    tap(comp, '.bar-action')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: `/pages/confirm/confirm?scheduleId=9&doctorId=7&slotId=1000` }))
  })

  test('without the privilege (or when the level cannot be read) it waits for the release', async () => {
    unreleasedDay()
    fake.route('GET /api/v1/members/me', { body: fx.member() }) // silver: no early window
    let comp = open('doctor', { id: '7', date: D(7) })
    await settle()
    expect(text(comp, '.session')).toContain('放号')
    expect(fake.calls('GET /api/v1/schedules/9/slots')).toHaveLength(0)
    fake.route('GET /api/v1/members/me', 'network')
    comp = open('doctor', { id: '7', date: D(7) })
    await settle()
    expect(text(comp, '.session')).toContain('放号')
  })

  test('the window: from release minus the minutes until booking closes', () => {
    const booking = require('../../utils/booking')
    const now = Date.parse(fx.at(D(1), '07:40'))
    const s = fx.schedule({ visit_date: D(7), released: false, release_at: fx.at(D(1), '08:00'), booking_closes_at: fx.at(D(7), '07:30') })
    expect(booking.inEarlyWindow(s, 30, now)).toBe(true)
    expect(booking.inEarlyWindow(s, 15, now)).toBe(false)
    expect(booking.inEarlyWindow(s, 0, now)).toBe(false)
    expect(booking.scheduleState(s, 30, now)).toMatchObject({ key: 'open', bookable: true, early: true })
    expect(booking.scheduleState(Object.assign({}, s, { remaining: 0 }), 30, now)).toMatchObject({ key: 'full', bookable: false })
    expect(booking.scheduleState(s, 15, now).key).toBe('unreleased')
  })
})
