const wechat = require('../../utils/wechat')
const config = require('../../config')

describe('with the real WeChat client APIs', () => {
  test('subscriptions: asks once for the given templates and reports what was accepted', async () => {
    const res = await wechat.requestSubscribe(['t1', null, 't2'])
    expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['t1', 't2'] }))
    expect(res.accepted).toEqual(['t1', 't2'])
  })

  test('subscriptions: a failure or no templates never blocks', async () => {
    wx.requestSubscribeMessage = jest.fn((o) => o.fail({ errMsg: 'requestSubscribeMessage:fail can only be invoked by user TAP gesture.' }))
    await expect(wechat.requestSubscribe(['t1'])).resolves.toMatchObject({ accepted: [] })
    await expect(wechat.requestSubscribe([])).resolves.toEqual({ skipped: true })
  })

  test('payment: passes the server parameters through and tells cancel from failure', async () => {
    const params = { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=p', signType: 'RSA', paySign: 's' }
    await expect(wechat.pay(params)).resolves.toEqual({ ok: true })
    expect(wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining(params))
    fake.payOutcome = 'cancel'
    await expect(wechat.pay(params)).resolves.toMatchObject({ ok: false, cancelled: true })
    fake.payOutcome = 'fail'
    await expect(wechat.pay(params)).resolves.toMatchObject({ ok: false, cancelled: false })
  })
})

describe('with config.fakeWechat (DevTools against yiyue demo)', () => {
  beforeEach(() => {
    config.fakeWechat = true
  })

  test('login codes, subscriptions and payments go to the fake WeChat, for one stable dev openid', async () => {
    fake.route('POST /__wechat__/__fake__/login-code', (req) => ({ body: { code: `c-${req.body.openid}` } }))
    fake.route('POST /__wechat__/__fake__/subscribe', { body: {} })
    fake.route('POST /__wechat__/__fake__/pay', { body: {} })
    const code1 = await wechat.login()
    const code2 = await wechat.login()
    expect(code1).toBe(code2)
    expect(code1).toMatch(/^c-dev-/)
    await expect(wechat.requestSubscribe(['t1', 't2'])).resolves.toEqual({ accepted: ['t1', 't2'] })
    expect(fake.calls('POST /__wechat__/__fake__/subscribe').map((r) => r.body.template_id)).toEqual(['t1', 't2'])
    await expect(wechat.pay({ package: 'prepay_id=wx99' })).resolves.toEqual({ ok: true })
    expect(fake.calls('POST /__wechat__/__fake__/pay')[0].body).toEqual({ prepay_id: 'wx99' })
    expect(wx.login).not.toHaveBeenCalled()
    expect(wx.requestPayment).not.toHaveBeenCalled()
  })

  test('a fake WeChat that is not there fails login in words', async () => {
    fake.route('POST /__wechat__/__fake__/login-code', { status: 404, body: {} })
    await expect(wechat.login()).rejects.toMatchObject({ code: 'WX_LOGIN_FAILED', message: '微信登录失败，请检查网络后重试' })
  })
})
