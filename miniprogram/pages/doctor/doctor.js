/**
 * 医生: introduction, title, fee, sessions over the release window (one column per day, swiped sideways),
 * and for the chosen session a 3-column grid of numbered slots (号源) with their time windows. An available
 * slot leads to the confirm page. A sticky bottom bar keeps the fee and the main action in sight: book the
 * earliest free slot (or the session as a whole when it has no numbered slots).
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const booking = require('../../utils/booking')
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
        const doctor = await api.doctor(this.doctorId)
        const hospital = await api.hospital(doctor.hospital.id)
        const today = format.today()
        const releaseDays = hospital.booking_rules ? hospital.booking_rules.release_days : 7
        const res = await api.doctorSchedules(this.doctorId, today, format.addDays(today, releaseDays))
        const days = groupByDate(res.items, today)
        const feeText = format.money(doctor.fee_fen, '免费')
        this.setData({ doctor, hospital, feeText, days, barFeeText: this.data.schedule ? this.data.barFeeText : feeText })
        wx.setNavigationBarTitle({ title: `${doctor.name} ${doctor.title}` })
        const current = this.data.scheduleId && res.items.find((s) => s.id === this.data.scheduleId)
        const wanted = current || res.items.find((s) => s.visit_date === this.wantedDate && booking.scheduleState(s).bookable)
        if (wanted) await this.loadSlots(wanted.id)
        else this.updateAction()
      })
    },

    async loadSlots(scheduleId) {
      this.setData({ scheduleId, slotsLoading: true, slotsError: '', slots: [] })
      try {
        const res = await api.scheduleSlots(scheduleId)
        const state = booking.scheduleState(res.schedule)
        this.setData({
          schedule: Object.assign({}, res.schedule, {
            stateText: state.label,
            bookable: state.bookable,
            visitText: format.visitLabel(res.schedule.visit_date, res.schedule.period_label),
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

    /** What the bottom bar's button does now: book the earliest free slot, the whole session, or nothing. */
    updateAction() {
      const { schedule, slots, scheduleId, slotsLoading, slotsError } = this.data
      let action
      if (!scheduleId) action = { text: this.data.days.length ? '请选择出诊时段' : '暂无可约号源', enabled: false, cls: '' }
      else if (slotsLoading || slotsError || !schedule || schedule.id !== scheduleId) action = { text: '立即预约', enabled: false, cls: '' }
      else if (!schedule.bookable) action = { text: `该时段${schedule.stateText}`, enabled: false, cls: '' }
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
      if (!action.enabled) {
        if (!this.data.scheduleId) wx.showToast({ title: '请选择出诊时段', icon: 'none' })
        return
      }
      this.goConfirm(action.slotId || null)
    },

    onPickSchedule(e) {
      const { id, bookable } = e.currentTarget.dataset
      if (!bookable) {
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

function groupByDate(schedules, today) {
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
      const st = booking.scheduleState(s)
      index[s.visit_date].sessions.push({
        id: s.id,
        period: s.period_label,
        timeText: format.timeRange(s.starts_at, s.ends_at),
        feeText: format.money(s.fee_fen, '免费'),
        state: st.key,
        stateText: st.label,
        bookable: st.bookable,
      })
    })
  return days
}
