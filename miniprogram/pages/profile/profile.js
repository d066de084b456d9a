/** 我的 (tab): login state and member level, 会员中心, 就诊人, 我的候补, 消息, the elderly-friendly mode switch, log out. */
const api = require('../../utils/api')
const store = require('../../utils/store')
const config = require('../../config')
const page = require('../../behaviors/page')

/**
 * The server address is for developers only: shown when config.debug is true or in a 开发版 (DevTools,
 * 真机调试: envVersion "develop"), never in 体验版 / 正式版 (nor in tests, where neither holds).
 */
function isDebugBuild() {
  if (config.debug === true) return true
  try {
    const info = typeof wx.getAccountInfoSync === 'function' ? wx.getAccountInfoSync() : null
    return !!(info && info.miniProgram && info.miniProgram.envVersion === 'develop')
  } catch (e) {
    return false
  }
}

Component({
  behaviors: [page],
  data: {
    accountId: null,
    unread: 0,
    levelName: '',
    loggingIn: false,
    baseUrl: '',
    debug: false,
  },
  methods: {
    onShow() {
      this.syncElder()
      const debug = isDebugBuild()
      this.setData({ debug, baseUrl: debug ? config.baseUrl : '' })
      this.refresh()
    },

    refresh() {
      const tokens = store.getTokens()
      this.setData({ accountId: tokens ? tokens.accountId : null })
      if (!tokens) return
      // The unread count is a nicety: if it fails, the badge is simply not shown.
      api.notifications(1).then(
        (res) => this.setData({ unread: res.unread || 0 }),
        () => this.setData({ unread: 0 })
      )
      // So is the member level beside the name.
      api.member().then(
        (m) => this.setData({ levelName: (m && m.level && m.level.name) || '' }),
        () => this.setData({ levelName: '' })
      )
    },

    async login() {
      if (this.data.loggingIn) return
      this.setData({ loggingIn: true })
      try {
        await api.login()
        wx.showToast({ title: '登录成功', icon: 'success' })
        this.refresh()
      } catch (err) {
        api.showError(err, { modal: true, title: '登录失败' })
      } finally {
        this.setData({ loggingIn: false })
      }
    },

    logout() {
      wx.showModal({
        title: '退出登录',
        content: '退出后需重新登录才能查看预约和就诊人。',
        success: (res) => {
          if (!res.confirm) return
          // Forgotten here at once; the server is told to end this login (its tokens stop working).
          const done = api.logout()
          this.setData({ accountId: null, unread: 0, levelName: '' })
          return done
        },
      })
    },

    onElder(e) {
      const on = !!e.detail.value
      this.applyElder(on)
      wx.showToast({ title: on ? '已开启长辈模式' : '已关闭长辈模式', icon: 'none' })
    },

    openPatients() {
      wx.navigateTo({ url: '/pages/patients/patients' })
    },
    openMessages() {
      wx.navigateTo({ url: '/pages/messages/messages' })
    },
    openMember() {
      wx.navigateTo({ url: '/pages/member/member' })
    },
    openWaitlist() {
      wx.navigateTo({ url: '/pages/waitlist/waitlist' })
    },
  },
})
