/**
 * Issue 11 on the existing pages: ★ on the department's doctor list, 评价 on a completed appointment,
 * 会员中心 and 我的候补 on 我的, 候补 messages; and the doctor's 患者评价 list (查看全部).
 */
const { open, text, all, exists, tap } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')

beforeEach(() => loggedIn())

describe('the department’s doctor list shows ★average (count) once someone has reviewed', () => {
  test('★4.8 (123) beside a reviewed doctor, nothing beside one with no reviews', async () => {
    const date = format.addDays(fx.TODAY, 1)
    fake.route('GET /api/v1/departments/:id', { body: { id: 11, name: '心内科', location: '', hospital_id: 1 } })
    fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
    fake.route('GET /api/v1/departments/:id/availability', { body: { items: [{ date, remaining: 4, capacity: 10, released: true, release_at: fx.at(fx.TODAY, '08:00') }] } })
    fake.route('GET /api/v1/departments/:id/doctors', {
      body: {
        items: [
          Object.assign(fx.doctor({ rating: fx.rating() }), { remaining: 4, schedules: [fx.schedule({ id: 1, visit_date: date })] }),
          Object.assign(fx.doctor({ id: 8, name: '王五', rating: { average: null, count: 0, tags: [] } }), { remaining: 2, schedules: [fx.schedule({ id: 2, visit_date: date })] }),
          Object.assign(fx.doctor({ id: 9, name: '赵六' }), { remaining: 2, schedules: [fx.schedule({ id: 3, visit_date: date })] }),
        ],
        total: 3,
      },
    })
    const comp = open('department', { id: '11', hospitalId: '1' })
    await settle()
    expect(all(comp, '.doctor-item')).toHaveLength(3)
    expect(all(comp, '.doctor-rating').map((n) => text(n))).toEqual(['★4.8 (123)'])
    expect(text(all(comp, '.doctor-item')[0])).toContain('张三主任医师★4.8 (123) ¥50.00')
  })
})

describe('评价 on the detail of a completed visit', () => {
  const completed = () => fx.appointment({ status: 'completed', status_label: '已就诊', cancellable: false, visit_date: format.addDays(fx.TODAY, -1) })

  async function openDetail(state) {
    fake.route('GET /api/v1/appointments/:id', { body: completed() })
    if (state) fake.route('GET /api/v1/appointments/:id/review', { body: state })
    const comp = open('appointment', { id: '900' })
    await settle()
    return comp
  }

  test('reviewable: 评价 with the deadline, leading to the review page', async () => {
    const comp = await openDetail(fx.reviewState())
    expect(text(comp, '.review-until')).toBe(`请在 ${format.addDays(fx.TODAY, 29)} 23:59 前评价，评价可获得积分`)
    tap(comp, '.write-review')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/review/review?id=900' }))
  })

  test('reviewed: the stars and text; hidden by the hospital: 该评价已被医院隐藏：原因', async () => {
    let comp = await openDetail(fx.reviewState({ reviewable: false, review: fx.ownReview({ stars: 4 }) }))
    expect(text(comp, '.own-stars')).toBe('★★★★☆')
    expect(text(comp, '.own-text')).toBe('医生很耐心')
    expect(exists(comp, '.review-hidden')).toBe(false)
    expect(exists(comp, '.write-review')).toBe(false)
    comp = await openDetail(fx.reviewState({ reviewable: false, review: fx.ownReview({ hidden: true, hidden_reason: '含有广告' }) }))
    expect(text(comp, '.review-hidden')).toBe('该评价已被医院隐藏：含有广告')
    tap(comp, '.view-review')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/review/review?id=900' }))
  })

  test('past the window: the server’s reason, no button', async () => {
    const comp = await openDetail(fx.reviewState({ reviewable: false, review_until: null, reason: '已超过评价期限' }))
    expect(text(comp, '.review-reason')).toBe('已超过评价期限')
    expect(exists(comp, '.write-review')).toBe(false)
  })

  test('the review state failing to load hides the block; a visit not completed never asks', async () => {
    let comp = await openDetail(null) // GET .../review answers 404
    expect(exists(comp, '.review-block')).toBe(false)
    expect(text(comp, '.detail-status')).toBe('已就诊')
    fake.route('GET /api/v1/appointments/:id', { body: fx.appointment() })
    comp = open('appointment', { id: '900' })
    await settle()
    expect(fake.calls('GET /api/v1/appointments/900/review')).toHaveLength(1) // only the completed one asked
    expect(exists(comp, '.review-block')).toBe(false)
  })
})

