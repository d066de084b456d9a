/**
 * 评价: one review per completed visit, within the server's window (review_until). Stars 1-5, tags
 * (chips from GET /review-tags, praise and complaints told apart), optional text with a counter, then
 * 提交评价. Once submitted (or when opened again) it shows the review, and when the hospital has hidden
 * it, says so with the hospital's reason. The server's refusals are shown in its words; a text it
 * rejects (a phone number, an ID number, abuse) is shown under the text box, so it can be corrected.
 */
const api = require('../../utils/api')
const format = require('../../utils/format')
const review = require('../../utils/review')
const booking = require('../../utils/booking')
const page = require('../../behaviors/page')

// The review can no longer be written: show the state the server has now.
const RELOAD_CODES = ['NOT_REVIEWABLE', 'REVIEW_EXISTS', 'REVIEW_WINDOW_CLOSED']

Component({
  behaviors: [page],
  data: {
    appointment: null,
    state: null,
    own: null,
    tags: [],
    stars: 0,
    starWord: '',
    text: '',
    textMax: review.TEXT_MAX,
    textError: '',
    submitting: false,
    untilText: '',
  },
  methods: {
    onLoad(query) {
      this.appointmentId = query.id
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
        const [a, state] = await Promise.all([api.appointment(this.appointmentId), api.appointmentReview(this.appointmentId)])
        let tags = this.data.tags
        if (state.reviewable && !tags.length) tags = ((await api.reviewTags()).tags || []).map((t) => Object.assign({}, t, { on: false }))
        this.setData({
          appointment: booking.appointmentView(a),
          state,
          own: review.ownReviewView(state.review),
          tags,
          untilText: state.review_until ? format.dateTime(state.review_until) : '',
        })
      })
    },

    onStar(e) {
      const stars = Number(e.currentTarget.dataset.stars)
      this.setData({ stars, starWord: review.STAR_WORDS[stars] || '' })
    },

    onTag(e) {
      const i = Number(e.currentTarget.dataset.index)
      if (this.data.tags[i]) this.setData({ [`tags[${i}].on`]: !this.data.tags[i].on })
    },

    onText(e) {
      const text = String(e.detail.value || '').slice(0, review.TEXT_MAX)
      this.setData({ text, textError: '' })
    },

    async onSubmit() {
      if (this.data.submitting) return
      if (!this.data.stars) {
        wx.showToast({ title: '请先选择星级（1-5 星）', icon: 'none' })
        return
      }
      const tags = this.data.tags.filter((t) => t.on).map((t) => t.tag)
      const body = { stars: this.data.stars, tags, text: this.data.text.trim() }
      this.setData({ submitting: true, textError: '' })
      wx.showLoading({ title: '正在提交', mask: true })
      try {
        await api.submitReview(this.appointmentId, body)
        wx.hideLoading()
        wx.showToast({ title: '感谢您的评价', icon: 'success' })
        await this.reload()
      } catch (err) {
        wx.hideLoading()
        await this.refused(err)
      } finally {
        this.setData({ submitting: false })
      }
    },

    /** What the server would not take, in its words: under the text box, or as a modal then the state now. */
    async refused(err) {
      if (err.code === 'REVIEW_TEXT_REJECTED') {
        this.setData({ textError: api.errorMessage(err) })
        return
      }
      await api.showError(err, { modal: true, title: '无法提交评价' })
      if (RELOAD_CODES.indexOf(err.code) >= 0) await this.reload()
    },

    openDoctor() {
      const a = this.data.appointment
      wx.navigateTo({ url: `/pages/doctor/doctor?id=${a.doctor.id}` })
    },
  },
})
