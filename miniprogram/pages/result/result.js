/**
 * 预约结果: what was booked, where to go, whether it is paid (payment.status_label), and the ways on (detail, my appointments, home).
 * `rebooked=1` (from the 停诊 offer on the detail page) says 改约成功 instead of 预约成功.
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const page = require('../../behaviors/page')

const HEADLINES = {
  booked: '预约成功',
  pending_payment: '待支付',
  checked_in: '已签到',
  completed: '已就诊',
}

Component({
  behaviors: [page],
  data: {
    appointment: null,
    headline: '',
  },
  methods: {
    onLoad(query) {
      this.appointmentId = query.id
      this.rebooked = query.rebooked === '1'
      this.reload()
    },
    onShow() {
      this.syncElder()
    },

    reload() {
      return this.withLoading(async () => {
        const a = await api.appointment(this.appointmentId)
        const headline = this.rebooked && a.status === 'booked' ? '改约成功' : HEADLINES[a.status] || a.status_label
        this.setData({ appointment: booking.appointmentView(a), headline })
      })
    },

    viewDetail() {
      wx.redirectTo({ url: `/pages/appointment/appointment?id=${this.appointmentId}` })
    },
    pay() {
      wx.redirectTo({ url: `/pages/payment/payment?id=${this.appointmentId}` })
    },
  },
})
