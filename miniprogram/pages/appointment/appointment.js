/**
 * 预约详情: queue number, time and place, the check-in QR code and code, and cancellation (with a
 * confirmation that states the deadline and the refund rule). Unpaid: the time left to pay and 去支付;
 * once the payment window has closed (by this phone's clock, or the server has expired it), 重新预约.
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const qrcode = require('../../utils/qrcode')
const page = require('../../behaviors/page')
const payCountdown = require('../../behaviors/pay-countdown')

// Statuses in which the patient still needs the check-in code.
const SHOW_CHECK_IN = ['booked', 'checked_in']

Component({
  behaviors: [page, payCountdown],
  data: {
    appointment: null,
    qr: [],
    qrCell: 12,
    cancelling: false,
  },
  methods: {
    onLoad(query) {
      this.appointmentId = query.id
    },
    onShow() {
      // Reload on every show: back from payment, the status has changed.
      this.syncElder()
      this.reload()
    },
    onHide() {
      this.stopPayCountdown()
    },
    onUnload() {
      this.stopPayCountdown()
    },
    onPullDownRefresh() {
      this.reload()
    },

    reload() {
      return this.withLoading(async () => {
        this.show(await api.appointment(this.appointmentId))
      })
    },

    show(a) {
      const showQr = SHOW_CHECK_IN.indexOf(a.status) >= 0 && !!a.check_in_code
      const code = showQr ? qrcode.encode(a.check_in_code) : null
      this.setData({
        appointment: Object.assign(booking.appointmentView(a), { showCheckIn: showQr, refundRule: booking.refundRule(a) }),
        qr: code ? code.modules.map((row, y) => ({ y, cells: row.map((on, x) => ({ x, on })) })) : [],
        qrCell: code ? Math.floor(420 / code.size) : 12, // about 420rpx wide whatever the version
      })
      if (a.status === 'pending_payment') this.startPayCountdown(a.pay_deadline)
      else {
        this.stopPayCountdown()
        this.setData({ payRemainText: '', payExpired: false })
      }
    },

    onCancel() {
      const a = this.data.appointment
      if (!a || !a.cancellable || this.data.cancelling) return
      wx.showModal({
        title: '确认取消预约？',
        content: `${a.visitText} ${a.doctor.name}（${a.patient.name}）。${a.refundRule}取消截止：${a.cancelDeadlineText}。`,
        confirmText: '确认取消',
        confirmColor: '#e4393c',
        cancelText: '再想想',
        success: (res) => {
          if (res.confirm) this.cancel()
        },
      })
    },

    async cancel() {
      this.setData({ cancelling: true })
      wx.showLoading({ title: '正在取消', mask: true })
      try {
        const a = await api.cancelAppointment(this.appointmentId)
        wx.hideLoading()
        this.show(a)
        wx.showToast({ title: '已取消预约', icon: 'success' })
      } catch (err) {
        wx.hideLoading()
        await api.showError(err, { modal: true, title: '无法取消' })
        this.reload()
      } finally {
        this.setData({ cancelling: false })
      }
    },

    pay() {
      if (this.data.payExpired) return
      wx.navigateTo({ url: `/pages/payment/payment?id=${this.appointmentId}` })
    },
    /** Back to the doctor's sessions on the same day, to choose another slot. */
    bookAgain() {
      const a = this.data.appointment
      wx.navigateTo({ url: `/pages/doctor/doctor?id=${a.doctor.id}&date=${a.visit_date}` })
    },
    openMessages() {
      wx.navigateTo({ url: '/pages/messages/messages' })
    },
    copyCode() {
      wx.setClipboardData({ data: this.data.appointment.check_in_code })
    },
  },
})
