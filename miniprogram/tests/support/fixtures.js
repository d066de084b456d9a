/** Example API bodies shaped like the server contract (times in UTC, as the server sends them). */
const format = require('../../utils/format')

const TODAY = format.today()
const TOMORROW = format.addDays(TODAY, 1)

/** ISO instant for a Shanghai wall-clock time on a date, e.g. at('2026-03-01', '08:00'). */
function at(date, hhmm) {
  return new Date(`${date}T${hhmm}:00+08:00`).toISOString().replace('.000Z', 'Z')
}

const RULES = {
  release_days: 7,
  release_time: '08:00',
  stop_minutes_before: 30,
  cancel_minutes_before: 120,
  max_active_appointments: 5,
  payment_required: false,
}

function hospital(over = {}) {
  return Object.assign(
    { id: 1, name: '北京协和医院', level: '三级甲等', city: '北京', district: '东城区', address: '帅府园1号', phone: '010-69156114', intro: '综合性医院', booking_rules: Object.assign({}, RULES) },
    over
  )
}

function departments() {
  return {
    items: [
      { id: 10, name: '内科', location: '门诊楼2层', intro: '', children: [
        { id: 11, name: '心内科', location: '门诊楼2层A区', intro: '' },
        { id: 12, name: '消化内科', location: '门诊楼2层B区', intro: '' },
      ] },
      { id: 20, name: '外科', location: '门诊楼3层', intro: '', children: [{ id: 21, name: '骨科', location: '门诊楼3层', intro: '' }] },
    ],
    total: 2,
  }
}

function schedule(over = {}) {
  const date = over.visit_date || TOMORROW
  return Object.assign(
    {
      id: 100, doctor_id: 7, visit_date: date, period: 'morning', period_label: '上午',
      starts_at: at(date, '08:00'), ends_at: at(date, '12:00'), capacity: 20, remaining: 5, fee_fen: 5000,
      status: 'open', released: true, release_at: at(format.addDays(date, -7), '08:00'), bookable: true,
      booking_closes_at: at(date, '07:30'),
    },
    over
  )
}

function slots(scheduleOver = {}, statuses = ['available', 'booked', 'available']) {
  const s = schedule(scheduleOver)
  return {
    items: statuses.map((status, i) => ({
      id: 1000 + i, number: i + 1, status,
      starts_at: at(s.visit_date, `0${8 + i}:00`.slice(-5)), ends_at: at(s.visit_date, `0${8 + i}:30`.slice(-5)),
    })),
    total: statuses.length,
    schedule: s,
  }
}

function doctor(over = {}) {
  return Object.assign(
    { id: 7, name: '张三', title: '主任医师', gender: '男', specialty: '冠心病、高血压', intro: '从医三十年', fee_fen: 5000,
      hospital: { id: 1, name: '北京协和医院' }, department: { id: 11, name: '心内科', location: '门诊楼2层A区' } },
    over
  )
}

function patient(over = {}) {
  return Object.assign(
    { id: 50, name: '李四', relationship: 'self', relationship_label: '本人', id_number_masked: '110***********1234',
      phone_masked: '138****5678', birth_date: '1990-01-01', sex: '男', age: 36,
      realname_status: 'verified', realname_label: '已认证', realname_message: '已通过实名认证' },
    over
  )
}

function appointment(over = {}) {
  const date = over.visit_date || TOMORROW
  return Object.assign(
    {
      id: 900, status: 'booked', status_label: '待就诊', queue_number: 3, fee_fen: 5000, visit_date: date,
      period: 'morning', period_label: '上午', starts_at: at(date, '09:00'), ends_at: at(date, '09:30'),
      check_in_code: 'YY-7F3K2Q', created_at: at(TODAY, '10:15'), cancel_deadline: at(date, '07:00'),
      cancellable: true, pay_deadline: null,
      hospital: { id: 1, name: '北京协和医院', address: '帅府园1号' },
      department: { id: 11, name: '心内科', location: '门诊楼2层A区' },
      doctor: { id: 7, name: '张三', title: '主任医师' },
      patient: { id: 50, name: '李四', id_number_masked: '110***********1234', phone_masked: '138****5678' },
      schedule_id: 100, slot_id: 1000,
      // Issue 14 (defaults: a hospital taking the fee at the window, RULES.payment_required false)
      status_reason: '', payment: payment('pay_on_site'), refund_on_cancel: false,
      cancel_rule: '就诊前2小时可免费取消', payment_notice: null, rebook: null,
    },
    over
  )
}

