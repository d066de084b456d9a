/** Words for schedules, slots, appointment statuses and hospital rules, shared by several pages. */
const format = require('./format')

/**
 * What a schedule (排班) looks like to a patient right now, in order of what matters most:
 * 停诊, 未放号 (with when), 约满, 已停止预约, or open with the number left.
 */
function scheduleState(s) {
  if (s.status === 'suspended') return { key: 'suspended', label: '停诊', bookable: false }
  if (!s.released) return { key: 'unreleased', label: `${format.shortDateTime(s.release_at)} 放号`, bookable: false }
  if (s.remaining <= 0) return { key: 'full', label: '约满', bookable: false }
  if (!s.bookable) return { key: 'closed', label: '已停止预约', bookable: false }
  return { key: 'open', label: `余${s.remaining}`, bookable: true }
}

/** A day on the department's date strip, from one availability item (or none: no schedules). */
function dayState(item) {
  if (!item) return { key: 'none', label: '无排班' }
  if (!item.released) return { key: 'unreleased', label: `${format.time(item.release_at)}放号` }
  if (item.remaining <= 0) return { key: 'full', label: '约满' }
  return { key: 'open', label: `余${item.remaining}` }
}

const SLOT_LABELS = { available: '可约', held: '锁定中', booked: '已约' }

function slotView(slot) {
  return Object.assign({}, slot, {
    timeText: format.timeRange(slot.starts_at, slot.ends_at),
    stateText: SLOT_LABELS[slot.status] || slot.status,
    available: slot.status === 'available',
  })
}

const STATUS_TONE = {
  pending_payment: 'warn',
  booked: 'ok',
  checked_in: 'ok',
  completed: 'muted',
  cancelled: 'muted',
  expired: 'muted',
  suspended: 'danger',
  no_show: 'danger',
}

/** An appointment with its display strings. */
function appointmentView(a) {
  return Object.assign({}, a, {
    feeText: format.money(a.fee_fen, '免费'),
    visitText: format.visitLabel(a.visit_date, a.period_label),
    timeText: format.timeRange(a.starts_at, a.ends_at),
    createdText: format.dateTime(a.created_at),
    cancelDeadlineText: format.dateTime(a.cancel_deadline),
    payDeadlineText: format.dateTime(a.pay_deadline),
    tone: STATUS_TONE[a.status] || 'muted',
  })
}

/**
 * Time left to pay an appointment held for payment, by this phone's clock: {expired, remainMs, remainText}.
 * The server stays the judge (it refuses a late payment with PAYMENT_EXPIRED and releases the slot
 * within a minute); this only tells the patient how long they have. No deadline: nothing to count.
 */
function payCountdown(payDeadline, nowMs) {
  const deadline = payDeadline ? Date.parse(payDeadline) : NaN
  if (Number.isNaN(deadline)) return { expired: false, remainMs: null, remainText: '' }
  const remainMs = Math.max(0, deadline - (nowMs === undefined ? Date.now() : nowMs))
  return { expired: remainMs <= 0, remainMs, remainText: format.countdown(remainMs) }
}

/** The words shown when the payment window has closed (the server's PAYMENT_EXPIRED says the same). */
const PAYMENT_EXPIRED_TEXT = '支付时间已过，号源已释放，请重新预约'

/** What happens to the money if this appointment is cancelled (shown before the user confirms). */
function refundRule(a) {
  if (a.status === 'pending_payment') return '该预约尚未支付，取消后号源将立即释放。'
  if (!a.fee_fen) return '取消后号源将释放给其他患者。'
  return `取消后号源将释放给其他患者；如已在线支付挂号费${format.money(a.fee_fen)}，将原路全额退回（1-7个工作日到账）。`
}

/** Bullet lines for a hospital's booking rules (预约规则). */
function rulesLines(rules) {
  if (!rules) return []
  const lines = [`号源提前${rules.release_days}天放出，每天${String(rules.release_time).slice(0, 5)}更新`]
  lines.push(rules.stop_minutes_before > 0 ? `就诊前${format.duration(rules.stop_minutes_before)}停止预约` : '开诊前均可预约')
  lines.push(`就诊前${format.duration(rules.cancel_minutes_before)}以前可取消预约，逾期不可取消`)
  lines.push(`每个账号在本院最多同时持有${rules.max_active_appointments}个未就诊预约`)
  lines.push(rules.payment_required ? '预约后需在线支付挂号费，超时未支付将自动取消' : '挂号费到院就诊时支付')
  return lines
}

module.exports = { scheduleState, dayState, slotView, appointmentView, payCountdown, PAYMENT_EXPIRED_TEXT, refundRule, rulesLines, SLOT_LABELS }
