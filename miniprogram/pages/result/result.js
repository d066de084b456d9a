/** 预约结果: what was booked, where to go, and the ways on (detail, my appointments, home). */
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
      this.reload()
    },
    onShow() {
      this.syncElder()
    },

    reload() {
      return this.withLoading(async () => {
        const a = await api.appointment(this.appointmentId)
        this.setData({ appointment: booking.appointmentView(a), headline: HEADLINES[a.status] || a.status_label })
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
