/**
 * Shared by every page: the elderly-friendly mode flag (data.elder, applied as a class on the page
 * root), a loading/error wrapper and the ways out of a page (so none is a dead end).
 */
const store = require('../utils/store')
const api = require('../utils/api')

module.exports = Behavior({
  data: {
    elder: false,
    loading: false,
    error: '',
  },
  lifetimes: {
    attached() {
      this.setData({ elder: store.isElder() })
    },
  },
  methods: {
    /** Pages call this from onShow: the mode may have changed on the profile page. */
    syncElder() {
      const elder = store.isElder()
      if (elder !== this.data.elder) this.setData({ elder })
      this.syncTabBar()
    },

    /** Switches 长辈模式 on or off from this page (remembered), the tab bar included. */
    applyElder(on) {
      store.setElder(on)
      this.setData({ elder: !!on })
      this.syncTabBar()
    },

    /** Tab pages carry the custom tab bar (custom-tab-bar/): tell it the mode. Absent elsewhere and in tests. */
    syncTabBar() {
      const bar = typeof this.getTabBar === 'function' ? this.getTabBar() : null
      if (bar && bar.data && bar.data.elder !== store.isElder()) bar.setData({ elder: store.isElder() })
    },

    /** Runs a load, showing loading and then either the content or the error (in the server's words). */
    async withLoading(task) {
      this.setData({ loading: true, error: '' })
      try {
        await task()
      } catch (err) {
        this.setData({ error: api.errorMessage(err) })
      } finally {
        this.setData({ loading: false })
        wx.stopPullDownRefresh()
      }
    },

    goHome() {
      wx.switchTab({ url: '/pages/index/index' })
    },

    goBack() {
      const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : []
      if (pages.length > 1) wx.navigateBack()
      else this.goHome()
    },

    goAppointments() {
      wx.switchTab({ url: '/pages/appointments/appointments' })
    },
  },
})
