/**
 * The only door to the server. Wraps wx.request with:
 * - the base URL from ../config.js;
 * - login: wx.login -> POST /api/v1/auth/wechat-login, tokens kept in storage;
 * - on a 401 (UNAUTHENTICATED / TOKEN_EXPIRED / INVALID_TOKEN / SESSION_REVOKED): one refresh with the
 *   refresh token, or a fresh wx.login when that fails, then one retry of the original request; refresh
 *   tokens rotate (each refresh answers a new one, kept at once; the old one is spent: used again, the
 *   server ends the whole login), so concurrent callers share one refresh;
 * - logout: POST /api/v1/auth/logout with the refresh token (the server ends this login), then forget it;
 * - errors as ApiError {status, code, message, detail}: the server's {code, message} as is (message is
 *   Chinese, for the user), network failures as code NETWORK_ERROR with a message that says so.
 *
 * Every path the mini-program calls is listed in ROUTES with the query parameters and body fields it
 * may send (call() refuses others); tests/contract checks all of it against the server's /openapi.json.
 *
 * Catalog and availability reads (`etag: true`) are revalidated: the last body of each URL is kept with
 * its ETag and sent back as If-None-Match; a 304 answers the kept body without sending it again.
 */
const config = require('../config')
const store = require('./store')
const wechat = require('./wechat')

const ROUTES = {
  login: { method: 'POST', path: '/api/v1/auth/wechat-login', body: ['code'] },
  refresh: { method: 'POST', path: '/api/v1/auth/refresh', body: ['refresh_token'] },
  logout: { method: 'POST', path: '/api/v1/auth/logout', body: ['refresh_token'] },
  config: { method: 'GET', path: '/api/v1/config' },
  hospitals: { method: 'GET', path: '/api/v1/hospitals', query: ['q', 'city', 'level', 'page', 'page_size'], etag: true },
  search: { method: 'GET', path: '/api/v1/search', query: ['q', 'city', 'limit'], etag: true },
  cities: { method: 'GET', path: '/api/v1/cities', etag: true },
  hospital: { method: 'GET', path: '/api/v1/hospitals/{id}', etag: true },
  hospitalDepartments: { method: 'GET', path: '/api/v1/hospitals/{id}/departments', query: ['q'], etag: true },
  department: { method: 'GET', path: '/api/v1/departments/{id}', etag: true },
  departmentAvailability: { method: 'GET', path: '/api/v1/departments/{id}/availability', query: ['start', 'end'], etag: true },
  departmentDoctors: { method: 'GET', path: '/api/v1/departments/{id}/doctors', query: ['date', 'page', 'page_size'], etag: true },
  doctor: { method: 'GET', path: '/api/v1/doctors/{id}', etag: true },
  doctorSchedules: { method: 'GET', path: '/api/v1/doctors/{id}/schedules', query: ['start', 'end'], etag: true },
  scheduleSlots: { method: 'GET', path: '/api/v1/schedules/{id}/slots', etag: true },
  patients: { method: 'GET', path: '/api/v1/me/patients' },
  createPatient: { method: 'POST', path: '/api/v1/me/patients', body: ['name', 'id_number', 'phone', 'relationship'] },
  updatePatient: { method: 'PATCH', path: '/api/v1/me/patients/{id}', body: ['name', 'phone', 'relationship'] },
  deletePatient: { method: 'DELETE', path: '/api/v1/me/patients/{id}' },
  verifyPatient: { method: 'POST', path: '/api/v1/me/patients/{id}/verify', body: [] },
  book: { method: 'POST', path: '/api/v1/appointments', body: ['schedule_id', 'slot_id', 'patient_id'], headers: ['Idempotency-Key'] },
  myAppointments: { method: 'GET', path: '/api/v1/me/appointments', query: ['status', 'page', 'page_size'] },
  appointment: { method: 'GET', path: '/api/v1/appointments/{id}' },
  cancelAppointment: { method: 'POST', path: '/api/v1/appointments/{id}/cancel', body: ['reason'] },
  payAppointment: { method: 'POST', path: '/api/v1/appointments/{id}/pay', body: [] },
  rebookAppointment: { method: 'POST', path: '/api/v1/appointments/{id}/rebook', body: ['schedule_id'] },
  notifications: { method: 'GET', path: '/api/v1/me/notifications', query: ['page'] },
  readNotification: { method: 'POST', path: '/api/v1/me/notifications/{id}/read', body: [] },
  readAllNotifications: { method: 'POST', path: '/api/v1/me/notifications/read-all', body: [] },
  // Issue 11: members and points, reviews, the waitlist (候补).
  member: { method: 'GET', path: '/api/v1/members/me' },
  memberLedger: { method: 'GET', path: '/api/v1/members/me/ledger', query: ['offset', 'limit'] },
  reviewTags: { method: 'GET', path: '/api/v1/review-tags' },
  appointmentReview: { method: 'GET', path: '/api/v1/appointments/{id}/review' },
  submitReview: { method: 'POST', path: '/api/v1/appointments/{id}/review', body: ['stars', 'tags', 'text'] },
  doctorReviews: { method: 'GET', path: '/api/v1/doctors/{id}/reviews', query: ['offset', 'limit'] },
  scheduleWaitlist: { method: 'GET', path: '/api/v1/schedules/{id}/waitlist' },
  joinWaitlist: { method: 'POST', path: '/api/v1/waitlist', body: ['schedule_id', 'patient_id'] },
  myWaitlist: { method: 'GET', path: '/api/v1/waitlist' },
  waitlistEntry: { method: 'GET', path: '/api/v1/waitlist/{id}' },
  leaveWaitlist: { method: 'DELETE', path: '/api/v1/waitlist/{id}' },
  confirmWaitlist: { method: 'POST', path: '/api/v1/waitlist/{id}/confirm', body: [] },
  // Issue 9: 抽签放号 (release window entries and results).
  enterRelease: { method: 'POST', path: '/api/v1/release-entries', body: ['schedule_id', 'patient_id'] },
  myReleaseEntries: { method: 'GET', path: '/api/v1/me/release-entries' },
  releaseEntry: { method: 'GET', path: '/api/v1/release-entries/{id}' },
}

