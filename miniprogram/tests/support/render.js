#!/usr/bin/env node
/**
 * Page-to-PNG, a developer tool (not part of `npm test`): `npm run render [-- OUT_DIR] [-- --only=doctor,confirm] [-- --full]`.
 * `--only=` takes scenario names (appointment-paid) or page names (appointment: all its scenarios); `--full`
 * also writes NAME[-elder]-full.png, the whole page and not only its first screen.
 *
 * Each page is loaded with miniprogram-simulate (the official WXML compiler, the page's own JS) against the
 * scripted `wx` of the unit tests and fixture data, then its DOM is serialised into an HTML file together
 * with the compiled WXSS (app.wxss + the page's + the components'; rpx -> px at a 375 px wide screen, tag
 * selectors such as `button` -> `wx-button`) and a small sheet standing in for WeChat's built-in component
 * styles (the "style": "v2" button with its 184 px width, input, switch, scroll-view). Debian's chromium
 * then screenshots it at 375 x 812: a fake status + navigation bar on top, the page's first screen below,
 * `position: fixed` bars (bottom bar, custom tab bar) pinned to that screen. Every page is rendered in the
 * normal mode and in 长辈模式.
 *
 * THIS IS AN APPROXIMATION OF WECHAT'S RENDERER, not WeChat: fonts, the built-in components' exact looks,
 * safe areas (env() is 0 here), native components and the real navigation bar differ. It is good for
 * layout mistakes (overflowing grids, 184 px buttons, what is below the fold, state colours); check what
 * matters in WeChat DevTools or on a phone.
 *
 * Needs /usr/bin/chromium (Debian package `chromium`, plus `fonts-noto-cjk` for Chinese); no browser is
 * downloaded. Writes OUT_DIR/<page>[-elder].html and .png (default: a new directory under the system temp
 * directory) and prints the paths.
 */
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')

const ROOT = path.resolve(__dirname, '../..')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const SCREEN_W = 375
const SCREEN_H = 812
const STATUS_H = 44
const NAV_H = 44

// --- a DOM and the unit tests' `wx`, outside jest -----------------------------------------------------

function setupDom() {
  const { JSDOM } = require('jsdom')
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { url: 'https://yiyue.test/' })
  global.window = dom.window
  global.document = dom.window.document
  ;['Event', 'CustomEvent', 'Element', 'HTMLElement', 'Node', 'navigator', 'getComputedStyle', 'MutationObserver'].forEach((k) => {
    if (dom.window[k] && global[k] === undefined) global[k] = dom.window[k]
  })
  // tests/support/fake-wx.js builds its `wx` from jest.fn(); a recording function is all it needs.
  global.jest = {
    fn(impl = () => undefined) {
      const f = (...args) => {
        f.mock.calls.push(args)
        return impl(...args)
      }
      f.mock = { calls: [] }
      return f
    },
  }
}

setupDom()
const { createFakeWx } = require('./fake-wx')
const pages = require('./pages')
const fx = require('./fixtures')
const format = require('../../utils/format')
const config = require('../../config')
const api = require('../../utils/api')

let fake = null
function freshWx({ elder = false, loggedIn = true, route = '' } = {}) {
  fake = createFakeWx()
  global.wx = Object.assign(global.wx || {}, fake.wx)
  global.getCurrentPages = () => [{ route: 'pages/index/index' }, { route }]
  config.baseUrl = 'http://127.0.0.1:8000'
  config.fakeWechat = false
  api._reset()
  fake.storage.set('yiyue.elderModeAsked', true)
  if (elder) fake.storage.set('yiyue.elderMode', true)
  if (loggedIn) fake.storage.set('yiyue.tokens', { accessToken: 'a', refreshToken: 'r', accountId: 1 })
  fake.route('GET /api/v1/config', { body: fx.CONFIG })
  return fake
}

const settle = () => pages.settle(() => fake.pending > 0)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// --- fixture data per page ----------------------------------------------------------------------------

