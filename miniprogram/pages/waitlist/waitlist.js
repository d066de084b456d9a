/**
 * 我的候补: the account's waitlist entries with their status and position (前面还有 N 人). An offered
 * entry holds a slot for a few minutes: a countdown (请在 mm:ss 内确认) and 确认预约, which books it and
 * goes on to the payment page when the hospital takes the fee online (pending_payment), else to the
 * result page. 取消候补 leaves the line (an offered slot then passes to the next person).
 * When an offer's time runs out on the phone, the list is reloaded: the server has passed it on.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const waitlist = require('../../utils/waitlist')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    items: [],
    total: 0,
    loaded: false,
    busyId: null,
  },
  lifetimes: {
    detached() {
      this.stopTimer()
    },
  },
  methods: {
    onShow() {
      this.syncElder()
      this.reload()
    },
    onHide() {
      this.stopTimer()
    },
    onUnload() {
      this.stopTimer()
    },
    onPullDownRefresh() {
      this.reload()
    },

    reload() {
      return this.withLoading(async () => {
        const res = await api.myWaitlist()
        const received = Date.now()
        const items = waitlist.ordered(res.items).map((e) => waitlist.entryView(e, received))
        this.setData({ items, total: res.total, loaded: true })
        this.startTimer()
      })
    },

    /** One tick a second while an offer is counting down; at zero, the list is reloaded once. */
    startTimer() {
      this.stopTimer()
      if (!this.data.items.some((e) => e.deadlineMs !== null && !e.expired)) return
      const tick = () => {
        this.timer = null
        const now = Date.now()
        const changes = {}
        let ranOut = false
        this.data.items.forEach((e, i) => {
          if (e.deadlineMs === null || e.expired) return
          const left = e.deadlineMs - now
          changes[`items[${i}].remainText`] = format.countdown(left)
          if (left <= 0) {
            changes[`items[${i}].expired`] = true
            ranOut = true
          }
        })
        this.setData(changes)
        if (ranOut) {
          this.reload()
          return
        }
        this.timer = setTimeout(tick, this.countdownTickMs || 1000)
      }
      this.timer = setTimeout(tick, this.countdownTickMs || 1000)
    },

    stopTimer() {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
    },

    entry(e) {
      return this.data.items.find((x) => String(x.id) === String(e.currentTarget.dataset.id))
    },

    /** 确认预约 of an offer: the appointment is made; pay for it where the hospital asks, else done. */
    async onConfirm(e) {
      const entry = this.entry(e)
      if (!entry || entry.status !== 'offered' || entry.expired || this.data.busyId) return
      this.setData({ busyId: entry.id })
      wx.showLoading({ title: '正在预约', mask: true })
      try {
        const a = await api.confirmWaitlist(entry.id)
        wx.hideLoading()
        this.stopTimer()
        wx.navigateTo({ url: a.status === 'pending_payment' ? `/pages/payment/payment?id=${a.id}` : `/pages/result/result?id=${a.id}` })
      } catch (err) {
        wx.hideLoading()
        await api.showError(err, { modal: true, title: '无法确认' })
        await this.reload() // the offer may have run out or passed on: show where it stands
      } finally {
        this.setData({ busyId: null })
      }
    },

    onLeave(e) {
      const entry = this.entry(e)
      if (!entry || !entry.open || this.data.busyId) return
      wx.showModal({
        title: '取消候补？',
        content:
          entry.status === 'offered'
            ? '为您保留的号源将让给下一位候补的患者，取消后不可恢复。'
            : `取消后将退出 ${entry.doctor.name} ${entry.visitText} 的候补队列，重新候补需重新排队。`,
        confirmText: '取消候补',
        confirmColor: '#e4393c',
        cancelText: '再想想',
        success: (res) => {
          if (res.confirm) this.leave(entry)
        },
      })
    },

    async leave(entry) {
      this.setData({ busyId: entry.id })
      try {
        await api.leaveWaitlist(entry.id)
        wx.showToast({ title: '已取消候补', icon: 'none' })
      } catch (err) {
        await api.showError(err, { modal: true, title: '无法取消候补' })
      } finally {
        this.setData({ busyId: null })
      }
      await this.reload()
    },

    openAppointment(e) {
      const entry = this.entry(e)
      if (entry && entry.appointment_id) wx.navigateTo({ url: `/pages/appointment/appointment?id=${entry.appointment_id}` })
    },
    openDoctor(e) {
      const entry = this.entry(e)
      if (entry) wx.navigateTo({ url: `/pages/doctor/doctor?id=${entry.doctor.id}&date=${entry.schedule.visit_date}` })
    },
  },
})
