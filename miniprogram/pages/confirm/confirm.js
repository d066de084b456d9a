/**
 * 确认预约: the chosen session/slot, its fee and the hospital's rules; pick a 就诊人 and submit. The fee
 * says how it is paid (在线支付 or 到院支付, from the hospital's payment_required) and, with the schedule's
 * booking_notice (when a booking made now cannot be cancelled/refunded), sits in a sticky bottom bar
 * with 确认预约.
 *
 * Submitting asks for the subscribe-message consent first (WeChat only allows that straight from a
 * tap), then POSTs the booking with an Idempotency-Key. The key belongs to one booking attempt (this
 * schedule + slot + person): a retry after a network failure or a 5xx sends the same key, so the server
 * can answer with the appointment it may already have made instead of booking twice.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const booking = require('../../utils/booking')
const member = require('../../utils/member')
const wechat = require('../../utils/wechat')
const page = require('../../behaviors/page')

// Conflicts after which the user has to pick another slot or day.
const PICK_AGAIN = [
  'SOLD_OUT', 'SLOT_TAKEN', 'NOT_RELEASED', 'BOOKING_CLOSED', 'SCHEDULE_SUSPENDED', 'SCHEDULE_NOT_FOUND',
  'RELEASE_WINDOW_CLOSED', 'RELEASE_NOT_OPEN', 'RELEASE_WINDOW_OPEN', 'RELEASE_DRAW_PENDING',
]
// Conflicts that mean "you already have appointments": offer to look at them.
const SEE_APPOINTMENTS = ['DUPLICATE_BOOKING', 'BOOKING_LIMIT']

/**
 * How the fee is paid: online right after booking (payment_required) or at the hospital's window (到院支付,
 * so nothing about online refunds applies), or not at all (free).
 */
function payMode(rules, feeFen) {
  if (!feeFen) return { label: '', onSite: false, lines: [] }
  const fee = format.money(feeFen)
  if (rules && rules.payment_required) {
    return { label: '在线支付', onSite: false, lines: [`预约后请在线支付挂号费${fee}；在取消截止前取消，已付费用原路全额退回`] }
  }
  return { label: '到院支付', onSite: true, lines: [`挂号费${fee}于就诊当日在医院窗口支付，预约时无需付款`] }
}

