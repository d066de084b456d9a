/** Words for the 会员中心: the level card, the progress to the next level and the points ledger. */
const format = require('./format')
const api = require('./api')

/**
 * How many minutes before the public release this patient's level may book (0 for none, or when the
 * server cannot say: then the pages simply show the public release).
 */
async function earlyMinutes() {
  try {
    const m = await api.member()
    return (m && m.privileges && m.privileges.early_booking_minutes) || 0
  } catch (err) {
    return 0
  }
}

/**
 * How far the patient is from the next level, by the points earned in the last 12 months (the level
 * follows those, not the balance): {text, percent}. At the top level there is nothing left to reach.
 */
function progress(member) {
  const next = member.next_level
  if (!next) return { text: `您已是${member.level.name}，享有全部会员权益`, percent: 100, top: true }
  const levels = member.levels || []
  const current = levels.find((l) => l.code === member.level.code)
  const from = current ? current.min_points : 0
  const span = Math.max(1, next.min_points - from)
  const done = Math.min(span, Math.max(0, member.points_12m - from))
  return {
    text: `再获得 ${next.points_needed} 积分升级为${next.name}`,
    percent: Math.min(100, Math.max(0, Math.floor((done * 100) / span))),
    top: false,
  }
}

/** "+20" / "-5": the sign always shown, so a spend never reads as an earning. */
function deltaText(delta) {
  const n = Number(delta) || 0
  return n > 0 ? `+${n}` : String(n)
}

/** One ledger line for display. */
function ledgerView(entry) {
  return Object.assign({}, entry, {
    // The note only when it says more than the kind ("就诊完成 就诊完成" reads as a mistake).
    note: entry.note && entry.note !== entry.kind_label ? entry.note : '',
    deltaText: deltaText(entry.delta),
    tone: entry.delta > 0 ? 'ok' : entry.delta < 0 ? 'danger' : 'muted',
    timeText: format.dateTime(entry.created_at),
    expiresText: entry.expires_at && entry.delta > 0 ? `${format.date(entry.expires_at)} 到期` : '',
  })
}

/** The levels table, the patient's own marked. */
function levelsView(member) {
  return (member.levels || []).map((l) =>
    Object.assign({}, l, {
      current: l.code === member.level.code,
      thresholdText: l.min_points > 0 ? `近12个月获得 ${l.min_points} 积分` : '注册即享',
    })
  )
}

module.exports = { progress, deltaText, ledgerView, levelsView, earlyMinutes }
