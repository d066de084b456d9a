/**
 * 支付: for hospitals that take the fee online. Asks the server for wx.requestPayment parameters, runs
 * the WeChat Pay sheet, then polls the appointment until it leaves pending_payment (the server learns
 * of the payment from WeChat's notification, so the sheet's "ok" alone is not proof).
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const wechat = require('../../utils/wechat')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    appointment: null,
    paying: false,
    waiting: false,
    payError: '',
  },
  methods: {
    onLoad(query) {
      this.appointmentId = query.id
      this.pollIntervalMs = 1000
      this.pollTimes = 15
      this.reload()
    },
    onShow() {
      this.syncElder()
    },
    onUnload() {
      this.unloaded = true
    },

    reload() {
      return this.withLoading(async () => {
        const appointment = await api.appointment(this.appointmentId)
        if (appointment.status !== 'pending_payment') {
          this.finish()
          return
        }
        this.setData({ appointment: booking.appointmentView(appointment) })
      })
    },

    finish() {
      wx.redirectTo({ url: `/pages/result/result?id=${this.appointmentId}` })
    },

    async onPay() {
      if (this.data.paying) return
      this.setData({ paying: true, payError: '' })
      try {
        const params = await api.payAppointment(this.appointmentId)
        const outcome = await wechat.pay(params)
        if (!outcome.ok) {
          this.setData({ payError: outcome.cancelled ? '您已取消支付，可在截止时间前重新支付' : '支付未完成，请重试' })
          return
        }
        await this.waitForPayment()
      } catch (err) {
        this.setData({ payError: api.errorMessage(err) })
        api.showError(err, { modal: true, title: '支付失败' })
      } finally {
        this.setData({ paying: false })
      }
    },

    /** Polls the appointment until the server has seen the payment. */
    async waitForPayment() {
      this.setData({ waiting: true })
      try {
        for (let i = 0; i < this.pollTimes && !this.unloaded; i++) {
          const a = await api.appointment(this.appointmentId)
          if (a.status !== 'pending_payment') {
            this.finish()
            return
          }
          await new Promise((r) => setTimeout(r, this.pollIntervalMs))
        }
        this.setData({ payError: '支付结果确认中，请稍后在“我的预约”中查看' })
      } finally {
        this.setData({ waiting: false })
      }
    },

    viewAppointment() {
      wx.redirectTo({ url: `/pages/appointment/appointment?id=${this.appointmentId}` })
    },
  },
})
