/** What the mini-program remembers on the phone: login tokens and the elderly-friendly mode. */
const KEYS = {
  tokens: 'yiyue.tokens',
  elder: 'yiyue.elderMode',
  elderAsked: 'yiyue.elderModeAsked',
}

function getTokens() {
  try {
    return wx.getStorageSync(KEYS.tokens) || null
  } catch (e) {
    return null
  }
}

function setTokens(body) {
  const tokens = {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    accountId: body.account ? body.account.id : undefined,
  }
  wx.setStorageSync(KEYS.tokens, tokens)
  return tokens
}

/** Replaces only the access/refresh pair, keeping the account id. */
function updateTokens(body) {
  const old = getTokens() || {}
  const tokens = Object.assign({}, old, {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
  })
  if (body.account) tokens.accountId = body.account.id
  wx.setStorageSync(KEYS.tokens, tokens)
  return tokens
}

function clearTokens() {
  wx.removeStorageSync(KEYS.tokens)
}

function isElder() {
  try {
    return wx.getStorageSync(KEYS.elder) === true
  } catch (e) {
    return false
  }
}

function setElder(on) {
  wx.setStorageSync(KEYS.elder, !!on)
}

/** Whether the first-launch 长辈模式 offer has been shown (it is shown once, ever, on this phone). */
function elderAsked() {
  try {
    return wx.getStorageSync(KEYS.elderAsked) === true
  } catch (e) {
    return false
  }
}

function setElderAsked() {
  wx.setStorageSync(KEYS.elderAsked, true)
}

module.exports = { KEYS, getTokens, setTokens, updateTokens, clearTokens, isElder, setElder, elderAsked, setElderAsked }