const AUTH_ERROR_CODES = ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'INVALID_TOKEN', 'SESSION_REVOKED']
const NETWORK_ERROR = 'NETWORK_ERROR'

class ApiError extends Error {
  constructor({ status = 0, code, message, detail = null }) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.detail = detail
  }

  get isNetwork() {
    return this.code === NETWORK_ERROR
  }
}

function networkError(err) {
  const text = (err && err.errMsg) || ''
  const timedOut = /timeout|超时/i.test(text)
  return new ApiError({
    code: NETWORK_ERROR,
    message: timedOut ? '网络请求超时，请检查网络后重试' : '网络连接失败，请检查网络后重试',
    detail: text,
  })
}

/** Turns a non-2xx wx.request response into an ApiError carrying the server's own words. */
function responseError(res) {
  const body = res.data
  if (body && typeof body === 'object' && typeof body.code === 'string') {
    return new ApiError({
      status: res.statusCode,
      code: body.code,
      message: body.message || '操作失败，请稍后再试',
      detail: body.detail === undefined ? null : body.detail,
    })
  }
  return new ApiError({
    status: res.statusCode,
    code: `HTTP_${res.statusCode}`,
    message: res.statusCode >= 500 ? `服务器开小差了（${res.statusCode}），请稍后再试` : `请求失败（${res.statusCode}）`,
  })
}

function queryString(query) {
  if (!query) return ''
  const parts = []
  Object.keys(query).forEach((key) => {
    const value = query[key]
    if (value === undefined || value === null || value === '') return
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
  })
  return parts.length ? `?${parts.join('&')}` : ''
}

function fillPath(template, params) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    if (!params || params[name] === undefined || params[name] === null) throw new Error(`missing path parameter ${name}`)
    return encodeURIComponent(params[name])
  })
}

/** One wx.request; resolves with the raw response whatever its status, rejects only on network failure. */
function send(method, url, data, header) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.baseUrl + url,
      method,
      data,
      header: Object.assign({ 'content-type': 'application/json' }, header),
      timeout: config.timeout,
      dataType: 'json',
      success: resolve,
      fail: (err) => reject(networkError(err)),
    })
  })
}

function isOk(res) {
  return res.statusCode >= 200 && res.statusCode < 300
}

const KEPT_BODIES = 100
/** By URL, for `etag` routes: the last body (as JSON text, so no page's changes leak in) and its ETag. */
let validated = new Map()

function etagOf(res) {
  const header = res.header || {}
  const name = Object.keys(header).find((key) => key.toLowerCase() === 'etag')
  return name ? header[name] : null
}

function keep(url, res) {
  const etag = etagOf(res)
  validated.delete(url)
  if (!etag) return
  validated.set(url, { etag, text: JSON.stringify(res.data) })
  if (validated.size > KEPT_BODIES) validated.delete(validated.keys().next().value)
}

let loginInFlight = null
let refreshInFlight = null

