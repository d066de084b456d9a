/** Loading, error (with retry and a way home) and empty states, the same on every page. */
Component({
  options: { addGlobalClass: true },
  properties: {
    loading: { type: Boolean, value: false },
    error: { type: String, value: '' },
    empty: { type: Boolean, value: false },
    emptyText: { type: String, value: '暂无数据' },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry')
    },
    onHome() {
      wx.switchTab({ url: '/pages/index/index' })
    },
  },
})
