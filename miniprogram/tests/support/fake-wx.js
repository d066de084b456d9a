/**
 * A scripted `wx` for unit tests: an in-memory storage, a router standing in for the server, and
 * jest.fn()s for every UI call so tests can assert what the user saw (toasts, modals, navigation).
 */
function parseUrl(url) {
  const u = new URL(url)
  const query = {}
  u.searchParams.forEach((v, k) => {
    query[k] = v
  })
  return { path: u.pathname, query }
}

function createFakeWx() {
  const storage = new Map()
  const routes = []
  const requests = []
  let pending = 0
  let loginCount = 0

  const fake = {
    storage,
    requests,
    /** What wx.showModal answers: true = 确定, false = 取消. */
    modalConfirm: true,
    /** How wx.requestPayment ends: 'ok' | 'cancel' | 'fail'. */
    payOutcome: 'ok',
    /** Answers for wx.requestSubscribeMessage, by template id; default 'accept'. */
    subscribeAnswer: 'accept',

    /** route('GET /api/v1/hospitals/:id', (req) => ({status, body}) | 'network') */
    route(spec, handler) {
      const [method, pattern] = spec.split(' ')
      const names = []
      const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)' })}$`)
      routes.unshift({ method, re, names, handler: typeof handler === 'function' ? handler : () => handler })
      return fake
    },

    get pending() {
      return pending
    },

    /** Requests made so far matching "METHOD /path" (path without query). */
    calls(spec) {
      const [method, path] = spec.split(' ')
      return requests.filter((r) => r.method === method && (path === undefined || r.path === path))
    },
  }

  function dispatch(options) {
    const method = (options.method || 'GET').toUpperCase()
    const { path, query } = parseUrl(options.url)
    const req = { method, path, query, body: options.data, header: options.header || {}, url: options.url }
    requests.push(req)
    for (const r of routes) {
      if (r.method !== method) continue
      const m = r.re.exec(path)
      if (!m) continue
      req.params = {}
      r.names.forEach((n, i) => {
        req.params[n] = decodeURIComponent(m[i + 1])
      })
      return r.handler(req)
    }
    return { status: 404, body: { code: 'NOT_FOUND', message: '请求的资源不存在', detail: null } }
  }

  const uiFn = (name) =>
    jest.fn((opts = {}) => {
      if (opts.success) opts.success({ errMsg: `${name}:ok` })
      if (opts.complete) opts.complete({ errMsg: `${name}:ok` })
    })

  const wx = {
    getStorageSync: jest.fn((k) => (storage.has(k) ? storage.get(k) : '')),
    setStorageSync: jest.fn((k, v) => {
      storage.set(k, JSON.parse(JSON.stringify(v)))
    }),
    removeStorageSync: jest.fn((k) => {
      storage.delete(k)
    }),
    clearStorageSync: jest.fn(() => storage.clear()),

    request: jest.fn((options) => {
      pending++
      setTimeout(() => {
        let out
        try {
          out = dispatch(options)
        } catch (e) {
          out = { status: 500, body: { code: 'TEST_HANDLER_ERROR', message: String(e && e.stack) } }
        }
        pending--
        if (out === 'network' || out === 'timeout') {
          const res = { errMsg: out === 'timeout' ? 'request:fail timeout' : 'request:fail net::ERR_CONNECTION_REFUSED' }
          if (options.fail) options.fail(res)
          if (options.complete) options.complete(res)
          return
        }
        const res = { statusCode: out.status || 200, data: out.body === undefined ? '' : out.body, header: out.header || {} }
        if (options.success) options.success(res)
        if (options.complete) options.complete(res)
      }, 0)
      return { abort() {} }
    }),

    login: jest.fn((opts) => {
      loginCount++
      setTimeout(() => opts.success({ code: `wx-code-${loginCount}`, errMsg: 'login:ok' }), 0)
    }),

    requestSubscribeMessage: jest.fn((opts) => {
      const res = { errMsg: 'requestSubscribeMessage:ok' }
      opts.tmplIds.forEach((id) => {
        res[id] = fake.subscribeAnswer
      })
      setTimeout(() => opts.success(res), 0)
    }),

    requestPayment: jest.fn((opts) => {
      setTimeout(() => {
        if (fake.payOutcome === 'ok') opts.success({ errMsg: 'requestPayment:ok' })
        else opts.fail({ errMsg: fake.payOutcome === 'cancel' ? 'requestPayment:fail cancel' : 'requestPayment:fail' })
      }, 0)
    }),

    showModal: jest.fn((opts = {}) => {
      const res = { confirm: fake.modalConfirm, cancel: !fake.modalConfirm, errMsg: 'showModal:ok' }
      if (opts.success) opts.success(res)
      if (opts.complete) opts.complete(res)
    }),
    showToast: uiFn('showToast'),
    showLoading: uiFn('showLoading'),
    hideLoading: uiFn('hideLoading'),
    navigateTo: uiFn('navigateTo'),
    redirectTo: uiFn('redirectTo'),
    switchTab: uiFn('switchTab'),
    reLaunch: uiFn('reLaunch'),
    navigateBack: uiFn('navigateBack'),
    stopPullDownRefresh: uiFn('stopPullDownRefresh'),
    setNavigationBarTitle: uiFn('setNavigationBarTitle'),
    makePhoneCall: uiFn('makePhoneCall'),
    setClipboardData: uiFn('setClipboardData'),
    /** A 正式版 by default, so debug-only things (the server address on 我的) stay hidden in tests. */
    getAccountInfoSync: jest.fn(() => ({ miniProgram: { appId: 'touristappid', envVersion: 'release', version: '' } })),
  }

  fake.wx = wx
  return fake
}

module.exports = { createFakeWx }
