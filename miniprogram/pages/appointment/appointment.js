/**
 * 预约详情: status (and why: 停诊原因 / 取消原因), queue number, time and place, the check-in QR code and
 * code while it is still needed, the money (费用: paid, refunded, refunding, to pay at the window…), and
 * cancellation, with a confirmation that says what happens to the money (refund_on_cancel, cancel_rule).
 * Unpaid: the time left to pay and 去支付; once the payment window has closed, 重新预约.
 * Checked in: "已签到，请候诊" with the queue number. 停诊 with a rebook offer: the held options, one tap
 * each (改约到此), then on to the new appointment (payment first if it waits for payment).
 * Completed: 评价 when the server says the visit can be reviewed, else the review given (and, when the
 * hospital has hidden it, that it is hidden and why).
 */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const format = require('../../utils/format')
const qrcode = require('../../utils/qrcode')
const review = require('../../utils/review')
const page = require('../../behaviors/page')
const payCountdown = require('../../behaviors/pay-countdown')

// The check-in code is needed until the patient has checked in.
const SHOW_CHECK_IN = ['booked']
// No queue number for these: the visit will not take place.
const NO_QUEUE = ['cancelled', 'expired', 'suspended', 'no_show']
// setTimeout cannot wait longer than this (about 24.8 days).
const MAX_TIMER_MS = 2147483647

/** Words under the offer for a patient who does not want to rebook. */
function keepText(a) {
  const p = a.payment
  if (p && ['paid', 'refunding', 'refunded'].indexOf(p.status) >= 0) {
    const back = format.money(p.refund ? p.refund.amount_fen : p.amount_fen)
    return `不改约，保留退款：无需操作，挂号费 ${back} 原路退回，进度见下方“费用”。`
  }
  return '不改约：无需操作，本预约已因停诊取消，未产生费用。'
}