describe('我的: 会员中心 and 我的候补', () => {
  test('the member level beside the name; the menu leads to 会员中心 and 我的候补', async () => {
    fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
    fake.route('GET /api/v1/members/me', { body: fx.member({ level: { code: 'gold', name: '金卡会员' } }) })
    const comp = open('profile')
    await settle()
    expect(text(comp, '.member-level')).toBe('金卡会员')
    expect(text(comp, '.menu-member')).toBe('会员中心 金卡会员 ›')
    tap(comp, '.menu-member')
    await settle()
    expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/member/member' }))
    tap(comp, '.menu-waitlist')
    await settle()
    expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/waitlist/waitlist' }))
  })

  test('the level failing to load only hides it', async () => {
    fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
    fake.route('GET /api/v1/members/me', 'network')
    const comp = open('profile')
    await settle()
    expect(exists(comp, '.member-level')).toBe(false)
    expect(text(comp, '.menu-member')).toBe('会员中心 ›')
  })
})

test('a 候补 message opens 我的候补, where the offer is confirmed', async () => {
  const items = [
    { id: 9, kind: 'waitlist_offered', title: '候补成功，请确认', body: '已为您保留张三医生的号源，请在15分钟内确认', appointment_id: null, created_at: fx.at(fx.TODAY, '09:00'), read_at: null },
    { id: 8, kind: 'booking_confirmed', title: '预约成功', body: '', appointment_id: 900, created_at: fx.at(fx.TODAY, '08:00'), read_at: fx.at(fx.TODAY, '08:01') },
  ]
  fake.route('GET /api/v1/me/notifications', { body: { items, total: 2, unread: 1 } })
  fake.route('POST /api/v1/me/notifications/:id/read', { body: {} })
  const comp = open('messages')
  await settle()
  tap(comp, '.message-item', 0)
  await settle()
  expect(fake.calls('POST /api/v1/me/notifications/9/read')).toHaveLength(1)
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/waitlist/waitlist' }))
  tap(comp, '.message-item', 1)
  await settle()
  expect(wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/appointment/appointment?id=900' }))
})

describe('患者评价 (查看全部)', () => {
  function reviews(n) {
    return Array.from({ length: n }, (_, i) => fx.doctorReview({ id: 500 - i, reviewer: `用*${i}` }))
  }

  test('the summary with more tags, then every review, paged by offset', async () => {
    const list = reviews(25)
    fake.route('GET /api/v1/doctors/:id/reviews', (req) => ({
      body: { items: list.slice(Number(req.query.offset), Number(req.query.offset) + Number(req.query.limit)), total: 25, rating: fx.rating() },
    }))
    const comp = open('doctor-reviews', { id: '7', name: encodeURIComponent('张三') })
    await settle()
    expect(wx.setNavigationBarTitle).toHaveBeenCalledWith(expect.objectContaining({ title: '张三的评价' }))
    expect(text(comp, '.rating-average')).toBe('4.8')
    expect(text(comp, '.rating-count')).toBe('123 条评价')
    expect(all(comp, '.rating-tag')).toHaveLength(4)
    expect(all(comp, '.review-item')).toHaveLength(20)
    expect(text(all(comp, '.review-item')[0])).toBe(`用*0★★★★★ ${fx.TODAY} 耐心细致 很好`)
    comp.instance.onReachBottom()
    await settle()
    expect(all(comp, '.review-item')).toHaveLength(25)
    expect(text(comp, '.reviews-end')).toBe('没有更多了')
    expect(fake.calls('GET /api/v1/doctors/7/reviews').map((r) => r.query.offset)).toEqual(['0', '20'])
    comp.instance.onReachBottom()
    await settle()
    expect(fake.calls('GET /api/v1/doctors/7/reviews')).toHaveLength(2)
  })

  test('none yet', async () => {
    fake.route('GET /api/v1/doctors/:id/reviews', { body: { items: [], total: 0, rating: { average: null, count: 0, tags: [] } } })
    const comp = open('doctor-reviews', { id: '7' })
    await settle()
    expect(text(comp, '.state-empty')).toBe('暂无患者评价')
    expect(exists(comp, '.rating-summary')).toBe(false)
  })

  test('a failed page of more says so and keeps the list', async () => {
    const list = reviews(25)
    fake.route('GET /api/v1/doctors/:id/reviews', { body: { items: list.slice(0, 20), total: 25, rating: fx.rating() } })
    const comp = open('doctor-reviews', { id: '7' })
    await settle()
    fake.route('GET /api/v1/doctors/:id/reviews', 'network')
    comp.instance.onReachBottom()
    await settle()
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '网络连接失败，请检查网络后重试' }))
    expect(all(comp, '.review-item')).toHaveLength(20)
  })
})

