/**
 * 抽签放号 (issue 9): with `id`, one entry's result — 排队中 while the release window is open (polled every
 * few seconds until the draw), then 已中签 (with the appointment: pay or see it) or 未中签 (with the reason);
 * without `id`, all my entries with their labels. The server decides everything: this page only shows
 * what the server says of the entry.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const booking = require('../../utils/booking')
const page = require('../../behaviors/page')

const POLL_MS = 3000
const TONES = { queued: 'tone-wait', won: 'tone-ok', lost: 'tone-muted' }

function entryView(e) {
  return Object.assign({}, e, {
    tone: TONES[e.status] || '',
    visitText: format.visitLabel(e.schedule.visit_date, e.schedule.period_label),
    windowText: `${booking.clockText(e.schedule.release_at)}–${booking.clockText(e.schedule.window_closes_at)}`,
    queued: e.status === 'queued',
    won: e.status === 'won',
    lost: e.status === 'lost',
  })
}

Component({
  behaviors: [page],
  data: { entry: null, entries: [], listMode: false },
  methods: {
    onLoad(query) {
      this.entryId = query.id ? Number(query.id) : null
      this.setData({ listMode: !this.entryId })
      this.reload()
    },
    onShow() {
      this.syncElder()
    },
    onHide() {
      this.stopPolling()
    },
    onUnload() {
      this.stopPolling()
    },
    onPullDownRefresh() {
      this.reload().then(() => wx.stopPullDownRefresh())
    },

    reload() {
      return this.withLoading(async () => {
        if (this.entryId) {
          const entry = entryView(await api.releaseEntry(this.entryId))
          this.setData({ entry })
          if (entry.queued) this.poll()
        } else {
          const res = await api.myReleaseEntries()
          this.setData({ entries: (res.items || []).map(entryView) })
        }
      })
    },

    /** While queued: ask again every few seconds until the draw has decided. */
    poll() {
      this.stopPolling()
      this.timer = setTimeout(async () => {
        this.timer = null
        try {
          const entry = entryView(await api.releaseEntry(this.entryId))
          this.setData({ entry })
          if (entry.queued) this.poll()
        } catch (err) {
          this.poll()
        }
      }, POLL_MS)
    },
    stopPolling() {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
    },

    openEntry(e) {
      wx.navigateTo({ url: `/pages/release/release?id=${e.currentTarget.dataset.id}` })
    },
    viewAppointment() {
      const a = this.data.entry.appointment_id
      wx.navigateTo({ url: `/pages/result/result?id=${a}` })
    },
    goAppointments() {
      wx.switchTab({ url: '/pages/appointments/appointments' })
    },
  },
})
