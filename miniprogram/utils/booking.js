/** Words for schedules, slots, appointment statuses and hospital rules, shared by several pages. */
const format = require('./format')

/**
 * What a schedule (排班) looks like to a patient right now, in order of what matters most:
 * 停诊, 未放号 (with when), 约满, 已停止预约, or open with the number left.
 */
function scheduleState(s, earlyMinutes = 0, nowMs) {
  if (s.status === 'suspended') return { key: 'suspended', label: '停诊', bookable: false }
  if (s.release_mode === 'window') {
    // 抽签放号 (issue 9): in the window the button enters the draw; before it, say when; members book no earlier.
    const window = releaseWindowText(s)
    if (s.release_window_open) return { key: 'draw', label: `抽签放号 ${window}`, bookable: true, draw: true }
    if (!s.released) return { key: 'unreleased', label: `${format.shortDateTime(s.release_at)} 抽签放号`, bookable: false }
  }
  if (!s.released) {
    if (inEarlyWindow(s, earlyMinutes, nowMs)) {
      if (s.remaining <= 0) return { key: 'full', label: '约满', bookable: false }
      return { key: 'open', label: `会员提前约 余${s.remaining}`, bookable: true, early: true }
    }
    return { key: 'unreleased', label: `${format.shortDateTime(s.release_at)} 放号`, bookable: false }
  }
  if (s.remaining <= 0) return { key: 'full', label: '约满', bookable: false }
  if (!s.bookable) return { key: 'closed', label: '已停止预约', bookable: false }
  return { key: 'open', label: `余${s.remaining}`, bookable: true }
}

/** "08:00:00" in Shanghai (the release window is counted in seconds). */
function clockText(value) {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) return ''
  const d = new Date(ms + 8 * 3600000)
  const pad = (n) => String(n).padStart(2, '0')
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** "08:00:00–08:00:30": a window-mode session's release window (抽签放号), '' for others. */
function releaseWindowText(s) {
  if (!s || s.release_mode !== 'window' || !s.release_window_closes_at) return ''
  return `${clockText(s.release_at)}–${clockText(s.release_window_closes_at)}`
}

/**
 * Issue 11: a member whose level books `earlyMinutes` before the public release (the server's
 * privileges.early_booking_minutes) may book an unreleased session from release_at minus those minutes,
 * until its booking closes. The server checks it again in the booking transaction.
 */
function inEarlyWindow(s, earlyMinutes, nowMs) {
  if (!(earlyMinutes > 0) || s.released) return false
  const release = Date.parse(s.release_at)
  if (Number.isNaN(release)) return false
  const now = nowMs === undefined ? Date.now() : nowMs
  const closes = Date.parse(s.booking_closes_at)
  return now >= release - earlyMinutes * 60000 && (Number.isNaN(closes) || now < closes)
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
    memberOnly: !!slot.member_only,
  })
}

/**
 * Issue 11: what a session holds for members, in words: the numbers kept for members and when they
 * open to everyone; before the release, members' earlier start. '' when nothing is kept.
 */
function memberNote(s) {
  if (s.member_reserved > 0) {
    const opens = s.member_share_opens_at ? `，${format.shortDateTime(s.member_share_opens_at)} 起向所有患者开放` : ''
    return `余号中 ${s.member_reserved} 个为会员预留${opens}`
  }
  if (!s.released && s.member_release_at) return `会员可于 ${format.shortDateTime(s.member_release_at)} 起提前预约`
  return ''
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
    discountText: discountText(a),
  })
}

