/** Steps a journey takes: follow the navigation the pages ask for, make people, forge an old token. */
const crypto = require('crypto')
const pages = require('../support/pages')
const { httpJson } = require('../support/real-wx')
const validate = require('../../utils/validate')
const api = require('../../utils/api')

/** Opens the page a wx.navigateTo/redirectTo url names, with its query, and waits for it to load. */
async function openUrl(url) {
  const [pathPart, queryPart = ''] = url.split('?')
  const name = pathPart.split('/')[2]
  const query = {}
  queryPart.split('&').filter(Boolean).forEach((kv) => {
    const [k, v] = kv.split('=')
    query[k] = decodeURIComponent(v)
  })
  const comp = pages.open(name, query)
  await settle()
  return comp
}

/** The url of the latest navigateTo / redirectTo / switchTab. */
function lastUrl(kind = 'navigateTo') {
  const calls = wx[kind].mock.calls
  if (!calls.length) throw new Error(`no wx.${kind} call`)
  return calls[calls.length - 1][0].url
}

/** Follows the latest navigateTo (or redirectTo) to its page. */
async function follow(kind = 'navigateTo') {
  return openUrl(lastUrl(kind))
}

/** Another person picks up the phone: new WeChat user, empty storage. */
function newPhoneUser() {
  phone.openid = `journey-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  phone.storage.clear()
  api._reset()
}

let idSeq = 0
/**
 * A valid, unique resident ID number (Beijing Dongcheng, born 1960-1999); `{ sex: '女' }` or '男' fixes
 * the sex (the 17th digit: odd for men, even for women).
 */
function newIdNumber({ sex } = {}) {
  idSeq++
  const year = 1960 + ((Date.now() + idSeq) % 40)
  let seq = String((process.pid * 7 + idSeq * 13 + Date.now()) % 1000).padStart(3, '0')
  if (sex) {
    const last = Number(seq[2])
    const odd = last % 2 === 1
    if (odd !== (sex === '男')) seq = seq.slice(0, 2) + String((last + 1) % 10)
  }
  const first17 = `110101${year}0${1 + (idSeq % 9)}1${idSeq % 10}${seq}`
  return first17 + validate.checkDigit(first17)
}

/** A server session for a different WeChat user, used to set the scene around the journey's user. */
async function otherUser() {
  const base = phone.baseUrl
  const openid = `other-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const code = (await httpJson('POST', `${base}/__wechat__/__fake__/login-code`, { openid })).data.code
  const tokens = (await httpJson('POST', `${base}/api/v1/auth/wechat-login`, { code })).data
  const auth = { authorization: `Bearer ${tokens.access_token}` }
  const call = async (method, path, body, headers = {}) => httpJson(method, `${base}${path}`, body, Object.assign({}, auth, headers))
  return {
    call,
    async addPatient(name = '路人甲') {
      const res = await call('POST', '/api/v1/me/patients', { name, id_number: newIdNumber(), phone: '13900000000', relationship: 'other' })
      if (res.statusCode !== 201) throw new Error(`add patient: ${res.statusCode} ${JSON.stringify(res.data)}`)
      return res.data
    },
    async book(scheduleId, slotId, patientId) {
      return call('POST', '/api/v1/appointments', { schedule_id: scheduleId, slot_id: slotId, patient_id: patientId }, { 'Idempotency-Key': crypto.randomUUID() })
    },
  }
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

/** The same token with its expiry in the past, signed with the test server's key (HS256). */
function expiredCopy(token, secret) {
  if (!secret) throw new Error("YIYUE_TEST_SECRET_KEY must be the server's YIYUE_SECRET_KEY to forge an expired token")
  const [header, payload] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  claims.iat -= 7200
  claims.exp = Math.floor(Date.now() / 1000) - 60
  const body = `${header}.${b64url(JSON.stringify(claims))}`
  return `${body}.${b64url(crypto.createHmac('sha256', secret).update(body).digest())}`
}

/**
 * The password `yiyue demo` gives its demo staff account `username` (src/yiyue/demo/staff.py:
 * "demo-" + the first 10 hex digits of HMAC-SHA256(YIYUE_SECRET_KEY, "yiyue-demo-staff:<username>")).
 * The test server's secret key is known, so the journeys can log in as a hospital's administrator.
 */
function demoStaffPassword(username, secret = process.env.YIYUE_TEST_SECRET_KEY) {
  if (!secret) throw new Error("YIYUE_TEST_SECRET_KEY must be the server's YIYUE_SECRET_KEY to log in as a demo staff account")
  return `demo-${crypto.createHmac('sha256', secret).update(`yiyue-demo-staff:${username}`).digest('hex').slice(0, 10)}`
}

/** A staff session on the test server (e.g. `h2-admin`, the administrator of hospital 2): `call(method, path, body)`. */
async function staffUser(username) {
  const base = phone.baseUrl
  const login = await httpJson('POST', `${base}/api/v1/staff/auth/login`, { username, password: demoStaffPassword(username) })
  if (login.statusCode !== 200) throw new Error(`staff login ${username}: ${login.statusCode} ${JSON.stringify(login.data)}`)
  const auth = { authorization: `Bearer ${login.data.access_token}` }
  return {
    staff: login.data.staff,
    call: (method, path, body) => httpJson(method, `${base}${path}`, body, auth),
  }
}

/** Resolves with what `read()` gives once `done(value)` holds; fails after `timeoutMs` with `what`. */
async function pollUntil(read, done, { timeoutMs = 15000, intervalMs = 250, what = 'the condition' } = {}) {
  const start = Date.now()
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/**
 * Pays an unpaid appointment of the phone's user without the pages (the scene before a journey):
 * /pay through the mini-program's api, the fake WeChat "the user paid", then waits until it is booked.
 */
async function payByApi(appointmentId) {
  const params = await api.payAppointment(appointmentId)
  const prepayId = String(params.package).replace(/^prepay_id=/, '')
  const paid = await httpJson('POST', `${phone.baseUrl}/__wechat__/__fake__/pay`, { prepay_id: prepayId })
  if (paid.statusCode !== 200) throw new Error(`fake WeChat pay: ${paid.statusCode} ${JSON.stringify(paid.data)}`)
  return pollUntil(() => api.appointment(appointmentId), (a) => a.status === 'booked', { what: `appointment ${appointmentId} to be paid` })
}

module.exports = {
  openUrl,
  lastUrl,
  follow,
  newPhoneUser,
  newIdNumber,
  otherUser,
  expiredCopy,
  httpJson,
  demoStaffPassword,
  staffUser,
  pollUntil,
  payByApi,
}
