/** 我的预约 (tab): appointments by status, newest first, paged, pull-to-refresh. */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20
const TABS = [
  { key: '', label: '全部' },
  { key: 'pending_payment', label: '待支付' },
  { key: 'booked', label: '待就诊' },
  { key: 'checked_in,completed', label: '已就诊' },
  { key: 'cancelled,expired,suspended,no_show', label: '已取消' },
]

Component({
  behaviors: [page],
  data: {
    tabs: TABS,
    active: 0,
    items: [],
    total: 0,
    page: 1,
    loadingMore: false,
  },
  methods: {
    onShow() {
      // A tab page: reload every time, a booking or a cancellation may have happened elsewhere.
      this.syncElder()
      this.reload()
    },
    onPullDownRefresh() {
      this.reload()
    },
    onReachBottom() {
      this.loadMore()
    },

    status() {
      return TABS[this.data.active].key
    },

    reload() {
      const seq = (this.seq = (this.seq || 0) + 1)
      return this.withLoading(async () => {
        const res = await api.myAppointments(this.status(), 1, PAGE_SIZE)
        if (seq !== this.seq) return
        this.setData({ items: res.items.map(booking.appointmentView), total: res.total, page: 1 })
      })
    },

    async loadMore() {
      const { items, total, page: pageNo, loading, loadingMore } = this.data
      if (loading || loadingMore || items.length >= total) return
      this.setData({ loadingMore: true })
      try {
        const res = await api.myAppointments(this.status(), pageNo + 1, PAGE_SIZE)
        this.setData({ items: items.concat(res.items.map(booking.appointmentView)), total: res.total, page: pageNo + 1 })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ loadingMore: false })
      }
    },

    onTab(e) {
      const active = Number(e.currentTarget.dataset.index)
      if (active === this.data.active) return
      this.setData({ active, items: [], total: 0 })
      this.reload()
    },
    openAppointment(e) {
      wx.navigateTo({ url: `/pages/appointment/appointment?id=${e.currentTarget.dataset.id}` })
    },
  },
})