/** The member discount on the fee (issue 11): "会员优惠 -¥2.50（原价 ¥50.00）"; '' without one. */
function discountText(a) {
  const p = a.payment
  if (!p || !(p.discount_fen > 0)) return ''
  const original = p.original_fen > 0 ? p.original_fen : p.amount_fen + p.discount_fen
  return `会员优惠 -${format.money(p.discount_fen)}（原价 ${format.money(original)}）`
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

// --- Issue 14: the appointment's money, cancellation words, ordering and the 停诊 rebook offer ---------

/** Statuses of an appointment still ahead of the patient (我的预约 lists them first). */
const ACTIVE_STATUSES = ['pending_payment', 'booked', 'checked_in']

function isActive(a) {
  return ACTIVE_STATUSES.indexOf(a.status) >= 0
}

/**
 * 我的预约 order over what has been loaded: active ones first, soonest visit first; then the rest,
 * newest visit first. Stable (ties keep the server's order); an id seen twice (paging while the list
 * changed) is kept once, at its first place.
 */
function upcomingFirst(list) {
  const seen = {}
  const at = (a) => Date.parse(a.starts_at) || 0
  return list
    .filter((a) => (seen[a.id] ? false : (seen[a.id] = true)))
    .map((a, i) => ({ a, i, active: isActive(a) }))
    .sort((x, y) => {
      if (x.active !== y.active) return x.active ? -1 : 1
      const d = x.active ? at(x.a) - at(y.a) : at(y.a) - at(x.a)
      return d || x.i - y.i
    })
    .map((e) => e.a)
}

function stripStop(s) {
  return String(s || '').replace(/[。.；;，,\s]+$/, '')
}

/** The short money tag of a list card: {text, tone} (tone: '' blue, 'gray', 'red'); null without `payment`. */
function paymentTag(a) {
  const p = a.payment
  if (!p) return null
  const refund = p.refund
  if (refund && refund.status === 'abnormal') return { text: '退款异常', tone: 'red' }
  if (p.status === 'refunded' || (refund && refund.status === 'succeeded')) {
    return { text: `已退款 ${format.money(refund ? refund.amount_fen : p.amount_fen)}`, tone: 'gray' }
  }
  if (p.status === 'refunding' || (refund && refund.status === 'processing')) return { text: '退款中', tone: '' }
  if (p.status === 'paid') return { text: `已支付 ${format.money(p.amount_fen)}`, tone: '' }
  if (p.status === 'pay_on_site') return { text: '到院支付', tone: 'gray' }
  if (p.status === 'not_required') return { text: '免费', tone: 'gray' }
  if (p.status === 'unpaid') return a.status === 'pending_payment' ? { text: '待支付', tone: 'red' } : { text: '未支付', tone: 'gray' }
  return { text: p.status_label || '', tone: 'gray' }
}

/** One sentence saying exactly what happened to the money (the detail's 费用 block). */
function moneySummary(a) {
  const p = a.payment
  if (!p) return ''
  const amount = format.money(p.amount_fen)
  const refund = p.refund
  if (refund) {
    const back = format.money(refund.amount_fen)
    if (refund.status === 'abnormal') return `退款异常：${back} 暂未退回，医院将尽快与您联系处理，请保持电话畅通。`
    if (refund.status === 'succeeded') {
      return refund.refunded_at ? `${back} 已于 ${format.dateTime(refund.refunded_at)} 原路退回。` : `${back} 已原路退回。`
    }
    return `${back} 正在原路退回，到账后会通知您。`
  }
  if (p.status === 'paid') {
    const paid = p.paid_at ? `已于 ${format.dateTime(p.paid_at)} 在线支付 ${amount}` : `已在线支付 ${amount}`
    return isActive(a) ? `${paid}。` : `${paid}，按退号规则不予退款。`
  }
  if (p.status === 'pay_on_site') {
    if (isActive(a)) return `挂号费 ${amount} 请于就诊当日在医院窗口支付。`
    // A visit that took place was paid at the window: no "you did not pay" for it.
    if (a.status === 'completed') return `挂号费 ${amount} 为到院支付，已在医院窗口结算。`
    return '挂号费为到院支付，您未付款，无需退款。'
  }
  if (p.status === 'not_required') return '本次挂号免费，无需支付。'
  if (p.status === 'unpaid') {
    if (a.status === 'pending_payment') {
      return a.pay_deadline ? `待支付 ${amount}，请在 ${format.dateTime(a.pay_deadline)} 前完成支付。` : `待支付 ${amount}。`
    }
    return '您未支付挂号费，无需退款。'
  }
  return p.status_label || ''
}

/** The detail's 费用 block: labels, amounts and times, plus the summary sentence. */
function paymentView(a) {
  const p = a.payment
  if (!p) return null
  const refund = p.refund
    ? Object.assign({}, p.refund, {
        amountText: format.money(p.refund.amount_fen),
        refundedAtText: format.dateTime(p.refund.refunded_at),
        abnormal: p.refund.status === 'abnormal',
      })
    : null
  const tag = paymentTag(a)
  return {
    status: p.status,
    statusLabel: p.status_label,
    amountText: format.money(p.amount_fen, '免费'),
    paidAtText: format.dateTime(p.paid_at),
    refund,
    tag,
    summary: moneySummary(a),
  }
}

/** What cancelling now does to the money, for the confirmation (refund_on_cancel decides). */
function cancelOutcome(a) {
  const p = a.payment
  if (a.status === 'pending_payment' || (p && p.status === 'unpaid')) return '该预约尚未支付，取消后号源将释放。'
  if (a.refund_on_cancel) return `取消后 ${format.money(p ? p.amount_fen : a.fee_fen)} 将原路退回。`
  if (p && p.status === 'paid') return '取消后不退款。'
  return '取消后号源将释放给其他患者。'
}

/** The confirmation text before cancelling: what, what happens to the money, the rule, the deadline. */
function cancelConfirmText(a) {
  const v = appointmentView(a)
  const rule = stripStop(a.cancel_rule)
  return `${v.visitText} ${a.doctor.name}（${a.patient.name}）。${cancelOutcome(a)}${rule ? `${rule}。` : ''}取消截止：${v.cancelDeadlineText}。`
}

/** Why an active appointment cannot be cancelled online (cancellable false). */
function cancelClosedText(a, nowMs) {
  const deadline = Date.parse(a.cancel_deadline)
  const now = nowMs === undefined ? Date.now() : nowMs
  const rule = stripStop(a.cancel_rule)
  const head =
    !Number.isNaN(deadline) && deadline <= now
      ? `已过取消截止时间（${format.dateTime(a.cancel_deadline)}），无法在线取消。`
      : '该预约不可在线取消。'
  return `${head}${rule ? `${rule}。` : ''}如有疑问请联系医院。`
}

/** "停诊原因" / "取消原因" / "原因" for `status_reason`. */
function reasonLabel(a) {
  if (a.status === 'suspended') return '停诊原因'
  if (a.status === 'cancelled') return '取消原因'
  return '原因'
}

/**
 * The 停诊 rebook offer of a suspended appointment, for display: options with the same doctor first
 * (then by time), the hold's end ("HH:mm" today, else "MM-DD HH:mm"), whether it has run out by this
 * phone's clock, and the appointment it was accepted into. null when there is no offer.
 */
function rebookView(a, nowMs) {
  const r = a.rebook
  if (!r || a.status !== 'suspended') return null
  const now = nowMs === undefined ? Date.now() : nowMs
  const expiresMs = Date.parse(r.expires_at)
  const options = (r.options || [])
    .map((o, i) => ({ o, i }))
    .sort((x, y) => (y.o.same_doctor ? 1 : 0) - (x.o.same_doctor ? 1 : 0) || (Date.parse(x.o.starts_at) || 0) - (Date.parse(y.o.starts_at) || 0) || x.i - y.i)
    .map(({ o }) =>
      Object.assign({}, o, {
        visitText: format.visitLabel(o.visit_date, o.period_label),
        timeText: format.timeRange(o.starts_at, o.ends_at),
        feeText: format.money(o.fee_fen, '免费'),
      })
    )
  return {
    acceptedId: r.accepted_appointment_id || null,
    expired: !Number.isNaN(expiresMs) && expiresMs <= now,
    expiresMs: Number.isNaN(expiresMs) ? null : expiresMs,
    expiresText: format.date(r.expires_at) === format.today(now) ? format.time(r.expires_at) : format.shortDateTime(r.expires_at),
    options,
  }
}

/** Bullet lines for a hospital's booking rules (预约规则). */
function rulesLines(rules) {
  if (!rules) return []
  const lines = [`号源提前${rules.release_days}天放出，每天${String(rules.release_time).slice(0, 5)}更新`]
  lines.push(rules.stop_minutes_before > 0 ? `就诊前${format.duration(rules.stop_minutes_before)}停止预约` : '开诊前均可预约')
  lines.push(`最晚于就诊前${format.duration(rules.cancel_minutes_before)}取消预约，之后不可取消`)
  lines.push(`每个账号在本院最多同时持有${rules.max_active_appointments}个未就诊预约`)
  lines.push(rules.payment_required ? '预约后需在线支付挂号费，超时未支付将自动取消' : '挂号费到院就诊时支付')
  return lines
}

/** Codes of the server refusing to pay because the hold's time is up (treated alike). */
const PAY_EXPIRED_CODES = ['PAYMENT_EXPIRED', 'HOLD_EXPIRED']

module.exports = {
  scheduleState,
  clockText,
  releaseWindowText,
  inEarlyWindow,
  dayState,
  slotView,
  memberNote,
  appointmentView,
  discountText,
  payCountdown,
  PAYMENT_EXPIRED_TEXT,
  PAY_EXPIRED_CODES,
  rulesLines,
  SLOT_LABELS,
  ACTIVE_STATUSES,
  isActive,
  upcomingFirst,
  paymentTag,
  paymentView,
  moneySummary,
  cancelOutcome,
  cancelConfirmText,
  cancelClosedText,
  reasonLabel,
  rebookView,
}
