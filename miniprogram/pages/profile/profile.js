/** 我的 (tab): login state, 就诊人, 消息, the elderly-friendly mode switch, log out. */
const api = require('../../utils/api')
const store = require('../../utils/store')
const config = require('../../config')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    accountId: null,
    unread: 0,
    loggingIn: false,
    baseUrl: config.baseUrl,
  },
  methods: {
    onShow() {
      this.syncElder()
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
          api.logout()
          this.setData({ accountId: null, unread: 0 })
        },
      })
    },

    onElder(e) {
      const on = !!e.detail.value
      store.setElder(on)
      this.setData({ elder: on })
      wx.showToast({ title: on ? '已开启长辈模式' : '已关闭长辈模式', icon: 'none' })
    },

    openPatients() {
      wx.navigateTo({ url: '/pages/patients/patients' })
    },
    openMessages() {
      wx.navigateTo({ url: '/pages/messages/messages' })
    },
  },
})