const PAYMENT_LABELS = { unpaid: '待支付', paid: '已支付', refunding: '退款中', refunded: '已退款', not_required: '无需支付', pay_on_site: '到院支付' }
const REFUND_LABELS = { processing: '退款中', succeeded: '已退款', abnormal: '退款异常' }

/** An appointment's `payment` object; `refund` may be a refund status ('succeeded') or an object. */
function payment(status = 'paid', over = {}) {
  const paid = ['paid', 'refunding', 'refunded'].indexOf(status) >= 0
  const out = Object.assign(
    { status, status_label: PAYMENT_LABELS[status], amount_fen: status === 'not_required' ? 0 : 5000, paid_at: paid ? at(TODAY, '10:16') : null, refund: null },
    over
  )
  if (typeof out.refund === 'string') out.refund = refund(out.refund)
  return out
}

function refund(status = 'succeeded', over = {}) {
  return Object.assign(
    { status, status_label: REFUND_LABELS[status], amount_fen: 5000, refunded_at: status === 'succeeded' ? at(TODAY, '11:00') : null },
    over
  )
}

/** A booked appointment paid online (cancelling it now refunds it). */
function paid(over = {}) {
  return appointment(
    Object.assign({ payment: payment('paid'), refund_on_cancel: true, cancel_rule: '就诊前2小时可免费取消，已支付费用原路全额退回', pay_deadline: at(TODAY, '10:30') }, over)
  )
}

/** One option of a 停诊 rebook offer. */
function rebookOption(over = {}) {
  const date = over.visit_date || format.addDays(TODAY, 2)
  return Object.assign(
    {
      schedule_id: 200, slot_id: 2000, same_doctor: true,
      doctor: { id: 7, name: '张三', title: '主任医师' }, department: { id: 11, name: '心内科', location: '门诊楼2层A区' },
      visit_date: date, period: 'morning', period_label: '上午', starts_at: at(date, '08:30'), ends_at: at(date, '09:00'),
      queue_number: 2, fee_fen: 5000,
    },
    over
  )
}

/** A 停诊 offer held until `expires_at` (default: two hours from now). */
function rebookOffer(over = {}) {
  return Object.assign({ expires_at: fromNow(2 * 60 * 60 * 1000), accepted_appointment_id: null, options: [rebookOption()] }, over)
}

/** A suspended (停诊) appointment, paid online and being refunded, with an offer unless `rebook` says otherwise. */
function suspended(over = {}) {
  return appointment(
    Object.assign(
      {
        status: 'suspended', status_label: '已停诊', status_reason: '医生临时出诊任务', cancellable: false, refund_on_cancel: false,
        payment: payment('refunding', { refund: 'processing' }), rebook: rebookOffer(),
      },
      over
    )
  )
}

const CONFIG = {
  subscribe_templates: { booking_confirmed: 'tmpl-confirmed', visit_reminder: 'tmpl-reminder', cancelled: 'tmpl-cancelled' },
  hospital_timezone: 'Asia/Shanghai',
  max_visit_persons: 5,
}

function error(status, code, message) {
  return { status, body: { code, message, detail: null } }
}

/** ISO instant `ms` milliseconds from now (payment deadlines must be relative to the real clock). */
function fromNow(ms) {
  return new Date(Date.now() + ms).toISOString()
}

/** An appointment held for payment until `deadline` (default: 10 minutes from now). */
function unpaid(deadline = fromNow(10 * 60 * 1000), over = {}) {
  return appointment(
    Object.assign({ status: 'pending_payment', status_label: '待支付', pay_deadline: deadline, cancellable: true, payment: payment('unpaid'), cancel_rule: '未支付的预约可随时取消' }, over)
  )
}

// --- issue 11: members, reviews, the waitlist ----------------------------------------------------------