/** wx.login -> our tokens. Concurrent callers share one login. */
function login() {
  if (!loginInFlight) {
    loginInFlight = (async () => {
      const code = await wechat.login()
      const res = await send(ROUTES.login.method, ROUTES.login.path, { code })
      if (!isOk(res)) throw responseError(res)
      return store.setTokens(res.data)
    })()
    const clear = () => {
      loginInFlight = null
    }
    loginInFlight.then(clear, clear)
  }
  return loginInFlight
}

/** Exchanges the refresh token for a new pair. Concurrent callers share one refresh. */
function refresh() {
  if (!refreshInFlight) {
    refreshInFlight = (async () => {
      const tokens = store.getTokens()
      if (!tokens || !tokens.refreshToken) throw new ApiError({ status: 401, code: 'UNAUTHENTICATED', message: '请先登录' })
      const res = await send(ROUTES.refresh.method, ROUTES.refresh.path, { refresh_token: tokens.refreshToken })
      if (!isOk(res)) throw responseError(res)
      return store.updateTokens(res.data)
    })()
    const clear = () => {
      refreshInFlight = null
    }
    refreshInFlight.then(clear, clear)
  }
  return refreshInFlight
}

/**
 * Ends this login on the server (its refresh and access tokens stop working everywhere), then forgets the
 * tokens. Offline, the tokens are forgotten all the same (they expire on their own); it never rejects.
 */
async function logout() {
  const tokens = store.getTokens()
  store.clearTokens()
  loginInFlight = null
  refreshInFlight = null
  if (!tokens || !tokens.refreshToken) return
  try {
    await send(ROUTES.logout.method, ROUTES.logout.path, { refresh_token: tokens.refreshToken })
  } catch (err) {
    // A network failure: nothing more to do here.
  }
}

async function ensureLogin() {
  return store.getTokens() || login()
}

/** After a 401: refresh, or log in again if the refresh token is no good. Network errors propagate. */
async function renewAuth(usedToken) {
  const current = store.getTokens()
  if (current && current.accessToken && current.accessToken !== usedToken) return current // someone already renewed
  try {
    return await refresh()
  } catch (err) {
    if (err.isNetwork) throw err
    store.clearTokens()
    return login()
  }
}

/** A programming error, caught by the unit tests: sending something ROUTES does not declare. */
function undeclared(name, what, values, allowed) {
  if (!values) return
  Object.keys(values).forEach((key) => {
    if (!allowed || allowed.indexOf(key) < 0) throw new Error(`${name}: ${what} "${key}" is not declared in ROUTES`)
  })
}

/**
 * Calls a route by name. `params` fills {id}; `query` becomes the query string; `body` is JSON.
 * Resolves with the response body (null for 204); rejects with ApiError.
 */
async function call(name, { params, query, body, header, auth = true } = {}) {
  const route = ROUTES[name]
  if (!route) throw new Error(`unknown route ${name}`)
  undeclared(name, 'query parameter', query, route.query)
  undeclared(name, 'body field', body, route.body)
  const method = route.method
  const url = fillPath(route.path, params) + queryString(query)

  const attempt = async () => {
    const headers = Object.assign({}, header)
    const kept = route.etag && validated.get(url)
    if (kept) headers['If-None-Match'] = kept.etag
    let token = null
    if (auth) {
      token = (await ensureLogin()).accessToken
      headers.Authorization = `Bearer ${token}`
    }
    return { res: await send(method, url, body, headers), token }
  }

  let { res, token } = await attempt()
  if (auth && res.statusCode === 401 && res.data && AUTH_ERROR_CODES.indexOf(res.data.code) >= 0) {
    await renewAuth(token)
    res = (await attempt()).res
  }
  if (route.etag && res.statusCode === 304 && validated.has(url)) return JSON.parse(validated.get(url).text)
  if (!isOk(res)) throw responseError(res)
  if (route.etag) keep(url, res)
  return res.statusCode === 204 ? null : res.data
}

