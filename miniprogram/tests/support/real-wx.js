/**
 * A `wx` for journey tests that talks to the real server: wx.request is real HTTP, wx.login mints a
 * code at the fake WeChat, wx.requestSubscribeMessage grants the subscriptions there, and
 * wx.requestPayment tells it "the user paid". UI calls are jest.fn()s the tests read, like a user's eyes.
 */
const http = require('http')

// A fresh connection per request. Node 20's global agent keeps connections alive, and one left idle
// (e.g. by globalSetup, in the same process when jest runs in band) is closed by uvicorn after 5 s:
// reusing it then fails with "socket hang up".
const AGENT = new http.Agent({ keepAlive: false })

function httpJson(method, url, data, headers = {}, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const body = data === undefined || data === null ? undefined : typeof data === 'string' ? data : JSON.stringify(data)
    const req = http.request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent: AGENT,
        headers: Object.assign({}, headers, body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        timeout: timeoutMs,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => {
          let parsed = text
          if (/json/.test(res.headers['content-type'] || '') && text) {
            try {
              parsed = JSON.parse(text)
            } catch (e) {
              parsed = text
            }
          }
          resolve({ statusCode: res.statusCode, data: parsed, header: res.headers })
        })
      }
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

function createRealWx(baseUrl) {
  const storage = new Map()
  let pending = 0
  const shim = {
    baseUrl,
    storage,
    /** The WeChat user on this phone; change it to be someone else. */
    openid: `journey-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    modalConfirm: true,
    /** Every wx.request with its answer, for assertions ("was the token refreshed?"). */
    requests: [],
    /** The answered requests matching "METHOD /path" (path without query; a RegExp works too). */
    calls(method, path) {
      return shim.requests.filter((r) => r.method === method && (path instanceof RegExp ? path.test(r.path) : r.path === path))
    },
    get pending() {
      return pending
    },
  }

  // Keeps `pending` up while an async wx call runs so that settle() waits for it.
  const track = (promise) => {
    pending++
    const done = () => {
      pending--
    }
    promise.then(done, done)
    return promise
  }
  const fakeWechat = (path, body) =>
    httpJson('POST', `${baseUrl}/__wechat__/__fake__/${path}`, body).then((res) => {
      if (res.statusCode >= 300) throw new Error(`fake WeChat ${path}: HTTP ${res.statusCode} ${JSON.stringify(res.data)}`)
      return res.data
    })
  const ui = (name) =>
    jest.fn((opts = {}) => {
      if (opts.success) opts.success({ errMsg: `${name}:ok` })
      if (opts.complete) opts.complete({ errMsg: `${name}:ok` })
    })

  shim.wx = {
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, JSON.parse(JSON.stringify(v))),
    removeStorageSync: (k) => storage.delete(k),
    clearStorageSync: () => storage.clear(),

    request: jest.fn((o) => {
      const method = (o.method || 'GET').toUpperCase()
      const entry = { method, url: o.url, path: new URL(o.url).pathname, header: o.header }
      shim.requests.push(entry)
      track(
        httpJson(method, o.url, o.data, o.header, o.timeout).then(
          (res) => {
            entry.status = res.statusCode
            entry.data = res.data
            if (o.success) o.success(res)
          },
          (err) => o.fail && o.fail({ errMsg: `request:fail ${err.message}` })
        )
      )
    }),
    login: jest.fn((o) => {
      track(fakeWechat('login-code', { openid: shim.openid }).then((d) => o.success({ code: d.code, errMsg: 'login:ok' }), (e) => o.fail({ errMsg: `login:fail ${e.message}` })))
    }),
    requestSubscribeMessage: jest.fn((o) => {
      track(
        Promise.all(o.tmplIds.map((id) => fakeWechat('subscribe', { openid: shim.openid, template_id: id }))).then(
          () => {
            const res = { errMsg: 'requestSubscribeMessage:ok' }
            o.tmplIds.forEach((id) => {
              res[id] = 'accept'
            })
            o.success(res)
          },
          (e) => o.fail({ errMsg: `requestSubscribeMessage:fail ${e.message}` })
        )
      )
    }),
    requestPayment: jest.fn((o) => {
      const prepayId = String(o.package).replace(/^prepay_id=/, '')
      track(fakeWechat('pay', { prepay_id: prepayId }).then(() => o.success({ errMsg: 'requestPayment:ok' }), (e) => o.fail({ errMsg: `requestPayment:fail ${e.message}` })))
    }),

    showModal: jest.fn((o = {}) => {
      const res = { confirm: shim.modalConfirm, cancel: !shim.modalConfirm }
      if (o.success) o.success(res)
      if (o.complete) o.complete(res)
    }),
    showToast: ui('showToast'),
    showLoading: ui('showLoading'),
    hideLoading: ui('hideLoading'),
    navigateTo: ui('navigateTo'),
    redirectTo: ui('redirectTo'),
    switchTab: ui('switchTab'),
    reLaunch: ui('reLaunch'),
    navigateBack: ui('navigateBack'),
    stopPullDownRefresh: ui('stopPullDownRefresh'),
    setNavigationBarTitle: ui('setNavigationBarTitle'),
    makePhoneCall: ui('makePhoneCall'),
    setClipboardData: ui('setClipboardData'),
  }
  return shim
}

module.exports = { createRealWx, httpJson }
