const api = require('../../utils/api')
const config = require('../../config')
const store = require('../../utils/store')

function tokens(n) {
  return { status: 200, body: { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: 'bearer', expires_in: 7200, refresh_expires_in: 2592000, account: { id: 42, is_new: n === 1 } } }
}

const HOSPITALS = { body: { items: [], total: 0, page: 1, page_size: 20 } }

describe('login', () => {
  test('the first call logs in with wx.login and then sends the bearer token', async () => {
    fake.route('POST /api/v1/auth/wechat-login', (req) => (req.body.code === 'wx-code-1' ? tokens(1) : { status: 400, body: { code: 'BAD', message: 'bad' } }))
    fake.route('GET /api/v1/hospitals', HOSPITALS)
    await api.hospitals({ page: 1 })
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(fake.calls('GET /api/v1/hospitals')[0].header.Authorization).toBe('Bearer access-1')
    expect(store.getTokens()).toEqual({ accessToken: 'access-1', refreshToken: 'refresh-1', accountId: 42 })
  })

  test('concurrent first calls share one login', async () => {
    fake.route('POST /api/v1/auth/wechat-login', tokens(1))
    fake.route('GET /api/v1/hospitals', HOSPITALS)
    await Promise.all([api.hospitals({}), api.hospitals({}), api.patients().catch(() => null)])
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(fake.calls('POST /api/v1/auth/wechat-login')).toHaveLength(1)
  })

  test('a failed wx.login is reported in words', async () => {
    wx.login = jest.fn((o) => o.fail({ errMsg: 'login:fail' }))
    await expect(api.patients()).rejects.toMatchObject({ code: 'WX_LOGIN_FAILED', message: '微信登录失败，请检查网络后重试' })
  })

  test('with config.fakeWechat the code comes from the fake WeChat instead of wx.login', async () => {
    config.fakeWechat = true
    fake.route('POST /__wechat__/__fake__/login-code', (req) => ({ body: { code: `code-for-${req.body.openid}` } }))
    fake.route('POST /api/v1/auth/wechat-login', (req) => (req.body.code.startsWith('code-for-dev-') ? tokens(1) : { status: 401, body: { code: 'X', message: 'x' } }))
    await api.login()
    expect(wx.login).not.toHaveBeenCalled()
    expect(store.getTokens().accessToken).toBe('access-1')
  })
})

