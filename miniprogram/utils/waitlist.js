/**
 * Words for 候补 (waitlist) entries: status, position, the offer's time left. The server stays the judge
 * of an offer's end (it passes the slot on when the hold runs out); the countdown only tells the patient
 * how long they have, by the seconds the server said were left when the list was loaded.
 */
const format = require('./format')

const TONE = { waiting: '', offered: 'red', booked: 'gray', ended: 'gray' }

/** When the offer ends on this phone's clock: now + seconds_left (robust to a wrong phone clock), else expires_at. */
function offerDeadlineMs(entry, receivedMs) {
  const offer = entry.offer
  if (!offer) return null
  if (typeof offer.seconds_left === 'number') return receivedMs + offer.seconds_left * 1000
  const at = Date.parse(offer.expires_at)
  return Number.isNaN(at) ? null : at
}

/** "前面还有 N 人" (0: next in line). */
function positionText(entry) {
  if (entry.status !== 'waiting') return ''
  const ahead = entry.waiting_ahead === null || entry.waiting_ahead === undefined ? (entry.position || 1) - 1 : entry.waiting_ahead
  return ahead > 0 ? `前面还有 ${ahead} 人` : '您排在第 1 位，有号源释放将首先为您保留'
}

/** One entry for display; `receivedMs` is when the server's answer arrived (Date.now() by default). */
function entryView(entry, receivedMs = Date.now()) {
  const s = entry.schedule || {}
  const deadlineMs = entry.status === 'offered' ? offerDeadlineMs(entry, receivedMs) : null
  return Object.assign({}, entry, {
    tone: TONE[entry.status] === undefined ? 'gray' : TONE[entry.status],
    visitText: format.visitLabel(s.visit_date, s.period_label),
    startText: format.time(s.starts_at),
    joinedText: format.dateTime(entry.joined_at),
    positionText: positionText(entry),
    deadlineMs,
    expiresText: entry.offer ? format.time(entry.offer.expires_at) : '',
    remainText: deadlineMs === null ? '' : format.countdown(deadlineMs - Date.now()),
    expired: deadlineMs !== null && deadlineMs <= Date.now(),
    open: entry.status === 'waiting' || entry.status === 'offered',
  })
}

/** 候补中 and 待确认 first (待确认 on top: it is running out), then the rest, newest first. */
function ordered(items) {
  const rank = { offered: 0, waiting: 1 }
  return items
    .map((e, i) => ({ e, i }))
    .sort((x, y) => {
      const rx = rank[x.e.status] === undefined ? 2 : rank[x.e.status]
      const ry = rank[y.e.status] === undefined ? 2 : rank[y.e.status]
      return rx - ry || x.i - y.i
    })
    .map((x) => x.e)
}

module.exports = { entryView, positionText, offerDeadlineMs, ordered }
