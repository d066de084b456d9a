/** 我的消息: in-app notifications (booking confirmed, reminders, cancellations, 停诊); tap marks read. */
const api = require('../../utils/api')
const format = require('../../utils/format')
const page = require('../../behaviors/page')

function view(n) {
  return Object.assign({}, n, { timeText: format.dateTime(n.created_at), unread: !n.read_at })
}

Component({
  behaviors: [page],
  data: {
    items: [],
    total: 0,
    unread: 0,
    page: 1,
    loaded: false,
    loadingMore: false,
  },
  methods: {
    onShow() {
      this.syncElder()
      this.reload()
    },
    onPullDownRefresh() {
      this.reload()
    },
    onReachBottom() {
      this.loadMore()
    },

    reload() {
      return this.withLoading(async () => {
        const res = await api.notifications(1)
        this.setData({ items: res.items.map(view), total: res.total, unread: res.unread || 0, page: 1, loaded: true })
      })
    },

    async loadMore() {
      const { items, total, page: pageNo, loading, loadingMore } = this.data
      if (loading || loadingMore || items.length >= total) return
      this.setData({ loadingMore: true })
      try {
        const res = await api.notifications(pageNo + 1)
        this.setData({ items: items.concat(res.items.map(view)), total: res.total, unread: res.unread || 0, page: pageNo + 1 })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ loadingMore: false })
      }
    },

    async open(e) {
      const index = Number(e.currentTarget.dataset.index)
      const item = this.data.items[index]
      if (!item || !item.unread) return
      try {
        await api.readNotification(item.id)
        this.setData({ [`items[${index}].unread`]: false, unread: Math.max(0, this.data.unread - 1) })
      } catch (err) {
        api.showError(err)
      }
    },
  },
})
