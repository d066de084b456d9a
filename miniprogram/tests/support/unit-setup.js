/**
 * Before each unit test: a fresh scripted `wx` (tests/support/fake-wx.js) on the global, the real
 * wx.login / wx.requestPayment path (not the fake-WeChat HTTP shortcut), and a clean api module.
 */
const { createFakeWx } = require('./fake-wx')
const pages = require('./pages')
const config = require('../../config')
const api = require('../../utils/api')

beforeEach(() => {
  global.fake = createFakeWx()
  global.wx = Object.assign(global.wx || {}, global.fake.wx)
  global.getCurrentPages = jest.fn(() => [{}, {}])
  config.baseUrl = 'http://api.test'
  config.fakeWechat = false
  api._reset()
})

/** Waits until every scripted request has been answered and the page has re-rendered. */
global.settle = () => pages.settle(() => global.fake.pending > 0)

/** Pretends the user is logged in already. */
global.loggedIn = () => {
  global.fake.storage.set('yiyue.tokens', { accessToken: 'access-1', refreshToken: 'refresh-1', accountId: 1 })
}