const D = (n) => format.addDays(fx.TODAY, n)
const HOSPITALS = [
  fx.hospital(),
  fx.hospital({ id: 2, name: '复旦大学附属中山医院', city: '上海', district: '徐汇区', address: '枫林路180号' }),
  fx.hospital({ id: 3, name: '浙江大学医学院附属第一医院', city: '杭州', district: '上城区', address: '庆春路79号' }),
  fx.hospital({ id: 4, name: '杭州市第一人民医院', level: '三级乙等', city: '杭州', district: '上城区', address: '浣纱路261号' }),
]
const DOCTOR_REVIEWS = [
  fx.doctorReview({ text: '张医生非常耐心，把检查结果一项项讲清楚了，还叮嘱了用药注意事项。', tags: ['耐心细致', '解释清楚'] }),
  fx.doctorReview({ id: 81, stars: 3, tags: ['等待时间长'], text: '医生很好，就是排队等了一个多小时。', reviewer: '李*', created_at: fx.at(D(-2), '16:00') }),
  fx.doctorReview({ id: 82, stars: 5, tags: ['态度好'], text: '', reviewer: '赵*', created_at: fx.at(D(-5), '10:00') }),
]
const PATIENTS = [fx.patient(), fx.patient({ id: 51, name: '李建国', relationship: 'parent', relationship_label: '父母', age: 68 })]

function hospitalsRoute(f) {
  f.route('GET /api/v1/hospitals', { body: { items: HOSPITALS, total: HOSPITALS.length, page: 1, page_size: 20 } })
}

function departmentRoutes(f) {
  f.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  f.route('GET /api/v1/departments/:id', { body: { id: 11, name: '心内科', location: '门诊楼2层A区', intro: '', hospital_id: 1, parent_id: 10 } })
  f.route('GET /api/v1/departments/:id/availability', {
    body: {
      items: [
        { date: D(0), remaining: 0, capacity: 10, released: true, release_at: fx.at(D(-7), '08:00') },
        { date: D(1), remaining: 1, capacity: 10, released: true, release_at: fx.at(D(-6), '08:00') },
        { date: D(3), remaining: 12, capacity: 20, released: true, release_at: fx.at(D(-4), '08:00') },
        { date: D(7), remaining: 35, capacity: 35, released: false, release_at: fx.at(D(0), '08:00') },
      ],
    },
  })
  f.route('GET /api/v1/departments/:id/doctors', (req) => ({
    body: {
      items: [
        Object.assign(fx.doctor({ rating: fx.rating() }), {
          remaining: 1,
          schedules: [
            fx.schedule({ id: 1, visit_date: req.query.date, remaining: 1 }),
            fx.schedule({ id: 2, visit_date: req.query.date, period: 'afternoon', period_label: '下午', remaining: 0 }),
          ],
        }),
        Object.assign(fx.doctor({ id: 8, name: '王五', title: '主治医师', fee_fen: 2000, specialty: '心律失常' }), {
          remaining: 3,
          schedules: [fx.schedule({ id: 3, visit_date: req.query.date, status: 'suspended', status_label: '停诊', remaining: 0 })],
        }),
        Object.assign(fx.doctor({ id: 9, name: '赵六', title: '副主任医师', fee_fen: 3000, specialty: '高血压、心衰' }), {
          remaining: 35,
          schedules: [fx.schedule({ id: 4, visit_date: req.query.date, released: false, bookable: false, remaining: 35, release_at: fx.at(D(0), '08:00') })],
        }),
      ],
      total: 3, page: 1, page_size: 50,
    },
  }))
}

function doctorRoutes(f) {
  f.route('GET /api/v1/doctors/:id', { body: fx.doctor({ intro: '从医三十年，擅长冠心病介入治疗及高血压的个体化治疗，主持多项国家级课题。', rating: fx.rating() }) })
  f.route('GET /api/v1/doctors/:id/reviews', { body: { items: DOCTOR_REVIEWS.slice(0, 3), total: 123, rating: fx.rating() } })
  f.route('GET /api/v1/schedules/:id/waitlist', { body: { waiting: 4, can_join: true, hold_minutes: 15 } })
  f.route('GET /api/v1/me/patients', { body: { items: PATIENTS, total: PATIENTS.length } })
  f.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  f.route('GET /api/v1/doctors/:id/schedules', {
    body: {
      items: [
        fx.schedule({ id: 1, visit_date: D(1), remaining: 7 }),
        fx.schedule({ id: 2, visit_date: D(1), period: 'afternoon', period_label: '下午', starts_at: fx.at(D(1), '13:30'), ends_at: fx.at(D(1), '17:00'), remaining: 0 }),
        fx.schedule({ id: 3, visit_date: D(2), status: 'suspended', status_label: '停诊', remaining: 0 }),
        fx.schedule({ id: 5, visit_date: D(3), remaining: 3 }),
        fx.schedule({ id: 4, visit_date: D(7), released: false, bookable: false, release_at: fx.at(D(0), '08:00') }),
      ],
      total: 5,
    },
  })
  const statuses = ['booked', 'booked', 'available', 'held', 'available', 'available', 'booked', 'available', 'available', 'available', 'booked', 'available']
  f.route('GET /api/v1/schedules/:id/slots', (req) => {
    const body = fx.slots({ id: Number(req.params.id), visit_date: D(1) }, statuses)
    body.items.forEach((s, i) => {
      const start = 8 * 60 + i * 20
      const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
      s.starts_at = fx.at(D(1), hhmm(start))
      s.ends_at = fx.at(D(1), hhmm(start + 20))
    })
    return { body }
  })
}