Component({
  behaviors: [page],
  data: {
    schedule: null,
    slot: null,
    doctor: null,
    hospital: null,
    rules: [],
    patients: [],
    patientId: null,
    maxPatients: 5,
    feeText: '',
    payLabel: '',
    payOnSite: false,
    payLines: [],
    bookingNotice: '',
    cancelDeadlineText: '',
    submitting: false,
    unavailable: '',
    draw: false,
    drawWindow: '',
  },
  methods: {
    onLoad(query) {
      this.scheduleId = Number(query.scheduleId)
      this.slotId = query.slotId ? Number(query.slotId) : null
      this.doctorId = query.doctorId
      this.reload()
    },
    onShow() {
      this.syncElder()
      // Back from adding a 就诊人: refresh the list (the first show is covered by reload()).
      if (this.shownOnce && this.data.schedule) this.loadPatients()
      this.shownOnce = true
    },

    reload() {
      return this.withLoading(async () => {
        const [slots, settings, , early] = await Promise.all([api.scheduleSlots(this.scheduleId), api.getConfig(), this.loadPatients(true), member.earlyMinutes()])
        this.settings = settings
        const schedule = slots.schedule
        const doctor = await api.doctor(this.doctorId || schedule.doctor_id)
        const hospital = await api.hospital(doctor.hospital.id)
        const slot = this.slotId ? slots.items.find((s) => s.id === this.slotId) || null : null
        const state = booking.scheduleState(schedule, early)
        let unavailable = ''
        if (!state.bookable) unavailable = `该时段${state.label}，请返回选择其他时段`
        else if (this.slotId && (!slot || slot.status !== 'available')) unavailable = '该号源已被预约，请返回选择其他号源'
        const feeFen = schedule.fee_fen !== undefined ? schedule.fee_fen : doctor.fee_fen
        const pay = payMode(hospital.booking_rules, feeFen)
        this.setData({
          schedule: Object.assign({}, schedule, {
            visitText: format.visitLabel(schedule.visit_date, schedule.period_label),
            timeText: slot ? format.timeRange(slot.starts_at, slot.ends_at) : format.timeRange(schedule.starts_at, schedule.ends_at),
          }),
          slot,
          doctor,
          hospital,
          rules: booking.rulesLines(hospital.booking_rules),
          feeText: format.money(feeFen, '免费'),
          payLabel: pay.label,
          payOnSite: pay.onSite,
          payLines: pay.lines,
          // New in the contract (issue 14); absent on an older server: then there is nothing to warn about.
          bookingNotice: schedule.booking_notice || '',
          cancelDeadlineText: schedule.cancel_deadline ? `${format.dateTime(schedule.cancel_deadline)} 前可取消` : '',
          maxPatients: settings.max_visit_persons || 5,
          unavailable,
          // 抽签放号 (issue 9): in the release window the button enters the draw instead of booking.
          draw: !!state.draw,
          drawWindow: state.draw ? booking.releaseWindowText(schedule) : '',
        })
      })
    },

    /** Loads 就诊人 and keeps (or makes) a sensible choice: the previous one, else 本人, else the first. */
    async loadPatients(rethrow) {
      try {
        const res = await api.patients()
        const items = res.items
        let patientId = this.data.patientId
        if (!items.some((p) => p.id === patientId)) {
          const self = items.find((p) => p.relationship === 'self')
          patientId = items.length ? (self || items[0]).id : null
        }
        this.setData({ patients: items, patientId })
      } catch (err) {
        if (rethrow) throw err
        api.showError(err)
      }
    },

    onPickPatient(e) {
      this.setData({ patientId: Number(e.currentTarget.dataset.id) })
    },
    addPatient() {
      wx.navigateTo({ url: '/pages/patient-edit/patient-edit' })
    },
    pickAgain() {
      wx.navigateBack()
    },

    /** The tap on 确认预约. */
    onSubmit() {
      if (this.data.submitting || this.data.unavailable) return
      if (!this.data.patientId) {
        wx.showToast({ title: '请选择就诊人', icon: 'none' })
        return
      }
      const templates = (this.settings && this.settings.subscribe_templates) || {}
      this.setData({ submitting: true })
      if (this.data.draw) {
        wechat.requestSubscribe([templates.release_result, templates.visit_reminder]).then(() => this.enterDraw())
        return
      }
      // Consent first and directly in the tap handler; a refusal does not stop the booking.
      wechat.requestSubscribe([templates.booking_confirmed, templates.visit_reminder]).then(() => this.book())
    },

    /** One booking attempt; a retry of the same choice reuses its Idempotency-Key. */
    async book() {
      const body = { schedule_id: this.scheduleId, patient_id: this.data.patientId }
      if (this.slotId) body.slot_id = this.slotId
      const signature = JSON.stringify(body)
      if (!this.attempt || this.attempt.signature !== signature) this.attempt = { signature, key: api.idempotencyKey() }

      this.setData({ submitting: true })
      wx.showLoading({ title: '正在预约', mask: true })
      let appointment = null
      let error = null
      try {
        appointment = await api.book(body, this.attempt.key)
      } catch (err) {
        error = err
      }
      wx.hideLoading()
      this.setData({ submitting: false })

      if (appointment) {
        this.attempt = null
        const next = appointment.status === 'pending_payment' ? 'payment/payment' : 'result/result'
        wx.redirectTo({ url: `/pages/${next}?id=${appointment.id}` })
        return
      }
      this.onBookingError(error)
    },

    /** 参加抽签: the entry is queued (排队中) and its page polls for the draw's result. */
    async enterDraw() {
      wx.showLoading({ title: '正在提交', mask: true })
      let entry = null
      let error = null
      try {
        entry = await api.enterRelease(this.scheduleId, this.data.patientId)
      } catch (err) {
        error = err
      }
      wx.hideLoading()
      this.setData({ submitting: false })
      if (entry) {
        wx.redirectTo({ url: `/pages/release/release?id=${entry.id}` })
        return
      }
      this.onBookingError(error)
    },

    onBookingError(err) {
      const retryable = err.isNetwork || err.status >= 500 || err.status === 429
      if (retryable) {
        // Keep this.attempt: the retry must carry the same Idempotency-Key.
        wx.showModal({
          title: '预约未完成',
          content: `${api.errorMessage(err)}。重试不会重复预约。`,
          confirmText: '重试',
          cancelText: '稍后',
          success: (res) => {
            if (res.confirm) (this.data.draw ? this.enterDraw() : this.book())
          },
        })
        return
      }
      this.attempt = null
      if (PICK_AGAIN.indexOf(err.code) >= 0) {
        this.setData({ unavailable: err.message })
        wx.showModal({
          title: '无法预约',
          content: err.message,
          confirmText: '重新选择',
          showCancel: false,
          success: (res) => {
            if (res.confirm) wx.navigateBack()
          },
        })
      } else if (SEE_APPOINTMENTS.indexOf(err.code) >= 0) {
        wx.showModal({
          title: '无法预约',
          content: err.message,
          confirmText: '查看预约',
          cancelText: '知道了',
          success: (res) => {
            if (res.confirm) this.goAppointments()
          },
        })
      } else {
        if (err.code === 'VISIT_PERSON_NOT_FOUND') this.loadPatients()
        api.showError(err, { modal: true, title: '无法预约' })
      }
    },
  },
})
