/** Expired and broken tokens on the real server: renewed without the user noticing. */
const { open, all } = require('../support/pages')
const { describeLive } = require('../support/live')
const store = require('../../utils/store')
const api = require('../../utils/api')
const h = require('./helpers')

describeLive('journey against the real server: expired tokens', () => {
  async function myAppointmentsLoad() {
    const page = open('appointments')
    await settle()
    return page
  }

  test('an expired access token is refreshed once and the page loads', async () => {
    await api.createPatient({ name: '钱二', id_number: h.newIdNumber(), phone: '13600000000', relationship: 'self' })
    const before = store.getTokens()
    expect(wx.login).toHaveBeenCalledTimes(1)
    wx.setStorageSync(store.KEYS.tokens, Object.assign({}, before, { accessToken: h.expiredCopy(before.accessToken, process.env.YIYUE_TEST_SECRET_KEY) }))

    const page = await myAppointmentsLoad()
    const first = phone.calls('GET', '/api/v1/me/appointments')
    expect(first.map((r) => r.status)).toEqual([401, 200])
    expect(first[0].data.code).toBe('TOKEN_EXPIRED')
    expect(phone.calls('POST', '/api/v1/auth/refresh').map((r) => r.status)).toEqual([200])
    expect(wx.login).toHaveBeenCalledTimes(1) // no new wx.login was needed
    expect(wx.showToast).not.toHaveBeenCalled()
    expect(all(page, '.state-error')).toHaveLength(0)
    expect(store.getTokens().accountId).toBe(before.accountId)
  })

  test('with the refresh token expired too, wx.login signs the same WeChat user back into the same account', async () => {
    await api.ensureLogin()
    const before = store.getTokens()
    const secret = process.env.YIYUE_TEST_SECRET_KEY
    wx.setStorageSync(store.KEYS.tokens, Object.assign({}, before, {
      accessToken: h.expiredCopy(before.accessToken, secret),
      refreshToken: h.expiredCopy(before.refreshToken, secret),
    }))

    const page = await myAppointmentsLoad()
    expect(phone.calls('POST', '/api/v1/auth/refresh').map((r) => r.status)).toEqual([401])
    expect(wx.login).toHaveBeenCalledTimes(2)
    expect(phone.calls('GET', '/api/v1/me/appointments').map((r) => r.status)).toEqual([401, 200])
    expect(all(page, '.state-error')).toHaveLength(0)
    expect(store.getTokens().accountId).toBe(before.accountId)
  })

  test('a token that is not ours (INVALID_TOKEN) is treated the same way', async () => {
    await api.ensureLogin()
    const before = store.getTokens()
    wx.setStorageSync(store.KEYS.tokens, Object.assign({}, before, { accessToken: 'not-a-token' }))
    await myAppointmentsLoad()
    const calls = phone.calls('GET', '/api/v1/me/appointments')
    expect(calls[0].data.code).toBe('INVALID_TOKEN')
    expect(calls.map((r) => r.status)).toEqual([401, 200])
  })
})
