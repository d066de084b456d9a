/**
 * 医生: introduction, title, fee, sessions over the release window (one column per day, swiped sideways),
 * and for the chosen session a 3-column grid of numbered slots (号源) with their time windows. An available
 * slot leads to the confirm page. A sticky bottom bar keeps the fee and the main action in sight: book the
 * earliest free slot (or the session as a whole when it has no numbered slots).
 * Ratings: the average, count and top tags, the newest reviews (reviewers masked) and 查看全部.
 * 候补: a sold-out (约满) session can be chosen too; it shows how many are waiting, the 就诊人 to wait
 * for, and the bar's button joins the waitlist (POST /waitlist), then 我的候补.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const booking = require('../../utils/booking')
const review = require('../../utils/review')
const member = require('../../utils/member')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    doctor: null,
    feeText: '',
    days: [],
    scheduleId: null,
    schedule: null,
    slots: [],
    slotsLoading: false,
    slotsError: '',
    showIntro: false,
    barFeeText: '',
    action: { text: '请选择出诊时段', enabled: false, cls: '' },
    rating: null,
    reviews: [],
    reviewsTotal: 0,
    waitlist: null,
    patients: [],
    patientId: null,
    joining: false,
  },
  methods: {
    onLoad(query) {
      this.doctorId = query.id
      this.wantedDate = query.date
      this.reload()
    },
    onShow() {
      this.syncElder()
      // Coming back from a failed booking: the slots may have changed.
      if (this.data.scheduleId && this.shownOnce) this.loadSlots(this.data.scheduleId)
      this.shownOnce = true
    },
    onPullDownRefresh() {
      this.reload()
    },

    reload() {
      return this.withLoading(async () => {
        const [doctor, early] = await Promise.all([api.doctor(this.doctorId), member.earlyMinutes()])
        // A member's level may book before the public release (提前预约).
        this.earlyMinutes = early
        const hospital = await api.hospital(doctor.hospital.id)
        const today = format.today()
        const releaseDays = hospital.booking_rules ? hospital.booking_rules.release_days : 7
        const res = await api.doctorSchedules(this.doctorId, today, format.addDays(today, releaseDays))
        const days = groupByDate(res.items, today, early)
        const feeText = format.money(doctor.fee_fen, '免费')
        this.setData({ doctor, hospital, feeText, days, barFeeText: this.data.schedule ? this.data.barFeeText : feeText })
        wx.setNavigationBarTitle({ title: `${doctor.name} ${doctor.title}` })
        this.loadReviews(doctor)
        const current = this.data.scheduleId && res.items.find((s) => s.id === this.data.scheduleId)
        const onDay = (key) => res.items.find((s) => s.visit_date === this.wantedDate && booking.scheduleState(s, early).key === key)
        // The day asked for: its first open session, else a sold-out one (to wait for: 候补).
        const wanted = current || onDay('open') || onDay('full')
        if (wanted) await this.loadSlots(wanted.id)
        else this.updateAction()
      })
    },

    /** The rating summary and the newest reviews; a nicety: if it fails, the box says so quietly. */
    async loadReviews(doctor) {
      this.setData({ rating: review.ratingView(doctor.rating) })
      try {
        const res = await api.doctorReviews(this.doctorId, 0, 3)
        this.setData({ rating: review.ratingView(res.rating || doctor.rating), reviews: res.items.map(review.reviewView), reviewsTotal: res.total })
      } catch (err) {
        this.setData({ reviews: [], reviewsTotal: 0 })
      }
    },

    openReviews() {
      const d = this.data.doctor
      wx.navigateTo({ url: `/pages/doctor-reviews/doctor-reviews?id=${this.doctorId}&name=${encodeURIComponent(d.name)}` })
    },

    async loadSlots(scheduleId) {
      this.setData({ scheduleId, slotsLoading: true, slotsError: '', slots: [], waitlist: null })
      try {
        const res = await api.scheduleSlots(scheduleId)
        const state = booking.scheduleState(res.schedule, this.earlyMinutes)
        if (state.key === 'full') await this.loadWaitlist(scheduleId)
        this.setData({
          schedule: Object.assign({}, res.schedule, {
            stateKey: state.key,
            stateText: state.label,
            bookable: state.bookable,
            visitText: format.visitLabel(res.schedule.visit_date, res.schedule.period_label),
            memberNote: booking.memberNote(res.schedule),
            timeText: format.timeRange(res.schedule.starts_at, res.schedule.ends_at),
          }),
          slots: res.items.map(booking.slotView),
          barFeeText: format.money(res.schedule.fee_fen, '免费'),
        })
      } catch (err) {
        this.setData({ slotsError: api.errorMessage(err) })
      } finally {
        this.setData({ slotsLoading: false })
        this.updateAction()
      }
    },

    /** A sold-out session: how many wait, whether one may join, and the 就诊人 to choose from. */
    async loadWaitlist(scheduleId) {
      try {
        const [info, people] = await Promise.all([api.scheduleWaitlist(scheduleId), api.patients()])
        const items = people.items || []
        let patientId = this.data.patientId
        if (!items.some((p) => p.id === patientId)) {
          const self = items.find((p) => p.relationship === 'self')
          patientId = items.length ? (self || items[0]).id : null
        }
        this.setData({
          waitlist: { waiting: info.waiting, canJoin: !!info.can_join, holdMinutes: info.hold_minutes, error: '' },
          patients: items,
          patientId,
        })
      } catch (err) {
        this.setData({ waitlist: { waiting: 0, canJoin: false, holdMinutes: 0, error: api.errorMessage(err) } })
      }
    },

    onPickPatient(e) {
      this.setData({ patientId: Number(e.currentTarget.dataset.id) })
      this.updateAction()
    },
    addPatient() {
      wx.navigateTo({ url: '/pages/patient-edit/patient-edit' })
    },

    /** 加入候补 for the chosen 就诊人; then 我的候补 (or what the server said instead). */
    async joinWaitlist() {
      const { schedule, patientId, joining } = this.data
      if (joining || !schedule) return
      if (!patientId) {
        wx.showToast({ title: '请先选择就诊人', icon: 'none' })
        return
      }
      this.setData({ joining: true })
      wx.showLoading({ title: '正在加入候补', mask: true })
      try {
        const entry = await api.joinWaitlist(schedule.id, patientId)
        wx.hideLoading()
        const ahead = entry.waiting_ahead || 0
        wx.showModal({
          title: '已加入候补',
          content: `${ahead > 0 ? `前面还有 ${ahead} 人。` : '您排在第 1 位。'}有号源释放时将为您保留${this.data.waitlist.holdMinutes || ''}分钟并通知您，请及时确认预约。`,
          confirmText: '查看候补',
          cancelText: '留在此页',
          success: (res) => {
            if (res.confirm) wx.navigateTo({ url: '/pages/waitlist/waitlist' })
          },
        })
        await this.loadWaitlist(schedule.id)
      } catch (err) {
        wx.hideLoading()
        await this.joinRefused(err)
      } finally {
        this.setData({ joining: false })
        this.updateAction()
      }
    },

    /** The server's reasons, in its words; then what is true now. */
    async joinRefused(err) {
      if (err.code === 'WAITLIST_EXISTS') {
        wx.showModal({
          title: '已在候补中',
          content: api.errorMessage(err),
          confirmText: '查看候补',
          cancelText: '知道了',
          success: (res) => {
            if (res.confirm) wx.navigateTo({ url: '/pages/waitlist/waitlist' })
          },
        })
        return
      }
      await api.showError(err, { modal: true, title: err.code === 'WAITLIST_LIMIT' ? '候补数量已达上限' : '无法加入候补' })
      // Slots are free again: show them, so the patient can book straight away.
      if (err.code === 'WAITLIST_NOT_NEEDED') await this.loadSlots(this.data.schedule.id)
    },

    /** What the bottom bar's button does now: book the earliest free slot, the whole session, or nothing. */
    updateAction() {
      const { schedule, slots, scheduleId, slotsLoading, slotsError } = this.data
      let action
      if (!scheduleId) action = { text: this.data.days.length ? '请选择出诊时段' : '暂无可约号源', enabled: false, cls: '' }
      else if (slotsLoading || slotsError || !schedule || schedule.id !== scheduleId) action = { text: '立即预约', enabled: false, cls: '' }
      else if (schedule.stateKey === 'full' && this.data.waitlist && this.data.waitlist.canJoin) {
        action = { text: this.data.joining ? '正在加入…' : '加入候补', enabled: !this.data.joining && !!this.data.patientId, cls: 'join-waitlist', waitlist: true }
      } else if (!schedule.bookable) action = { text: `该时段${schedule.stateText}`, enabled: false, cls: '' }
      else if (!slots.length) action = { text: '预约该时段', enabled: true, cls: 'book-session' }
      else {
        const first = slots.find((s) => s.available)
        action = first
          ? { text: `预约 ${first.number}号 ${format.time(first.starts_at)}`, enabled: true, cls: 'book-first', slotId: first.id }
          : { text: '该时段已约满', enabled: false, cls: '' }
      }
      this.setData({ action })
    },

    onBarAction() {
      const action = this.data.action
      if (action.waitlist) {
        this.joinWaitlist()
        return
      }
      if (!action.enabled) {
        if (!this.data.scheduleId) wx.showToast({ title: '请选择出诊时段', icon: 'none' })
        return
      }
      this.goConfirm(action.slotId || null)
    },

    onPickSchedule(e) {
      const { id, bookable, full } = e.currentTarget.dataset
      // 约满 can be chosen too: to join its waitlist.
      if (!bookable && !full) {
        wx.showToast({ title: e.currentTarget.dataset.state, icon: 'none' })
        return
      }
      this.loadSlots(Number(id))
    },
    retrySlots() {
      this.loadSlots(this.data.scheduleId)
    },
    toggleIntro() {
      this.setData({ showIntro: !this.data.showIntro })
    },

    onPickSlot(e) {
      const { id, available } = e.currentTarget.dataset
      if (!available) {
        wx.showToast({ title: '该号源已被预约，请选择其他号源', icon: 'none' })
        return
      }
      this.goConfirm(id)
    },
    /** Sessions without numbered slots are booked as a whole (slot_id left out). */
    bookSession() {
      this.goConfirm(null)
    },
    goConfirm(slotId) {
      const s = this.data.schedule
      let url = `/pages/confirm/confirm?scheduleId=${s.id}&doctorId=${this.doctorId}`
      if (slotId) url += `&slotId=${slotId}`
      wx.navigateTo({ url })
    },
  },
})

function groupByDate(schedules, today, earlyMinutes) {
  const days = []
  const index = {}
  schedules
    .slice()
    .sort((a, b) => (a.starts_at < b.starts_at ? -1 : 1))
    .forEach((s) => {
      if (!index[s.visit_date]) {
        index[s.visit_date] = { date: s.visit_date, label: `${format.shortDate(s.visit_date)} ${format.dayLabel(s.visit_date, today)}`, sessions: [] }
        days.push(index[s.visit_date])
      }
      const st = booking.scheduleState(s, earlyMinutes)
      index[s.visit_date].sessions.push({
        id: s.id,
        period: s.period_label,
        timeText: format.timeRange(s.starts_at, s.ends_at),
        feeText: format.money(s.fee_fen, '免费'),
        state: st.key,
        stateText: st.label,
        bookable: st.bookable,
        full: st.key === 'full',
      })
    })
  return days
}