test('a completed visit at a pay-on-site hospital does not say the fee was never paid', () => {
  const booking = require('../../utils/booking')
  const a = fx.appointment({ status: 'completed', status_label: '已就诊', cancellable: false })
  expect(booking.moneySummary(a)).toBe('挂号费 ¥50.00 为到院支付，已在医院窗口结算。')
  expect(booking.moneySummary(fx.appointment({ status: 'cancelled' }))).toBe('挂号费为到院支付，您未付款，无需退款。')
})

describe('the member discount on the fee', () => {
  const discounted = (a) => Object.assign(a, { fee_fen: 4750, payment: Object.assign(a.payment, { amount_fen: 4750, original_fen: 5000, discount_fen: 250 }) })

  test('the payment page and the 费用 block say what was taken off', async () => {
    fake.route('GET /api/v1/appointments/:id', { body: discounted(fx.unpaid(undefined, { id: 970 })) })
    const payment = open('payment', { id: '970' })
    await settle()
    expect(text(payment, '.pay-amount')).toBe('¥47.50')
    expect(text(payment, '.pay-discount')).toBe('会员优惠 -¥2.50（原价 ¥50.00）')
    fake.route('GET /api/v1/appointments/:id', { body: discounted(fx.paid({ id: 971 })) })
    const detail = open('appointment', { id: '971' })
    await settle()
    expect(text(detail, '.fee-discount')).toBe('会员优惠 -¥2.50（原价 ¥50.00）')
  })

  test('no discount, no line', async () => {
    fake.route('GET /api/v1/appointments/:id', { body: fx.paid({ id: 972 }) })
    const detail = open('appointment', { id: '972' })
    await settle()
    expect(exists(detail, '.fee-discount')).toBe(false)
  })
})

test('确认 does not turn away a member booking in the level’s early window', async () => {
  const date = format.addDays(fx.TODAY, 7)
  const schedule = { id: 9, visit_date: date, released: false, bookable: false, remaining: 6, release_at: new Date(Date.now() + 10 * 60000).toISOString() }
  fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots(schedule) })
  fake.route('GET /api/v1/config', { body: fx.CONFIG })
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient()], total: 1 } })
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/members/me', { body: fx.member({ privileges: Object.assign({}, fx.member().privileges, { early_booking_minutes: 30 }) }) })
  let comp = open('confirm', { scheduleId: '9', slotId: '1000', doctorId: '7' })
  await settle()
  expect(text(comp, '.unavailable')).toBe('')
  fake.route('GET /api/v1/members/me', { body: fx.member() })
  comp = open('confirm', { scheduleId: '9', slotId: '1000', doctorId: '7' })
  await settle()
  expect(text(comp, '.unavailable')).toContain('放号')
})
