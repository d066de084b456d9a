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

function nameError(raw) {
  const value = String(raw || '').trim()
  if (value.length < 2 || value.length > 30) return '姓名应为2-30个字'
  return null
}

module.exports = { idNumberError, phoneError, nameError, checkDigit }
