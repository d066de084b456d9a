const { open, text, tap, one, exists } = require('../support/pages')
const store = require('../../utils/store')

function rootClass(comp) {
  return comp.dom.firstElementChild.className
}

test('logged in: account, menu and unread badge', async () => {
  loggedIn()
  fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 3, unread: 3 } })
  const comp = open('profile')
  await settle()
  expect(text(comp, '.account-id')).toBe('账号 ID：1')
  expect(text(comp, '.unread-badge')).toBe('3')
  tap(comp, '.menu-patients')
  tap(comp, '.menu-messages')
  tap(comp, '.menu-appointments')
  await settle()
  expect(wx.navigateTo.mock.calls.map((c) => c[0].url)).toEqual(['/pages/patients/patients', '/pages/messages/messages'])
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointments/appointments' }))
})

test('the messages endpoint failing only hides the badge', async () => {
  loggedIn()
  fake.route('GET /api/v1/me/notifications', fx404())
  const comp = open('profile')
  await settle()
  expect(exists(comp, '.unread-badge')).toBe(false)
  expect(text(comp, '.account-id')).toBe('账号 ID：1')
})

function fx404() {
  return { status: 404, body: { code: 'NOT_FOUND', message: '请求的资源不存在' } }
}

test('log out and log in again', async () => {
  loggedIn()
  fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
  fake.route('POST /api/v1/auth/wechat-login', { body: { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 1, refresh_expires_in: 2, account: { id: 77, is_new: true } } })
  const comp = open('profile')
  await settle()
  fake.route('POST /api/v1/auth/logout', { status: 204, body: null })
  tap(comp, '.logout-btn')
  await settle()
  expect(store.getTokens()).toBeFalsy()
  expect(fake.calls('POST /api/v1/auth/logout')).toHaveLength(1) // the server ends the login too
  expect(text(comp, '.profile-head')).toContain('未登录')
  tap(comp, '.login-btn')
  await settle()
  expect(wx.login).toHaveBeenCalled()
  expect(text(comp, '.account-id')).toBe('账号 ID：77')
})

test('elderly-friendly mode: toggled here, remembered, applied on other pages', async () => {
  loggedIn()
  fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
  fake.route('GET /api/v1/hospitals', { body: { items: [], total: 0, page: 1, page_size: 20 } })
  const comp = open('profile')
  await settle()
  expect(rootClass(comp)).not.toMatch(/elder/)
  one(comp, '.elder-switch').dispatchEvent('change', { detail: { value: true } })
  await settle()
  expect(store.isElder()).toBe(true)
  expect(rootClass(comp)).toMatch(/elder/)

  const home = open('index') // a page opened later starts in the remembered mode
  await settle()
  expect(rootClass(home)).toMatch(/elder/)

  one(comp, '.elder-switch').dispatchEvent('change', { detail: { value: false } })
  await settle()
  home.instance.onShow() // a page already open catches up when shown again
  await settle()
  expect(rootClass(home)).not.toMatch(/elder/)
})

describe('the server address is for developers only', () => {
  const config = require('../../config')

  afterEach(() => {
    delete config.debug
    delete wx.getAccountInfoSync
  })

  test('hidden from patients (release build, and by default in tests)', async () => {
    loggedIn()
    fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
    const comp = open('profile')
    await settle()
    expect(exists(comp, '.debug-server')).toBe(false)
    expect(text(comp)).not.toMatch(/服务器|http/)
    wx.getAccountInfoSync = () => ({ miniProgram: { appId: 'wx1', envVersion: 'release' } })
    const release = open('profile')
    await settle()
    expect(text(release)).not.toMatch(/服务器|http/)
  })

  test('shown in a 开发版 or with config.debug', async () => {
    loggedIn()
    fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
    wx.getAccountInfoSync = () => ({ miniProgram: { appId: 'wx1', envVersion: 'develop' } })
    const dev = open('profile')
    await settle()
    expect(text(dev, '.debug-server')).toBe('开发版 · 服务器：http://api.test')
    delete wx.getAccountInfoSync
    config.debug = true
    const debug = open('profile')
    await settle()
    expect(text(debug, '.debug-server')).toContain('http://api.test')
  })
})

test('长辈模式 is the first card after the account, not buried in the menu', async () => {
  loggedIn()
  fake.route('GET /api/v1/me/notifications', { body: { items: [], total: 0, unread: 0 } })
  const comp = open('profile')
  await settle()
  const html = comp.dom.innerHTML
  expect(html.indexOf('elder-switch')).toBeLessThan(html.indexOf('menu-patients'))
})