/** A fresh UUID v4 for the Idempotency-Key of one booking attempt. */
function idempotencyKey() {
  // Math.random is enough here: the key only has to be unique among one account's booking attempts.
  const bytes = []
  for (let i = 0; i < 16; i++) bytes.push(Math.floor(Math.random() * 256))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.prototype.map.call(bytes, (b) => (b < 16 ? '0' : '') + b.toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

let configCache = null

/** Server-side settings (subscribe template ids, limits); fetched once per launch. */
function getConfig() {
  if (!configCache) {
    configCache = call('config', { auth: false }).catch((err) => {
      configCache = null
      throw err
    })
  }
  return configCache
}

function errorMessage(err) {
  return (err && err.message) || '操作失败，请稍后再试'
}

/** Shows an error in the server's words (a toast, or a modal when `modal` is set). */
function showError(err, { modal = false, title = '提示' } = {}) {
  const message = errorMessage(err)
  if (!modal) {
    wx.showToast({ title: message, icon: 'none', duration: 3000 })
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    wx.showModal({ title, content: message, showCancel: false, confirmText: '知道了', complete: resolve })
  })
}

const api = {
  ROUTES,
  ApiError,
  NETWORK_ERROR,
  call,
  login,
  refresh,
  ensureLogin,
  logout,
  idempotencyKey,
  getConfig,
  showError,
  errorMessage,
  _reset() {
    loginInFlight = null
    refreshInFlight = null
    configCache = null
    validated = new Map()
  },

  // Hospitals, departments, doctors, schedules. Sent logged in like everything else: wx.login is silent.
  hospitals: (query) => call('hospitals', { query }),
  /** The cities that have hospitals, most hospitals first (the home page's chips). */
  cities: () => call('cities', { auth: false }),
  /** Grouped search (医院 / 科室 / 医生) as the patient types; no login needed. */
  search: (q, city, limit) => call('search', { query: { q, city, limit }, auth: false }),
  hospital: (id) => call('hospital', { params: { id } }),
  hospitalDepartments: (id, q) => call('hospitalDepartments', { params: { id }, query: { q } }),
  department: (id) => call('department', { params: { id } }),
  departmentAvailability: (id, start, end) =>
    call('departmentAvailability', { params: { id }, query: { start, end } }),
  departmentDoctors: (id, date, page, pageSize) =>
    call('departmentDoctors', { params: { id }, query: { date, page, page_size: pageSize } }),
  doctor: (id) => call('doctor', { params: { id } }),
  doctorSchedules: (id, start, end) => call('doctorSchedules', { params: { id }, query: { start, end } }),
  scheduleSlots: (id) => call('scheduleSlots', { params: { id } }),

  // 就诊人
  patients: () => call('patients'),
  createPatient: (body) => call('createPatient', { body }),
  updatePatient: (id, body) => call('updatePatient', { params: { id }, body }),
  deletePatient: (id) => call('deletePatient', { params: { id } }),
  /** 实名认证 again (after a rename, a failure, or while the service was unavailable): the person as now. */
  verifyPatient: (id) => call('verifyPatient', { params: { id } }),

  // Appointments
  book: (body, key) => call('book', { body, header: { 'Idempotency-Key': key } }),
  myAppointments: (status, page, pageSize) =>
    call('myAppointments', { query: { status, page, page_size: pageSize } }),
  appointment: (id) => call('appointment', { params: { id } }),
  cancelAppointment: (id, reason) => call('cancelAppointment', { params: { id }, body: reason ? { reason } : {} }),
  payAppointment: (id) => call('payAppointment', { params: { id }, body: {} }),
  /** 停诊改约: takes one of the offer's options; resolves with the new appointment. */
  rebookAppointment: (id, scheduleId) => call('rebookAppointment', { params: { id }, body: { schedule_id: scheduleId } }),

  // Messages
  notifications: (page) => call('notifications', { query: { page } }),
  readNotification: (id) => call('readNotification', { params: { id }, body: {} }),
  readAllNotifications: () => call('readAllNotifications', { body: {} }),

  // 会员中心
  member: () => call('member'),
  memberLedger: (offset, limit) => call('memberLedger', { query: { offset, limit } }),

  // 评价
  reviewTags: () => call('reviewTags'),
  appointmentReview: (id) => call('appointmentReview', { params: { id } }),
  submitReview: (id, body) => call('submitReview', { params: { id }, body }),
  doctorReviews: (id, offset, limit) => call('doctorReviews', { params: { id }, query: { offset, limit } }),

  // 候补
  scheduleWaitlist: (id) => call('scheduleWaitlist', { params: { id } }),
  joinWaitlist: (scheduleId, patientId) => call('joinWaitlist', { body: { schedule_id: scheduleId, patient_id: patientId } }),
  myWaitlist: () => call('myWaitlist'),
  waitlistEntry: (id) => call('waitlistEntry', { params: { id } }),
  leaveWaitlist: (id) => call('leaveWaitlist', { params: { id } }),
  /** 确认预约 of an offered entry: resolves with the appointment (pending_payment where paid online). */
  confirmWaitlist: (id) => call('confirmWaitlist', { params: { id }, body: {} }),

  // 抽签放号: entering answers the entry (the same one again for the same person), then its result.
  enterRelease: (scheduleId, patientId) => call('enterRelease', { body: { schedule_id: scheduleId, patient_id: patientId } }),
  myReleaseEntries: () => call('myReleaseEntries'),
  releaseEntry: (id) => call('releaseEntry', { params: { id } }),
}

module.exports = api