function confirmRoutes(f, { paymentRequired = false } = {}) {
  f.route('GET /api/v1/schedules/:id/slots', {
    body: fx.slots({ id: 100, fee_fen: 4000, booking_notice: '就诊当日预约，支付后不可取消退款', cancel_deadline: fx.at(fx.TOMORROW, '06:00') }),
  })
  f.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  f.route('GET /api/v1/hospitals/:id', { body: fx.hospital({ booking_rules: Object.assign({}, fx.RULES, { payment_required: paymentRequired }) }) })
  f.route('GET /api/v1/me/patients', { body: { items: PATIENTS, total: PATIENTS.length } })
}

// --- issue 14: money, cancellation and 停诊 ------------------------------------------------------------

const MIN = 60 * 1000
/** 我的预约: one of each (待支付 with 去支付, paid, 已签到, 停诊 with an offer, cancelled and refunded). */
const APPOINTMENT_LIST = [
  fx.unpaid(fx.fromNow(12 * MIN), { id: 910, queue_number: 5, visit_date: fx.TOMORROW, starts_at: fx.at(fx.TOMORROW, '10:00'), ends_at: fx.at(fx.TOMORROW, '10:30') }),
  fx.paid({ id: 911, visit_date: D(2), starts_at: fx.at(D(2), '09:00'), ends_at: fx.at(D(2), '09:30'), doctor: { id: 8, name: '王五', title: '主治医师' } }),
  fx.appointment({ id: 912, status: 'checked_in', status_label: '已签到', visit_date: fx.TODAY, period: 'afternoon', period_label: '下午', starts_at: fx.at(fx.TODAY, '14:00'), ends_at: fx.at(fx.TODAY, '14:30'), queue_number: 12, cancellable: false }),
  fx.suspended({ id: 913, visit_date: D(1), starts_at: fx.at(D(1), '08:30'), ends_at: fx.at(D(1), '09:00') }),
  fx.paid({
    id: 914, status: 'cancelled', status_label: '已取消', status_reason: '行程有变', cancellable: false, refund_on_cancel: false,
    visit_date: D(-2), period: 'afternoon', period_label: '下午', starts_at: fx.at(D(-2), '15:00'), ends_at: fx.at(D(-2), '15:30'),
    payment: fx.payment('refunded', { refund: 'succeeded' }), department: { id: 12, name: '消化内科', location: '门诊楼2层B区' }, doctor: { id: 9, name: '赵六', title: '副主任医师' },
  }),
]

function appointmentsRoute(f) {
  f.route('GET /api/v1/me/appointments', { body: { items: APPOINTMENT_LIST, total: APPOINTMENT_LIST.length, page: 1, page_size: 20 } })
}

/** The detail page of one appointment: `GET /appointments/{id}` answers `a`. */
function detail(name, a, extra = {}) {
  return Object.assign({ name, page: 'appointment', query: { id: String(a.id) }, setup: (f) => f.route('GET /api/v1/appointments/:id', { body: a }) }, extra)
}

const PAST = fx.at(fx.TODAY, '00:00')
const TWO_OPTIONS = fx.rebookOffer({
  options: [
    fx.rebookOption({ schedule_id: 201, slot_id: 2101, same_doctor: false, doctor: { id: 8, name: '王五', title: '主治医师' }, queue_number: 4, fee_fen: 2000,
      visit_date: D(1), starts_at: fx.at(D(1), '14:00'), ends_at: fx.at(D(1), '14:30'), period: 'afternoon', period_label: '下午' }),
    fx.rebookOption(),
  ],
})

