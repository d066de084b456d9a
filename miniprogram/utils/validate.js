/**
 * Client-side checks that mirror the server's (src/yiyue/accounts/idcard.py and schemas.py), so the
 * user hears about a typo before the request. The server still decides; its message is shown if it
 * disagrees.
 */
const format = require('./format')

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK_CHARS = '10X98765432'
// Province-level codes (first two digits, GB/T 2260), as on the server.
const PROVINCES = '11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82'.split(' ')

function checkDigit(first17) {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]
  return CHECK_CHARS[sum % 11]
}

function isRealDate(y, m, d) {
  const t = new Date(Date.UTC(y, m - 1, d))
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
}

/**
 * Returns null when `raw` is a valid resident ID number (GB 11643), otherwise a Chinese reason.
 * `todayStr` ("YYYY-MM-DD", Shanghai) is injectable for tests.
 */
function idNumberError(raw, todayStr) {
  const value = String(raw || '').trim().toUpperCase()
  if (!value) return '请输入身份证号'
  if (value.length !== 18) return '身份证号应为18位'
  if (!/^\d{17}[\dX]$/.test(value)) return '身份证号只能包含数字，最后一位可为X'
  if (PROVINCES.indexOf(value.slice(0, 2)) < 0) return '身份证号地区码无效'
  const y = Number(value.slice(6, 10))
  const m = Number(value.slice(10, 12))
  const d = Number(value.slice(12, 14))
  const birth = value.slice(6, 10) + '-' + value.slice(10, 12) + '-' + value.slice(12, 14)
  if (!isRealDate(y, m, d) || y < 1900 || birth > (todayStr || format.today())) return '身份证号出生日期无效'
  if (checkDigit(value.slice(0, 17)) !== value[17]) return '身份证号校验码不正确'
  return null
}

function phoneError(raw) {
  const value = String(raw || '').trim()
  if (!value) return '请输入手机号'
  if (!/^1[3-9]\d{9}$/.test(value)) return '请输入正确的11位手机号'
  return null
}

const NAME_ERROR = '姓名须为2-30个汉字或字母，可含·'
const MIDDLE_DOT = '·'
// The server's rule (PersonName in src/yiyue/accounts/schemas.py), without lookbehind (older iOS lacks it).
const LATIN = 'A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f'
// Chinese characters; the extension planes (U+20000-U+3134F) arrive as surrogate pairs.
const CHAR = '(?:[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff' + LATIN + ']|[\ud840-\ud884][\udc00-\udfff])'
const NAME = new RegExp('^' + CHAR + '+(?:[· ]' + CHAR + '+)*$')
const LOOSE_SPACE = new RegExp('[^' + LATIN + '] | [^' + LATIN + ']')
const DOT_LOOKALIKES = /\s*[.．•・･‧∙⋅·]\s*/g

/**
 * A name as the server stores it: full-width letters made half-width (NFKC), runs of spaces made one,
 * look-alike dots (. • ・ …) made the middle dot `·` with the spaces around them dropped.
 */
function normalizeName(raw) {
  let value = String(raw || '')
  if (typeof value.normalize === 'function') value = value.normalize('NFKC')
  return value.trim().split(/\s+/).join(' ').replace(DOT_LOOKALIKES, MIDDLE_DOT)
}

/** Characters, not UTF-16 units: a rare character of the extension planes counts once, as on the server. */
function length(value) {
  return value.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '_').length
}

/**
 * 2-30 characters of Chinese and Latin letters; `·` between parts (阿依古丽·买买提); a single space only
 * between two Latin letters (John Smith); no digits, symbols or emoji; "张 三" is refused, as on the server.
 */
function nameError(raw) {
  const value = normalizeName(raw)
  if (!value) return '请输入姓名'
  const n = length(value)
  if (n < 2 || n > 30 || !NAME.test(value) || LOOSE_SPACE.test(value)) return NAME_ERROR
  return null
}

module.exports = { idNumberError, phoneError, nameError, normalizeName, checkDigit, NAME_ERROR }
