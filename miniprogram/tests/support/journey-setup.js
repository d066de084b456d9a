/**
 * Before each journey test: a fresh phone (storage, WeChat user) whose `wx` talks to the real server
 * started by tests/support/server-setup.js. Nothing is mocked between the pages and the server.
 */
const { createRealWx } = require('./real-wx')
const pages = require('./pages')
const live = require('./live')
const config = require('../../config')
const api = require('../../utils/api')

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

global.settle = () => pages.settle(() => global.phone.pending > 0, { maxMs: 20000 })