const LEVELS = [
  { code: 'regular', name: '普通会员', min_points: 0, descriptions: [] },
  { code: 'silver', name: '银卡会员', min_points: 300, descriptions: ['候补时优先于普通会员'] },
  { code: 'gold', name: '金卡会员', min_points: 1000, descriptions: ['提前30分钟预约', '会员专享号源', '就诊前可随时取消', '挂号费95折'] },
  { code: 'diamond', name: '钻石会员', min_points: 3000, descriptions: ['提前60分钟预约', '会员专享号源', '就诊前可随时取消', '挂号费9折'] },
]

/** GET /members/me: a silver member 400 points from gold by default. */
function member(over = {}) {
  return Object.assign(
    {
      level: { code: 'silver', name: '银卡会员' }, points_balance: 520, points_12m: 600,
      next_level: { code: 'gold', name: '金卡会员', min_points: 1000, points_needed: 400 },
      privileges: { booking_priority: 1, early_booking_minutes: 0, member_share: false, can_cancel_late: false, discount_percent: 100, descriptions: ['候补时优先于普通会员'] },
      levels: LEVELS,
      earning_rules: ['完成一次就诊 +50 积分', '评价一次就诊 +10 积分', '首次预约 +100 积分'],
      expiry_rule: '积分自获得之日起 12 个月后过期',
    },
    over
  )
}

function ledgerEntry(over = {}) {
  return Object.assign(
    { id: 1, delta: 50, balance_after: 520, kind: 'visit', kind_label: '就诊', note: '北京协和医院 心内科', created_at: at(TODAY, '09:00'), expires_at: at(format.addDays(TODAY, 365), '09:00') },
    over
  )
}

/** GET /appointments/{id}/review. */
function reviewState(over = {}) {
  return Object.assign({ reviewable: true, review_until: at(format.addDays(TODAY, 29), '23:59'), reason: null, review: null }, over)
}

function ownReview(over = {}) {
  return Object.assign({ id: 70, stars: 5, tags: ['耐心细致'], text: '医生很耐心', created_at: at(TODAY, '10:00'), hidden: false, hidden_reason: null }, over)
}

const REVIEW_TAGS = { tags: [{ tag: '耐心细致', positive: true }, { tag: '解释清楚', positive: true }, { tag: '等待时间长', positive: false }] }

function doctorReview(over = {}) {
  return Object.assign({ id: 80, stars: 5, tags: ['耐心细致'], text: '很好', reviewer: '王*', created_at: at(TODAY, '08:00') }, over)
}

function rating(over = {}) {
  return Object.assign({ average: 4.8, count: 123, tags: [{ tag: '耐心细致', count: 56 }, { tag: '解释清楚', count: 40 }, { tag: '态度好', count: 20 }, { tag: '等待时间长', count: 5 }] }, over)
}

/** One waitlist entry (GET /waitlist items). */
function waitlistEntry(over = {}) {
  const date = format.addDays(TODAY, 2)
  return Object.assign(
    {
      id: 300, status: 'waiting', status_label: '候补中', position: 3, waiting_ahead: 2, joined_at: at(TODAY, '08:00'),
      schedule: { id: 100, visit_date: date, period: 'morning', period_label: '上午', starts_at: at(date, '08:00') },
      hospital: { id: 1, name: '北京协和医院' }, department: { id: 11, name: '心内科' },
      doctor: { id: 7, name: '张三', title: '主任医师' }, patient: { id: 50, name: '李四' },
      offer: null, appointment_id: null, end_reason: null,
    },
    over
  )
}

/** An entry holding a slot for `seconds` more. */
function offeredEntry(seconds = 600, over = {}) {
  return waitlistEntry(
    Object.assign(
      { status: 'offered', status_label: '待确认', position: null, waiting_ahead: null, offer: { slot_number: 4, expires_at: fromNow(seconds * 1000), seconds_left: seconds } },
      over
    )
  )
}

module.exports = {
  LEVELS, member, ledgerEntry, reviewState, ownReview, REVIEW_TAGS, doctorReview, rating, waitlistEntry, offeredEntry,
  TODAY, TOMORROW, at, fromNow, unpaid, RULES, hospital, departments, schedule, slots, doctor, patient, appointment, CONFIG, error,
  payment, refund, paid, rebookOption, rebookOffer, suspended,
}