const DETAIL_SCENARIOS = [
  detail('appointment-pending', fx.unpaid(fx.fromNow(12 * MIN), { id: 920, payment_notice: '就诊当日预约，支付后不可取消退款', cancel_rule: '未支付的预约可随时取消' })),
  detail('appointment-paid', fx.paid({ id: 921 })),
  detail('appointment-onsite', fx.appointment({ id: 922 })),
  detail('appointment-past-deadline', fx.paid({ id: 923, visit_date: fx.TODAY, period: 'evening', period_label: '晚间', starts_at: fx.at(fx.TODAY, '23:00'), ends_at: fx.at(fx.TODAY, '23:30'), cancel_deadline: PAST, cancellable: false, refund_on_cancel: false })),
  detail('appointment-checked-in', fx.paid({ id: 924, status: 'checked_in', status_label: '已签到', queue_number: 12, cancellable: false, refund_on_cancel: false })),
  detail('appointment-refunded', fx.paid({
    id: 925, status: 'cancelled', status_label: '已取消', status_reason: '行程有变', cancellable: false, refund_on_cancel: false,
    payment: fx.payment('refunded', { refund: 'succeeded' }),
  })),
  detail('appointment-refund-abnormal', fx.paid({
    id: 926, status: 'cancelled', status_label: '已取消', status_reason: '行程有变', cancellable: false, refund_on_cancel: false,
    payment: fx.payment('refunding', { refund: 'abnormal' }),
  })),
  detail('appointment-suspended', fx.suspended({ id: 927, rebook: TWO_OPTIONS })),
  detail('appointment-suspended-expired', fx.suspended({ id: 928, rebook: fx.rebookOffer({ expires_at: fx.fromNow(-30 * MIN) }) })),
]

const VALID_ID = '11010519491231002X'
function patientForm(comp, { name = '王小明', id = VALID_ID, phone = '13812345678' } = {}) {
  comp.instance.setData({ form: { name, idNumber: id, phone, relationship: 'parent' } })
  comp.instance.onSave()
}

const MONEY_SCENARIOS = [
  { name: 'appointments', page: 'appointments', setup: appointmentsRoute },
  ...DETAIL_SCENARIOS,
  { name: 'payment', page: 'payment', query: { id: '930' }, setup: (f) => f.route('GET /api/v1/appointments/:id', { body: fx.unpaid(fx.fromNow(12 * MIN), { id: 930 }) }) },
  {
    name: 'payment-notice', page: 'payment', query: { id: '931' },
    setup: (f) => f.route('GET /api/v1/appointments/:id', { body: fx.unpaid(fx.fromNow(12 * MIN), { id: 931, payment_notice: '就诊当日预约，支付后不可取消退款' }) }),
  },
  { name: 'result', page: 'result', query: { id: '932' }, setup: (f) => f.route('GET /api/v1/appointments/:id', { body: fx.paid({ id: 932 }) }) },
  { name: 'result-rebooked', page: 'result', query: { id: '933', rebooked: '1' }, setup: (f) => f.route('GET /api/v1/appointments/:id', { body: fx.paid({ id: 933, visit_date: D(2) }) }), normalOnly: true },
  {
    name: 'patient-edit-errors', page: 'patient-edit',
    after: async (comp) => patientForm(comp, { name: '王1', id: '110105194912310021', phone: '1381234' }),
  },
  {
    name: 'patient-edit-exists', page: 'patient-edit',
    setup: (f) => f.route('POST /api/v1/me/patients', fx.error(409, 'VISIT_PERSON_EXISTS', '您已添加过该就诊人')),
    after: async (comp) => patientForm(comp),
  },
]

// --- issue 11: members, reviews, the waitlist --------------------------------------------------------

const COMPLETED = fx.appointment({ id: 940, status: 'completed', status_label: '已就诊', cancellable: false, visit_date: D(-1), starts_at: fx.at(D(-1), '09:00'), ends_at: fx.at(D(-1), '09:30') })

function reviewRoutes(state) {
  return (f) => {
    f.route('GET /api/v1/appointments/:id', { body: COMPLETED })
    f.route('GET /api/v1/appointments/:id/review', { body: state })
    f.route('GET /api/v1/review-tags', { body: { tags: [
      { tag: '耐心细致', positive: true }, { tag: '解释清楚', positive: true }, { tag: '医术精湛', positive: true }, { tag: '态度好', positive: true },
      { tag: '等待时间长', positive: false }, { tag: '沟通太少', positive: false },
    ] } })
  }
}

const LEDGER = [
  fx.ledgerEntry({ id: 6, delta: 10, balance_after: 1260, kind: 'review', kind_label: '评价', note: '评价 张三 医生' }),
  fx.ledgerEntry({ id: 5, delta: 50, balance_after: 1250, note: '北京协和医院 心内科', created_at: fx.at(D(-1), '11:00') }),
  fx.ledgerEntry({ id: 4, delta: -40, balance_after: 1200, kind: 'expire', kind_label: '积分过期', note: '2024年12月获得的积分', expires_at: null, created_at: fx.at(D(-3), '00:00') }),
  fx.ledgerEntry({ id: 3, delta: 100, balance_after: 1240, kind: 'first_booking', kind_label: '首次预约', note: '', created_at: fx.at(D(-30), '09:00') }),
]

