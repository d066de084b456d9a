/**
 * The three WeChat client calls that involve WeChat's servers: login, subscribe-message consent and
 * payment. In production they are wx.login / wx.requestSubscribeMessage / wx.requestPayment.
 *
 * With `config.fakeWechat` on (local development against `yiyue demo`, whose WeChat is the fake one at
 * <base>/__wechat__), the same steps are done against the fake's test endpoints instead, because codes
 * and prepay ids made by the real WeChat mean nothing to the fake.
 */
const config = require('../config')

const DEV_OPENID_KEY = 'yiyue.devOpenid'

/**
 * The fake WeChat's helper endpoints used in fake mode, all POST under <baseUrl>/__wechat__ (its own
 * /__wechat__/__fake__/openapi.json lists them; tests/contract checks these against it).
 */
const FAKE_PATHS = {
  loginCode: '/__fake__/login-code',
  subscribe: '/__fake__/subscribe',
  pay: '/__fake__/pay',
}

function wxCall(fn, options) {
  return new Promise((resolve, reject) => {
    fn(Object.assign({}, options, { success: resolve, fail: reject }))
  })
}

function fakePost(name, data) {
  const path = FAKE_PATHS[name]
  return wxCall(wx.request, {
    url: `${config.baseUrl}/__wechat__${path}`,
    method: 'POST',
    data,
    header: { 'content-type': 'application/json' },
  }).then((res) => {
    if (res.statusCode >= 300) throw { errMsg: `fake wechat ${path}: HTTP ${res.statusCode}` }
    return res.data
  })
}

/** A stable pretend openid for this phone/DevTools in fake mode. */
function devOpenid() {
  let openid = wx.getStorageSync(DEV_OPENID_KEY)
  if (!openid) {
    openid = `dev-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    wx.setStorageSync(DEV_OPENID_KEY, openid)
  }
  return openid
}

function loginError(detail) {
  const err = new Error('微信登录失败，请检查网络后重试')
  err.code = 'WX_LOGIN_FAILED'
  err.detail = detail
  return err
}

/** Resolves with a login code for our server to exchange (auth/wechat-login). */
async function login() {
  try {
    if (config.fakeWechat) return (await fakePost('loginCode', { openid: devOpenid() })).code
    const res = await wxCall(wx.login, { timeout: 10000 })
    if (!res.code) throw res
    return res.code
  } catch (e) {
    throw loginError(e && e.errMsg)
  }
}

/**
 * Asks for one-time subscriptions. Never rejects: refusing only means no WeChat message will be sent.
 * Must be called straight from a tap handler (WeChat rejects it after an await).
 */
function requestSubscribe(tmplIds) {
  const ids = (tmplIds || []).filter(Boolean)
  if (!ids.length) return Promise.resolve({ skipped: true })
  if (config.fakeWechat) {
    const openid = devOpenid()
    return Promise.all(ids.map((id) => fakePost('subscribe', { openid, template_id: id }))).then(
      () => ({ accepted: ids }),
      (e) => ({ accepted: [], errMsg: e && e.errMsg })
    )
  }
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds: ids,
      success: (res) => resolve({ accepted: ids.filter((id) => res[id] === 'accept'), result: res }),
      fail: (e) => resolve({ accepted: [], errMsg: e && e.errMsg }),
    })
  })
}

/**
 * Runs the WeChat Pay sheet with the server's parameters. Resolves {ok: true} when WeChat says paid,
 * {ok: false, cancelled, errMsg} otherwise; the server's appointment status is the truth either way.
 */
async function pay(params) {
  try {
    if (config.fakeWechat) {
      const prepayId = String(params.package || '').replace(/^prepay_id=/, '')
      await fakePost('pay', { prepay_id: prepayId })
    } else {
      await wxCall(wx.requestPayment, {
        timeStamp: params.timeStamp,
        nonceStr: params.nonceStr,
        package: params.package,
        signType: params.signType,
        paySign: params.paySign,
      })
    }
    return { ok: true }
  } catch (e) {
    const errMsg = (e && e.errMsg) || ''
    return { ok: false, cancelled: /cancel/i.test(errMsg), errMsg }
  }
}

module.exports = { FAKE_PATHS, login, requestSubscribe, pay, devOpenid }