describe('401 handling', () => {
  beforeEach(() => loggedIn())

  test('an expired token is refreshed once and the request retried', async () => {
    fake.route('POST /api/v1/auth/refresh', (req) => (req.body.refresh_token === 'refresh-1' ? tokens(2) : { status: 401, body: { code: 'INVALID_TOKEN', message: '登录凭证无效' } }))
    fake.route('GET /api/v1/me/patients', (req) =>
      req.header.Authorization === 'Bearer access-2' ? { body: { items: [], total: 0 } } : { status: 401, body: { code: 'TOKEN_EXPIRED', message: '登录已过期，请重新登录' } }
    )
    await expect(api.patients()).resolves.toEqual({ items: [], total: 0 })
    expect(fake.calls('POST /api/v1/auth/refresh')).toHaveLength(1)
    expect(fake.calls('GET /api/v1/me/patients')).toHaveLength(2)
    expect(wx.login).not.toHaveBeenCalled()
    expect(store.getTokens().accessToken).toBe('access-2')
  })

  test('several requests failing together cause one refresh', async () => {
    fake.route('POST /api/v1/auth/refresh', tokens(2))
    fake.route('GET /api/v1/me/patients', (req) =>
      req.header.Authorization === 'Bearer access-2' ? { body: { items: [], total: 0 } } : { status: 401, body: { code: 'TOKEN_EXPIRED', message: '登录已过期' } }
    )
    await Promise.all([api.patients(), api.patients(), api.patients()])
    expect(fake.calls('POST /api/v1/auth/refresh')).toHaveLength(1)
  })

  test('when the refresh token is no good either, wx.login is used again', async () => {
    fake.route('POST /api/v1/auth/refresh', { status: 401, body: { code: 'TOKEN_EXPIRED', message: '登录已过期' } })
    fake.route('POST /api/v1/auth/wechat-login', tokens(3))
    fake.route('GET /api/v1/me/patients', (req) =>
      req.header.Authorization === 'Bearer access-3' ? { body: { items: [], total: 0 } } : { status: 401, body: { code: 'INVALID_TOKEN', message: '登录凭证无效' } }
    )
    await api.patients()
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(store.getTokens().accessToken).toBe('access-3')
  })

  test('the rotated refresh token is kept: the next refresh sends the new one', async () => {
    let n = 1
    fake.route('POST /api/v1/auth/refresh', (req) =>
      req.body.refresh_token === `refresh-${n}` ? tokens(++n) : { status: 401, body: { code: 'REFRESH_TOKEN_REUSED', message: '登录凭证已被使用过' } }
    )
    fake.route('GET /api/v1/me/patients', (req) =>
      req.header.Authorization === `Bearer access-${n}` && n > 1 ? { body: { items: [], total: 0 } } : { status: 401, body: { code: 'TOKEN_EXPIRED', message: '登录已过期' } }
    )
    await api.patients()
    expect(store.getTokens()).toMatchObject({ accessToken: 'access-2', refreshToken: 'refresh-2', accountId: 42 })
    await api.refresh()
    expect(fake.calls('POST /api/v1/auth/refresh').map((c) => c.body.refresh_token)).toEqual(['refresh-1', 'refresh-2'])
    expect(store.getTokens().refreshToken).toBe('refresh-3')
    expect(wx.login).not.toHaveBeenCalled()
  })

  test('a revoked session (logged out elsewhere, or a reused token) logs in again', async () => {
    fake.route('POST /api/v1/auth/refresh', { status: 401, body: { code: 'SESSION_REVOKED', message: '登录已失效，请重新登录' } })
    fake.route('POST /api/v1/auth/wechat-login', tokens(3))
    fake.route('GET /api/v1/me/patients', (req) =>
      req.header.Authorization === 'Bearer access-3' ? { body: { items: [], total: 0 } } : { status: 401, body: { code: 'SESSION_REVOKED', message: '登录已失效' } }
    )
    await expect(api.patients()).resolves.toEqual({ items: [], total: 0 })
    expect(fake.calls('POST /api/v1/auth/refresh')).toHaveLength(1)
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(store.getTokens().refreshToken).toBe('refresh-3')
  })

  test('a 401 that is not about the token is not retried', async () => {
    fake.route('GET /api/v1/me/patients', { status: 401, body: { code: 'WECHAT_LOGIN_FAILED', message: '微信登录失败' } })
    await expect(api.patients()).rejects.toMatchObject({ status: 401, code: 'WECHAT_LOGIN_FAILED' })
    expect(fake.calls('POST /api/v1/auth/refresh')).toHaveLength(0)
  })

  test('a second 401 after renewing is returned, not looped on', async () => {
    fake.route('POST /api/v1/auth/refresh', tokens(2))
    fake.route('GET /api/v1/me/patients', { status: 401, body: { code: 'UNAUTHENTICATED', message: '请先登录' } })
    await expect(api.patients()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: '请先登录' })
    expect(fake.calls('GET /api/v1/me/patients')).toHaveLength(2)
  })
})

describe('errors', () => {
  beforeEach(() => loggedIn())

  test("the server's code and Chinese message are kept and shown", async () => {
    fake.route('POST /api/v1/appointments', { status: 409, body: { code: 'SOLD_OUT', message: '号源已约满', detail: { schedule_id: 1 } } })
    const err = await api.book({ schedule_id: 1, patient_id: 2 }, 'k').catch((e) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err).toMatchObject({ status: 409, code: 'SOLD_OUT', message: '号源已约满', detail: { schedule_id: 1 } })
    api.showError(err)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '号源已约满', icon: 'none' }))
  })

  test('a network failure says so', async () => {
    fake.route('GET /api/v1/hospitals', 'network')
    const err = await api.hospitals({}).catch((e) => e)
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', message: '网络连接失败，请检查网络后重试', isNetwork: true })
  })

  test('a timeout says so', async () => {
    fake.route('GET /api/v1/hospitals', 'timeout')
    await expect(api.hospitals({})).rejects.toMatchObject({ code: 'NETWORK_ERROR', message: '网络请求超时，请检查网络后重试' })
  })

  test('a 5xx without our JSON body (e.g. from a proxy) is still explained', async () => {
    fake.route('GET /api/v1/hospitals', { status: 502, body: '<html>Bad Gateway</html>' })
    await expect(api.hospitals({})).rejects.toMatchObject({ status: 502, message: '服务器开小差了（502），请稍后再试' })
  })

  test('showError can use a modal', async () => {
    await api.showError(new api.ApiError({ code: 'X', message: '该号源已被预约' }), { modal: true })
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该号源已被预约', showCancel: false }))
  })
})