const ISSUE11_SCENARIOS = [
  {
    name: 'member', page: 'member',
    setup: (f) => {
      f.route('GET /api/v1/members/me', { body: fx.member({ level: { code: 'gold', name: '金卡会员' }, points_balance: 1260, points_12m: 1450,
        next_level: { code: 'diamond', name: '钻石会员', min_points: 3000, points_needed: 1550 },
        privileges: Object.assign({}, fx.member().privileges, { descriptions: fx.LEVELS[2].descriptions }) }) })
      f.route('GET /api/v1/members/me/ledger', { body: { items: LEDGER, total: 4 } })
    },
  },
  { name: 'review', page: 'review', query: { id: '940' }, setup: reviewRoutes(fx.reviewState()), after: async (comp) => {
    comp.instance.onStar({ currentTarget: { dataset: { stars: 4 } } })
    comp.instance.onTag({ currentTarget: { dataset: { index: 0 } } })
    comp.instance.onTag({ currentTarget: { dataset: { index: 1 } } })
    comp.instance.onText({ detail: { value: '张医生很耐心，讲解得很清楚。' } })
  } },
  { name: 'review-hidden', page: 'review', query: { id: '940' }, setup: reviewRoutes(fx.reviewState({ reviewable: false, review: fx.ownReview({ stars: 2, tags: ['等待时间长'], text: '等了很久', hidden: true, hidden_reason: '含有与就诊无关的内容' }) })) },
  { name: 'appointment-completed', page: 'appointment', query: { id: '940' }, setup: reviewRoutes(fx.reviewState()) },
  {
    name: 'waitlist', page: 'waitlist',
    setup: (f) => f.route('GET /api/v1/waitlist', { body: { items: [
      fx.offeredEntry(12 * 60 + 5, { id: 310 }),
      fx.waitlistEntry({ id: 311, doctor: { id: 8, name: '王五', title: '主治医师' }, patient: { id: 51, name: '李建国' } }),
      fx.waitlistEntry({ id: 312, status: 'booked', status_label: '已预约', position: null, waiting_ahead: null, appointment_id: 960 }),
      fx.waitlistEntry({ id: 313, status: 'ended', status_label: '已结束', position: null, waiting_ahead: null, end_reason: '出诊已开始，候补结束' }),
    ], total: 4 } }),
  },
  {
    name: 'doctor-waitlist', page: 'doctor', query: { id: '7', date: D(1) },
    setup: (f) => {
      doctorRoutes(f)
      f.route('GET /api/v1/doctors/:id/schedules', { body: { items: [fx.schedule({ id: 1, visit_date: D(1), remaining: 0 }), fx.schedule({ id: 5, visit_date: D(3), remaining: 3 })], total: 2 } })
      f.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 1, visit_date: D(1), remaining: 0 }, ['booked', 'booked', 'held', 'booked', 'booked', 'booked']) })
    },
  },
  { name: 'doctor-reviews', page: 'doctor-reviews', query: { id: '7', name: encodeURIComponent('张三') }, setup: (f) => f.route('GET /api/v1/doctors/:id/reviews', { body: { items: DOCTOR_REVIEWS, total: 3, rating: fx.rating() } }) },
]

