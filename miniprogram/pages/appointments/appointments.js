/**
 * 我的预约 (tab): appointments by status, paged, pull-to-refresh. Upcoming ones (待支付, 待就诊, 已签到)
 * first, soonest first, then the rest, newest first: the server pages by visit date (newest first), so
 * the order is applied over what has been loaded (utils/booking.upcomingFirst). Each card carries its
 * money (已支付 ¥50.00 / 已退款 / 退款中 / 到院支付 / 待支付), and an unpaid one a 去支付 button.
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const format = require('../../utils/format')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20
const NO_QUEUE = ['cancelled', 'expired', 'suspended', 'no_show']

/** A card: the appointment's words, its money tag, and whether it can still be paid (by this phone's clock). */
function cardView(a) {
  const v = booking.appointmentView(a)
  v.payTag = booking.paymentTag(a)
  // 到院支付 says how much to bring.
  if (v.payTag && a.payment.status === 'pay_on_site' && a.payment.amount_fen) v.payTag.text = `到院支付 ${format.money(a.payment.amount_fen)}`
  v.canPay = a.status === 'pending_payment' && !booking.payCountdown(a.pay_deadline).expired
  // No queue number for a visit that will not take place.
  v.showQueue = NO_QUEUE.indexOf(a.status) < 0
  const offer = booking.rebookView(a)
  v.rebookHint = offer && !offer.acceptedId && !offer.expired && offer.options.length ? `医生停诊，已为您保留改约号源至 ${offer.expiresText}，点此改约` : ''
  return v
}

function ordered(list) {
  return booking.upcomingFirst(list).map(cardView)
}
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
        this.raw = res.items
        this.setData({ items: ordered(this.raw), total: res.total, page: 1 })
      })
    },

    async loadMore() {
      const { items, total, page: pageNo, loading, loadingMore } = this.data
      if (loading || loadingMore || items.length >= total) return
      this.setData({ loadingMore: true })
      try {
        const seq = this.seq
        const res = await api.myAppointments(this.status(), pageNo + 1, PAGE_SIZE)
        if (seq !== this.seq) return // a reload (tab, pull-down) started meanwhile
        this.raw = (this.raw || []).concat(res.items)
        this.setData({ items: ordered(this.raw), total: res.total, page: pageNo + 1 })
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
    /** 去支付 on a card (catchtap: the card's own tap does not also open the detail). */
    payAppointment(e) {
      wx.navigateTo({ url: `/pages/payment/payment?id=${e.currentTarget.dataset.id}` })
    },
  },
})