describe('requests', () => {
  beforeEach(() => loggedIn())

  test('query strings skip empty values and encode the rest', async () => {
    fake.route('GET /api/v1/hospitals', HOSPITALS)
    await api.hospitals({ q: '协和 医院', city: '', level: undefined, page: 1 })
    const req = fake.calls('GET /api/v1/hospitals')[0]
    expect(req.url).toBe('http://api.test/api/v1/hospitals?q=%E5%8D%8F%E5%92%8C%20%E5%8C%BB%E9%99%A2&page=1')
  })

  test('the base URL comes from config.js', async () => {
    config.baseUrl = 'http://10.0.0.5:9000'
    fake.route('GET /api/v1/hospitals/:id', { body: { id: 3 } })
    await api.hospital(3)
    expect(wx.request.mock.calls[0][0].url).toBe('http://10.0.0.5:9000/api/v1/hospitals/3')
  })

  test('a booking carries its Idempotency-Key', async () => {
    fake.route('POST /api/v1/appointments', { status: 201, body: { id: 1 } })
    await api.book({ schedule_id: 1, patient_id: 2 }, 'key-123')
    expect(fake.calls('POST /api/v1/appointments')[0].header['Idempotency-Key']).toBe('key-123')
  })

  test('idempotency keys are distinct UUID v4s', () => {
    const keys = new Set()
    for (let i = 0; i < 200; i++) {
      const k = api.idempotencyKey()
      expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      keys.add(k)
    }
    expect(keys.size).toBe(200)
  })

  test('204 resolves with null', async () => {
    fake.route('DELETE /api/v1/me/patients/:id', { status: 204 })
    await expect(api.deletePatient(5)).resolves.toBeNull()
  })

  test('the config is fetched once and shared', async () => {
    fake.route('GET /api/v1/config', { body: { max_visit_persons: 5 } })
    await Promise.all([api.getConfig(), api.getConfig()])
    await api.getConfig()
    expect(fake.calls('GET /api/v1/config')).toHaveLength(1)
  })

  test('a failed config fetch is retried next time', async () => {
    fake.route('GET /api/v1/config', 'network')
    await expect(api.getConfig()).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    fake.route('GET /api/v1/config', { body: { max_visit_persons: 5 } })
    await expect(api.getConfig()).resolves.toEqual({ max_visit_persons: 5 })
  })
})

describe('logout', () => {
  test('tells the server with the refresh token, then forgets the tokens', async () => {
    loggedIn()
    fake.route('POST /api/v1/auth/logout', { status: 204, body: null })
    await api.logout()
    expect(fake.calls('POST /api/v1/auth/logout').map((c) => c.body)).toEqual([{ refresh_token: 'refresh-1' }])
    expect(fake.calls('POST /api/v1/auth/logout')[0].header.Authorization).toBeUndefined()
    expect(store.getTokens()).toBeFalsy()
  })

  test('offline, the tokens are forgotten all the same', async () => {
    loggedIn()
    fake.route('POST /api/v1/auth/logout', 'network')
    await expect(api.logout()).resolves.toBeUndefined()
    expect(store.getTokens()).toBeFalsy()
  })

  test('without tokens there is nothing to tell', async () => {
    await api.logout()
    expect(fake.calls('POST /api/v1/auth/logout')).toHaveLength(0)
  })
})