const SCENARIOS = [
  { name: 'index', page: 'index', setup: hospitalsRoute },
  { name: 'index-first-launch', page: 'index', setup: (f) => { hospitalsRoute(f); f.storage.delete('yiyue.elderModeAsked') }, normalOnly: true },
  {
    name: 'index-search',
    page: 'index',
    setup: (f) => {
      hospitalsRoute(f)
      f.route('GET /api/v1/search', {
        body: {
          query: 'xn',
          hospitals: [{ id: 3, name: '浙江大学医学院附属第一医院', level: '三级甲等', city: '杭州', district: '上城区', match: 'initials' }],
          departments: [{ id: 11, name: '心内科', parent_name: '内科', hospital: { id: 1, name: '北京协和医院' }, match: 'initials' }],
          doctors: [{ id: 7, name: '张三', title: '主任医师', specialty: '冠心病、高血压', department: { id: 11, name: '心内科' }, hospital: { id: 1, name: '北京协和医院' }, match: 'specialty' }],
        },
      })
    },
    after: async (comp) => {
      comp.instance.onInput({ detail: { value: 'xn' } })
      await sleep(400)
    },
  },
  { name: 'hospital', page: 'hospital', query: { id: '1' }, setup: (f) => { f.route('GET /api/v1/hospitals/:id', { body: fx.hospital() }); f.route('GET /api/v1/hospitals/:id/departments', { body: fx.departments() }) } },
  { name: 'department', page: 'department', query: { id: '11', hospitalId: '1' }, setup: departmentRoutes },
  { name: 'doctor', page: 'doctor', query: { id: '7', date: D(1) }, setup: doctorRoutes },
  { name: 'confirm', page: 'confirm', query: { scheduleId: '100', slotId: '1000', doctorId: '7' }, setup: (f) => confirmRoutes(f) },
  { name: 'confirm-online', page: 'confirm', query: { scheduleId: '100', slotId: '1000', doctorId: '7' }, setup: (f) => confirmRoutes(f, { paymentRequired: true }), normalOnly: true },
  { name: 'profile', page: 'profile', setup: (f) => { f.route('GET /api/v1/me/notifications', { body: { items: [], total: 3, unread: 3 } }); f.route('GET /api/v1/members/me', { body: fx.member({ level: { code: 'gold', name: '金卡会员' } }) }) } },
  { name: 'patients', page: 'patients', setup: (f) => f.route('GET /api/v1/me/patients', { body: { items: PATIENTS, total: PATIENTS.length } }) },
  {
    name: 'messages',
    page: 'messages',
    setup: (f) =>
      f.route('GET /api/v1/me/notifications', {
        body: {
          items: [
            { id: 3, kind: 'booking_confirmed', title: '预约成功', body: '您已成功预约北京协和医院 心内科 张三 明天上午 3号。', appointment_id: 900, created_at: fx.at(fx.TODAY, '09:12'), read_at: null },
            { id: 2, kind: 'suspended', title: '医生停诊', body: '很抱歉，张三医生 后天上午停诊，您的预约已取消，挂号费将原路退回。', appointment_id: 901, created_at: fx.at(fx.TODAY, '08:30'), read_at: null },
            { id: 1, kind: 'visit_reminder', title: '就诊提醒', body: '请于明天 08:30 前到门诊楼2层A区签到。', appointment_id: 900, created_at: fx.at(D(-1), '20:00'), read_at: fx.at(D(-1), '20:05') },
          ],
          total: 3, unread: 2,
        },
      }),
  },
  ...MONEY_SCENARIOS,
  ...ISSUE11_SCENARIOS,
]

const TAB_PAGES = { index: 'pages/index/index', appointments: 'pages/appointments/appointments', profile: 'pages/profile/profile' }

// --- WXSS -> CSS ------------------------------------------------------------------------------------

const TAGS = ['page', 'view', 'text', 'button', 'input', 'switch', 'scroll-view', 'image', 'picker', 'textarea', 'navigator', 'icon']

function wxssToCss(wxss) {
  const postcss = require('postcss')
  const root = postcss.parse(wxss)
  const tagRe = new RegExp(`(^|[\\s>+~,(])(${TAGS.join('|')})(?=$|[\\s.:#\\[>+~,)])`, 'g')
  root.walkRules((rule) => {
    rule.selectors = rule.selectors.map((sel) => sel.replace(tagRe, (all, pre, tag) => `${pre}${tag === 'page' ? '.wx-page' : `wx-${tag}`}`))
  })
  return rpxToPx(root.toString())
}

/** 750 rpx = the screen width. */
function rpxToPx(css) {
  return css.replace(/(-?\d*\.?\d+)rpx/g, (all, n) => `${+(Number(n) * (SCREEN_W / 750)).toFixed(3)}px`)
}