Component({
  behaviors: [page, payCountdown],
  data: {
    appointment: null,
    rebook: null,
    rebookExpiredText: '',
    rebooking: false,
    qr: [],
    qrCell: 12,
    cancelling: false,
    review: null,
  },
  lifetimes: {
    detached() {
      this.stopRebookTimer()
    },
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
      this.stopRebookTimer()
    },
    onUnload() {
      this.stopPayCountdown()
      this.stopRebookTimer()
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
      const active = booking.isActive(a)
      this.setData({
        appointment: Object.assign(booking.appointmentView(a), {
          showCheckIn: showQr,
          showQueue: NO_QUEUE.indexOf(a.status) < 0 && !!a.queue_number,
          active,
          reasonLabel: booking.reasonLabel(a),
          money: booking.paymentView(a),
          cancelOutcome: booking.cancelOutcome(a),
          cancelClosedText: active && !a.cancellable ? booking.cancelClosedText(a) : '',
          keepText: keepText(a),
        }),
        qr: code ? code.modules.map((row, y) => ({ y, cells: row.map((on, x) => ({ x, on })) })) : [],
        qrCell: code ? Math.floor(420 / code.size) : 12, // about 420rpx wide whatever the version
      })
      this.showRebook(a)
      if (a.status === 'completed') this.loadReview()
      else if (this.data.review) this.setData({ review: null })
      if (a.status === 'pending_payment') this.startPayCountdown(a.pay_deadline)
      else {
        this.stopPayCountdown()
        this.setData({ payRemainText: '', payExpired: false })
      }
    },

    /** The 停诊 offer; turns itself to "expired" when its hold runs out while the page is open. */
    showRebook(a) {
      this.stopRebookTimer()
      const view = booking.rebookView(a)
      if (view) {
        // The server said so (REBOOK_OFFER_EXPIRED) even if this phone's clock disagrees.
        if (this.offerExpired) view.expired = true
        if (!view.acceptedId && this.acceptedId) view.acceptedId = this.acceptedId
        if (!view.expired && !view.acceptedId && view.expiresMs !== null) {
          const wait = view.expiresMs - Date.now()
          if (wait < MAX_TIMER_MS) this.rebookTimer = setTimeout(() => this.setData({ 'rebook.expired': true }), Math.max(0, wait) + 50)
        }
      }
      this.setData({ rebook: view })
    },

    /** 评价 of a completed visit; a nicety: when the server cannot say, the block is simply not shown. */
    async loadReview() {
      try {
        const state = await api.appointmentReview(this.appointmentId)
        this.setData({
          review: {
            reviewable: !!state.reviewable,
            untilText: state.review_until ? format.dateTime(state.review_until) : '',
            reason: state.reason || '',
            own: review.ownReviewView(state.review),
          },
        })
      } catch (err) {
        this.setData({ review: null })
      }
    },

    openReview() {
      wx.navigateTo({ url: `/pages/review/review?id=${this.appointmentId}` })
    },

    stopRebookTimer() {
      if (this.rebookTimer) clearTimeout(this.rebookTimer)
      this.rebookTimer = null
    },

    onCancel() {
      const a = this.data.appointment
      if (!a || !a.cancellable || this.data.cancelling) return
      wx.showModal({
        title: '确认取消预约？',
        content: booking.cancelConfirmText(a),
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

    /** 改约到此: one tap takes the held option; then on to the new appointment. */
    async onRebook(e) {
      const r = this.data.rebook
      if (!r || r.expired || r.acceptedId || this.data.rebooking) return
      const scheduleId = Number(e.currentTarget.dataset.schedule)
      this.setData({ rebooking: true })
      wx.showLoading({ title: '正在改约', mask: true })
      try {
        const fresh = await api.rebookAppointment(this.appointmentId, scheduleId)
        wx.hideLoading()
        this.stopRebookTimer()
        wx.redirectTo({
          url: fresh.status === 'pending_payment' ? `/pages/payment/payment?id=${fresh.id}&rebooked=1` : `/pages/result/result?id=${fresh.id}&rebooked=1`,
        })
      } catch (err) {
        wx.hideLoading()
        await this.rebookRefused(err)
      } finally {
        this.setData({ rebooking: false })
      }
    },

    /** The server would not rebook: say why in its words and show what is true now. */
    async rebookRefused(err) {
      if (err.code === 'REBOOK_OFFER_EXPIRED') {
        this.offerExpired = true
        this.stopRebookTimer()
        this.setData({ 'rebook.expired': true, rebookExpiredText: api.errorMessage(err) })
        await api.showError(err, { modal: true, title: '改约已过期' })
        return
      }
      if (err.code === 'REBOOK_ALREADY_ACCEPTED') {
        const detail = err.detail && typeof err.detail === 'object' ? err.detail : {}
        // The offer names it after the reload; the error's detail names it too ({appointment_id}).
        const acceptedId = detail.appointment_id || detail.accepted_appointment_id
        if (acceptedId) this.acceptedId = acceptedId
        await api.showError(err, { modal: true, title: '已改约' })
        await this.reload() // the offer now names the accepted appointment
        return
      }
      await api.showError(err, { modal: true, title: '改约失败' })
      if (err.code === 'REBOOK_OPTION_NOT_FOUND' || err.code === 'APPOINTMENT_NOT_FOUND') await this.reload()
    },

    openAccepted() {
      wx.redirectTo({ url: `/pages/appointment/appointment?id=${this.data.rebook.acceptedId}` })
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
    /** After a 停诊 with no offer left: the department's other doctors and days. */
    bookElsewhere() {
      const a = this.data.appointment
      wx.navigateTo({ url: `/pages/department/department?id=${a.department.id}&hospitalId=${a.hospital.id}` })
    },
    openMessages() {
      wx.navigateTo({ url: '/pages/messages/messages' })
    },
    copyCode() {
      wx.setClipboardData({ data: this.data.appointment.check_in_code })
    },
  },
})
