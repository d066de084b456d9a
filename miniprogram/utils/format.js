/**
 * Display helpers. Money arrives as integer fen; times arrive as ISO 8601 with an offset and are shown
 * in the hospitals' local time, Asia/Shanghai (UTC+8 all year, no daylight saving), whatever the
 * phone's own time zone is.
 */
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000
const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六']

function pad(n) {
  return n < 10 ? `0${n}` : String(n)
}

/** 5000 -> "¥50.00"; 0 -> "免费" when `freeLabel` is given. */
function money(fen, freeLabel) {
  if (fen === null || fen === undefined || Number.isNaN(Number(fen))) return ''
  const value = Number(fen)
  if (value === 0 && freeLabel) return freeLabel
  const sign = value < 0 ? '-' : ''
  const abs = Math.abs(Math.round(value))
  return `${sign}¥${Math.floor(abs / 100)}.${pad(abs % 100)}`
}

/** Wall-clock parts in Asia/Shanghai for an ISO string or epoch milliseconds. */
function shanghaiParts(value) {
  const ms = typeof value === 'number' ? value : Date.parse(value)
  if (Number.isNaN(ms)) return null
  const d = new Date(ms + SHANGHAI_OFFSET_MS)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: d.getUTCDay(),
  }
}

/** "2026-03-01" in Shanghai. */
function date(value) {
  const p = shanghaiParts(value)
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : ''
}

/** "08:30" in Shanghai. */
function time(value) {
  const p = shanghaiParts(value)
  return p ? `${pad(p.hour)}:${pad(p.minute)}` : ''
}

/** "2026-03-01 08:30" in Shanghai. */
function dateTime(value) {
  return value ? `${date(value)} ${time(value)}` : ''
}

/** "08:00-08:30". */
function timeRange(start, end) {
  if (!start) return ''
  return end ? `${time(start)}-${time(end)}` : time(start)
}

/** Today's calendar date in Shanghai, "YYYY-MM-DD". */
function today(nowMs) {
  return date(nowMs === undefined ? Date.now() : nowMs)
}

/** Calendar arithmetic on "YYYY-MM-DD" strings (no time zone involved). */
function addDays(dateStr, days) {
  const [y, m, d] = dateStr.split('-').map(Number)
  const t = new Date(Date.UTC(y, m - 1, d + days))
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`
}

function weekday(dateStr) {
  const [y, m, d] = dateStr.split('-').map(Number)
  return WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]
}

/** "03-01". */
function shortDate(dateStr) {
  return dateStr ? dateStr.slice(5) : ''
}

/** "今天" / "明天" / "周三" relative to `todayStr`. */
function dayLabel(dateStr, todayStr) {
  if (dateStr === todayStr) return '今天'
  if (dateStr === addDays(todayStr, 1)) return '明天'
  return weekday(dateStr)
}

/** "2026-03-01 周日 上午" for a visit. */
function visitLabel(visitDate, periodLabel) {
  if (!visitDate) return ''
  return [visitDate, weekday(visitDate), periodLabel].filter(Boolean).join(' ')
}

/** 120 -> "2小时"; 90 -> "90分钟"; 1440 -> "1天"; 0 -> "0分钟". */
function duration(minutes) {
  const m = Number(minutes) || 0
  if (m > 0 && m % 1440 === 0) return `${m / 1440}天`
  if (m > 0 && m % 60 === 0) return `${m / 60}小时`
  return `${m}分钟`
}

/** Milliseconds left -> "14:05" (minutes:seconds, rounded up to the second); "1:02:03" past an hour; "00:00" when none. */
function countdown(ms) {
  const total = Math.max(0, Math.ceil((Number(ms) || 0) / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`
}

/** "03-05 08:00" in Shanghai, for release times shown in tight places. */
function shortDateTime(value) {
  return value ? `${shortDate(date(value))} ${time(value)}` : ''
}

module.exports = {
  money,
  duration,
  countdown,
  shortDateTime,
  shanghaiParts,
  date,
  time,
  dateTime,
  timeRange,
  today,
  addDays,
  weekday,
  shortDate,
  dayLabel,
  visitLabel,
}