/** Stand-ins for WeChat's built-in component styles (base library, "style": "v2"); app.wxss comes after. */
const BUILTIN_CSS = `
html, body { margin: 0; padding: 0; }
body { width: ${SCREEN_W}px; font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 16px; }
wx-view, wx-scroll-view, wx-swiper, wx-form, wx-picker, state, main { display: block; }
wx-text { display: inline; white-space: pre-wrap; }
wx-scroll-view { overflow: auto; scrollbar-width: none; }
wx-scroll-view::-webkit-scrollbar { display: none; }
wx-button { position: relative; display: block; box-sizing: border-box; margin-left: auto; margin-right: auto; padding: 12px 24px;
  font-size: 17px; font-weight: 700; line-height: 1.41176471; text-align: center; border-radius: 8px; color: #000;
  background-color: #f2f2f2; overflow: hidden; cursor: pointer; }
wx-button:not([size=mini]) { width: 184px; margin-left: auto; margin-right: auto; }
wx-button::after { content: " "; position: absolute; top: 0; left: 0; width: 200%; height: 200%; box-sizing: border-box;
  border: 1px solid rgba(0, 0, 0, 0.2); border-radius: 16px; transform: scale(0.5); transform-origin: 0 0; pointer-events: none; }
wx-button[disabled] { color: rgba(0, 0, 0, 0.3); }
wx-input { display: block; height: 1.4em; line-height: 1.4em; overflow: hidden; white-space: nowrap; text-overflow: clip; }
wx-input .wx-input-placeholder { color: #999; }
wx-switch { display: inline-block; position: relative; width: 52px; height: 32px; border-radius: 16px; background: #e5e5e5; flex-shrink: 0; }
wx-switch::after { content: ""; position: absolute; top: 2px; left: 2px; width: 28px; height: 28px; border-radius: 50%; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.3); }
wx-switch[checked]::after { left: 22px; }
.wx-page { display: block; }
.wx-status { height: ${STATUS_H}px; background: #1a73e8; color: #fff; font: 600 14px sans-serif; display: flex; align-items: center; padding: 0 20px; box-sizing: border-box; justify-content: space-between; }
.wx-nav { height: ${NAV_H}px; background: #1a73e8; color: #fff; font: 600 17px sans-serif; display: flex; align-items: center; justify-content: center; position: relative; }
.wx-nav .capsule { position: absolute; right: 8px; top: 7px; width: 87px; height: 30px; border-radius: 16px; border: 1px solid rgba(255,255,255,.5); box-sizing: border-box; }
.wx-viewport { position: relative; height: ${SCREEN_H - STATUS_H - NAV_H}px; overflow-y: auto; overflow-x: hidden; transform: translateZ(0); background: #f5f6f8; scrollbar-width: none; }
.wx-viewport::-webkit-scrollbar { display: none; }
`

function readWxss(rel) {
  const file = path.join(ROOT, rel)
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
}

// --- DOM -> HTML ------------------------------------------------------------------------------------

/** Copies the built-in components' bound properties (not kept as DOM attributes by simulate) and strips class prefixes. */
function prepare(node) {
  if (node.nodeType !== 1) return
  const vt = node.__wxElement && node.__wxElement._vt
  const attrs = {}
  ;(vt && vt.attrs ? vt.attrs : []).forEach((a) => {
    attrs[a.name] = a.value
  })
  const tag = node.tagName.toLowerCase()
  // simulate turns an inline style's rpx into as many px (1:1); redo it at the screen's scale.
  if (typeof attrs.style === 'string' && /rpx/.test(attrs.style)) node.setAttribute('style', rpxToPx(attrs.style))
  if (tag === 'wx-button') {
    if (attrs.disabled) node.setAttribute('disabled', '')
    if (attrs.size) node.setAttribute('size', attrs.size)
  }
  if (tag === 'wx-switch' && attrs.checked) node.setAttribute('checked', '')
  if (tag === 'wx-scroll-view' && attrs['scroll-x'] !== undefined) node.setAttribute('scroll-x', '')
  if (tag === 'wx-input') {
    node.textContent = ''
    const span = node.ownerDocument.createElement('span')
    if (attrs.value) span.textContent = attrs.value
    else {
      span.textContent = attrs.placeholder || ''
      span.className = 'wx-input-placeholder'
    }
    node.appendChild(span)
  }
  if (node.hasAttribute('class')) {
    node.setAttribute('class', node.getAttribute('class').split(/\s+/).map((c) => c.replace(/^[\w-]*?--/, '')).join(' '))
  }
  Array.from(node.childNodes).forEach(prepare)
}

function html({ title, body, css, elder, viewportH = SCREEN_H - STATUS_H - NAV_H }) {
  const now = format.time(Date.now())
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=${SCREEN_W}">
<title>${title}</title>
<!-- Rendered by tests/support/render.js: an approximation of WeChat's renderer, not WeChat. -->
<style>${BUILTIN_CSS}</style>
<style>${css}</style>
</head><body class="${elder ? 'elder-mode' : ''}">
<div class="wx-status"><span>${now}</span><span>●●● 5G ▮</span></div>
<div class="wx-nav">${title}<span class="capsule"></span></div>
<div class="wx-viewport" style="height:${viewportH}px"><div class="wx-page">${body}</div></div>
<script>document.documentElement.setAttribute('data-content-h', String(document.querySelector('.wx-viewport').scrollHeight))</script>
</body></html>`
}

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--hide-scrollbars', '--force-device-scale-factor=1']

function screenshot(htmlFile, pngFile, height = SCREEN_H) {
  execFileSync(CHROMIUM, [...CHROMIUM_FLAGS, `--screenshot=${pngFile}`, `--window-size=${SCREEN_W},${height}`, `file://${htmlFile}`], { stdio: 'pipe', timeout: 60000 })
}

