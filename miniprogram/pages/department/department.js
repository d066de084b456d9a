/**
 * 科室: a date strip over the release window (今天 .. 今天 + release_days) with what is left each day,
 * and the doctors working on the chosen day with their sessions (余N / 约满 / 未放号 / 停诊) and their
 * rating (★4.8 (123), once someone has reviewed them).
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const booking = require('../../utils/booking')
const review = require('../../utils/review')
const member = require('../../utils/member')
const page = require('../../behaviors/page')

/**
 * What a doctor card says about the day as a whole, from the sessions (not the server's raw `remaining`,
 * which counts a day not yet released and 停诊 sessions too): the release time when nothing is released
 * yet, 停诊 when every session is suspended, else the numbers left in open sessions.
 */
function doctorDay(schedules, earlyMinutes) {
  const states = schedules.map((s) => ({ s, st: booking.scheduleState(s, earlyMinutes) }))
  if (!states.length) return { key: 'none', text: '当日无余号', remaining: 0 }
  if (states.every((x) => x.st.key === 'suspended')) return { key: 'suspended', text: '当日停诊', remaining: 0 }
  const unreleased = states.filter((x) => x.st.key === 'unreleased')
  if (unreleased.length && states.every((x) => x.st.key === 'unreleased' || x.st.key === 'suspended')) {
    return { key: 'unreleased', text: `${format.shortDateTime(unreleased[0].s.release_at)} 放号`, remaining: 0 }
  }
  const remaining = states.filter((x) => x.st.key === 'open').reduce((n, x) => n + (x.s.remaining || 0), 0)
  return remaining > 0 ? { key: 'open', text: `当日余号 ${remaining}`, remaining } : { key: 'full', text: '当日无余号', remaining: 0 }
}

function dayNotice(date, state, item) {
  if (state === 'unreleased') return `${date} 的号源将于 ${format.dateTime(item.release_at)} 放出，请届时再来预约`
  if (state === 'full') return `${date} 的号源已约满，请选择其他日期`
  return ''
}

Component({
  behaviors: [page],
  data: {
    department: null,
    hospital: null,
    days: [],
    selected: '',
    selectedDay: null,
    doctors: [],
    doctorsLoading: false,
    doctorsError: '',
  },
  methods: {
    onLoad(query) {
      this.departmentId = query.id
      this.hospitalId = query.hospitalId
      this.wantedDate = query.date
      this.reload()
    },
    onShow() {
      this.syncElder()
    },
    onPullDownRefresh() {
      this.reload()
    },

    reload() {
      return this.withLoading(async () => {
        const [department, early] = await Promise.all([api.department(this.departmentId), member.earlyMinutes()])
        this.earlyMinutes = early // a member's level may book before the public release (提前预约)
        const hospital = await api.hospital(department.hospital_id || this.hospitalId)
        const today = format.today()
        const releaseDays = hospital.booking_rules ? hospital.booking_rules.release_days : 7
        const end = format.addDays(today, releaseDays)
        const availability = await api.departmentAvailability(this.departmentId, today, end)
        const byDate = {}
        availability.items.forEach((item) => {
          byDate[item.date] = item
        })
        const days = []
        for (let d = today; d <= end; d = format.addDays(d, 1)) {
          const state = booking.dayState(byDate[d])
          days.push({
            date: d,
            label: format.dayLabel(d, today),
            short: format.shortDate(d),
            state: state.key,
            stateText: state.label,
            notice: dayNotice(d, state.key, byDate[d]),
            item: byDate[d] || null,
          })
        }
        const keep = days.find((d) => d.date === (this.data.selected || this.wantedDate))
        const chosen = keep || days.find((d) => d.state === 'open') || days.find((d) => d.item) || days[0]
        this.setData({ department, hospital, days })
        wx.setNavigationBarTitle({ title: department.name })
        await this.selectDate(chosen.date)
      })
    },

    async selectDate(date) {
      const day = this.data.days.find((d) => d.date === date) || null
      this.setData({ selected: date, selectedDay: day, doctors: [], doctorsLoading: true, doctorsError: '' })
      const seq = (this.seq = (this.seq || 0) + 1)
      try {
        const res = await api.departmentDoctors(this.departmentId, date, 1, 50)
        if (seq !== this.seq) return
        const doctors = res.items.map((doc) =>
          Object.assign({}, doc, {
            feeText: format.money(doc.fee_fen, '免费'),
            ratingText: (review.ratingView(doc.rating) || { shortText: '' }).shortText,
            day: doctorDay(doc.schedules || [], this.earlyMinutes),
            sessions: (doc.schedules || []).map((s) => {
              const st = booking.scheduleState(s, this.earlyMinutes)
              return { id: s.id, period: s.period_label, state: st.key, stateText: st.label }
            }),
          })
        )
        this.setData({ doctors })
      } catch (err) {
        if (seq === this.seq) this.setData({ doctorsError: api.errorMessage(err) })
      } finally {
        if (seq === this.seq) this.setData({ doctorsLoading: false })
      }
    },

    onPickDate(e) {
      this.selectDate(e.currentTarget.dataset.date)
    },
    retryDoctors() {
      this.selectDate(this.data.selected)
    },
    openDoctor(e) {
      wx.navigateTo({ url: `/pages/doctor/doctor?id=${e.currentTarget.dataset.id}&date=${this.data.selected}` })
    },
  },
})
