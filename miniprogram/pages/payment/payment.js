/**
 * 支付: for hospitals that take the fee online. Shows the fee and the time left to pay (pay_deadline),
 * asks the server for wx.requestPayment parameters, runs the WeChat Pay sheet, then polls the
 * appointment until it leaves pending_payment (the server learns of the payment from WeChat's
 * notification, so the sheet's "ok" alone is not proof). Once the deadline has passed, by this phone's
 * clock or by the server's PAYMENT_EXPIRED / HOLD_EXPIRED (the hold already released), the page says so
 * and offers to book again. `payment_notice` (paying now means no cancelling/refund) is shown as a
 * warning before the pay button.
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const wechat = require('../../utils/wechat')
const page = require('../../behaviors/page')
const payCountdown = require('../../behaviors/pay-countdown')

Component({
  behaviors: [page, payCountdown],
  data: {
    appointment: null,
    paying: false,
    waiting: false,
    payError: '',
    expiredText: '',
  },
  methods: {
    onLoad(query) {
      this.appointmentId = query.id
      this.rebooked = query.rebooked === '1' // came from a 停诊 offer: the result says 改约成功
      this.pollIntervalMs = 1000
      this.pollTimes = 15
      this.reload()
    },
    onShow() {
      this.syncElder()
    },
    onUnload() {
      this.unloaded = true
      this.stopPayCountdown()
    },

    reload() {
      return this.withLoading(async () => {
        const appointment = await api.appointment(this.appointmentId)
        if (appointment.status !== 'pending_payment') {
          this.stopPayCountdown()
          this.finish()
          return
        }
        this.setData({ appointment: booking.appointmentView(appointment) })
        this.startPayCountdown(appointment.pay_deadline, () => this.expire())
      })
    },

    /** The payment window has closed: no more paying here. */
    expire(message) {
      this.stopPayCountdown()
      this.setData({ payExpired: true, expiredText: message || booking.PAYMENT_EXPIRED_TEXT, payError: '' })
    },

    finish() {
      wx.redirectTo({ url: `/pages/result/result?id=${this.appointmentId}${this.rebooked ? '&rebooked=1' : ''}` })
    },

    async onPay() {
      if (this.data.paying || this.data.payExpired) return
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
        await this.refused(err)
      } finally {
        this.setData({ paying: false })
      }
    },

    /** The server would not start the payment: say why, in its words, and show what is true now. */
    async refused(err) {
      if (booking.PAY_EXPIRED_CODES.indexOf(err.code) >= 0) {
        this.expire(api.errorMessage(err))
        await api.showError(err, { modal: true, title: '支付已超时' })
        return
      }
      if (err.code === 'NOT_AWAITING_PAYMENT') {
        // Paid meanwhile (another tap, another phone), cancelled or expired: the result page shows which.
        api.showError(err)
        await this.reload()
        return
      }
      this.setData({ payError: api.errorMessage(err) })
      await api.showError(err, { modal: true, title: '支付失败' })
    },

    /** Polls the appointment until the server has seen the payment. */
    async waitForPayment() {
      this.setData({ waiting: true })
      try {
        for (let i = 0; i < this.pollTimes && !this.unloaded; i++) {
          const a = await api.appointment(this.appointmentId)
          if (a.status !== 'pending_payment') {
            this.stopPayCountdown()
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

    /** Back to the doctor's sessions on the same day, to choose another slot. */
    bookAgain() {
      const a = this.data.appointment
      wx.redirectTo({ url: `/pages/doctor/doctor?id=${a.doctor.id}&date=${a.visit_date}` })
    },
  },
})
