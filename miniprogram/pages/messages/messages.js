/**
 * 我的消息: in-app notifications (booking confirmed, payment reminders, cancellations and refunds,
 * 停诊, visit reminders, 候补 offers). Tapping one marks it read and opens the appointment it is about
 * (a 候补 message: 我的候补, where an offer is confirmed); 全部已读
 * marks them all read at once.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const page = require('../../behaviors/page')

/** 候补 messages (kind waitlist_*: an offer to confirm, an entry ended) open 我的候补. */
function isWaitlist(n) {
  return /^waitlist/.test(n.kind || '')
}

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
    readingAll: false,
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

    /** Marks the message read (if it is not), then opens the appointment it is about, if any. */
    async open(e) {
      const index = Number(e.currentTarget.dataset.index)
      const item = this.data.items[index]
      if (!item) return
      if (item.unread) {
        try {
          await api.readNotification(item.id)
          this.setData({ [`items[${index}].unread`]: false, unread: Math.max(0, this.data.unread - 1) })
        } catch (err) {
          api.showError(err)
        }
      }
      if (isWaitlist(item)) wx.navigateTo({ url: '/pages/waitlist/waitlist' })
      else if (item.appointment_id) wx.navigateTo({ url: `/pages/appointment/appointment?id=${item.appointment_id}` })
    },

    async readAll() {
      if (this.data.readingAll || !this.data.unread) return
      this.setData({ readingAll: true })
      try {
        await api.readAllNotifications()
        const changes = { unread: 0 }
        this.data.items.forEach((item, i) => {
          if (item.unread) changes[`items[${i}].unread`] = false
        })
        this.setData(changes)
        wx.showToast({ title: '已全部标为已读', icon: 'none' })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ readingAll: false })
      }
    },
  },
})