/** The page's whole height in px, as laid out by chromium at 375 px (the script in html() writes it). */
function contentHeight(htmlFile) {
  const dom = execFileSync(CHROMIUM, [...CHROMIUM_FLAGS, '--dump-dom', `--window-size=${SCREEN_W},${SCREEN_H}`, `file://${htmlFile}`], { stdio: 'pipe', timeout: 60000 }).toString()
  const m = dom.match(/data-content-h="(\d+)"/)
  return m ? Number(m[1]) : 0
}

async function renderTabBar(pagePath) {
  const simulate = pages.simulate
  if (!renderTabBar.id) renderTabBar.id = simulate.load(path.join(ROOT, 'custom-tab-bar/index'), 'tab-bar', { rootPath: ROOT })
  global.getCurrentPages = () => [{ route: pagePath }]
  const bar = simulate.render(renderTabBar.id)
  bar.attach(document.createElement('parent-wrapper'))
  await sleep(0)
  return bar.dom
}

async function renderOne(scenario, elder, outDir, full) {
  const f = freshWx({ elder, route: `pages/${scenario.page}/${scenario.page}` })
  if (scenario.setup) scenario.setup(f)
  const comp = pages.open(scenario.page, scenario.query || {})
  await settle()
  if (scenario.after) {
    await scenario.after(comp)
    await settle()
  }
  await sleep(20)
  const titleCall = f.wx.setNavigationBarTitle.mock.calls.pop()
  const json = JSON.parse(readWxss(`pages/${scenario.page}/${scenario.page}.json`) || '{}')
  const title = (titleCall && titleCall[0].title) || json.navigationBarTitleText || '医约'

  const holder = document.createElement('div')
  holder.appendChild(comp.dom.cloneNode(false))
  // Prepare the live tree (it holds the bound properties), then serialise it.
  prepare(comp.dom)
  let body = comp.dom.innerHTML
  if (TAB_PAGES[scenario.page]) {
    const bar = await renderTabBar(TAB_PAGES[scenario.page])
    prepare(bar)
    body += bar.innerHTML
  }
  const css = wxssToCss(
    [readWxss('app.wxss'), readWxss('components/state/state.wxss'), readWxss(`pages/${scenario.page}/${scenario.page}.wxss`), readWxss('custom-tab-bar/index.wxss')].join('\n')
  )
  const base = path.join(outDir, `${scenario.name}${elder ? '-elder' : ''}`)
  fs.writeFileSync(`${base}.html`, html({ title, body, css, elder }))
  screenshot(`${base}.html`, `${base}.png`)
  const out = [`${base}.png`]
  if (full) {
    // The whole page, not just its first screen (fixed bars then sit at the very bottom).
    const viewportH = Math.max(SCREEN_H - STATUS_H - NAV_H, contentHeight(`${base}.html`))
    fs.writeFileSync(`${base}-full.html`, html({ title, body, css, elder, viewportH }))
    screenshot(`${base}-full.html`, `${base}-full.png`, viewportH + STATUS_H + NAV_H)
    out.push(`${base}-full.png`)
  }
  return out
}

async function main() {
  const args = process.argv.slice(2)
  const only = (args.find((a) => a.startsWith('--only=')) || '').slice(7).split(',').filter(Boolean)
  const full = args.indexOf('--full') >= 0
  const outArg = args.find((a) => !a.startsWith('--'))
  const outDir = path.resolve(outArg || fs.mkdtempSync(path.join(os.tmpdir(), 'yiyue-render-')))
  fs.mkdirSync(outDir, { recursive: true })
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} not found: apt-get install chromium fonts-noto-cjk (or set CHROMIUM)`)
    process.exit(2)
  }
  const out = []
  for (const scenario of SCENARIOS) {
    if (only.length && only.indexOf(scenario.name) < 0 && only.indexOf(scenario.page) < 0) continue
    for (const elder of scenario.normalOnly ? [false] : [false, true]) {
      const pngs = await renderOne(scenario, elder, outDir, full)
      pngs.forEach((png) => console.log(png))
      out.push(...pngs)
    }
  }
  console.log(`${out.length} screenshots in ${outDir} (an approximation of WeChat's renderer)`)
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
