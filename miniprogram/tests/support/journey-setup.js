/**
 * Before each journey test: a fresh phone (storage, WeChat user) whose `wx` talks to the real server
 * started by tests/support/server-setup.js. Nothing is mocked between the pages and the server.
 */
const { createRealWx } = require('./real-wx')
const pages = require('./pages')
const live = require('./live')
const config = require('../../config')
const api = require('../../utils/api')
const wechat = require('../../utils/wechat')

beforeEach(() => {
  if (live.SKIP) return
  const baseUrl = live.baseUrl() // throws, failing the test, when the server could not start
  global.phone = createRealWx(baseUrl)
  global.wx = Object.assign(global.wx || {}, global.phone.wx)
  global.getCurrentPages = () => [{}, {}]
  config.baseUrl = baseUrl
  config.fakeWechat = false // exercise wx.login / wx.requestPayment, answered by the shim above
  api._reset()
})

/** "METHOD /path" patterns of everything the mini-program may call: ROUTES and the fake WeChat helpers. */
const DECLARED = Object.keys(api.ROUTES)
  .map((name) => ({ method: api.ROUTES[name].method, path: api.ROUTES[name].path }))
  .concat(Object.keys(wechat.FAKE_PATHS).map((name) => ({ method: 'POST', path: `/__wechat__${wechat.FAKE_PATHS[name]}` })))
  .map((r) => ({ method: r.method, re: new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`) }))

// After each journey: the pages called nothing but declared routes (which tests/contract checks
// against the live /openapi.json), so the contract covers every path and method used for real.
afterEach(() => {
  if (live.SKIP || !global.phone) return
  const undeclared = global.phone.requests
    .filter((r) => !DECLARED.some((d) => d.method === r.method && d.re.test(r.path)))
    .map((r) => `${r.method} ${r.path}`)
  expect(undeclared).toEqual([])
})

global.settle = () => pages.settle(() => global.phone.pending > 0, { maxMs: 20000 })
