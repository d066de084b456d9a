/** 患者评价 of one doctor (查看全部 from the doctor page): the rating summary, then every review, newest first, paged. */
const api = require('../../utils/api')
const review = require('../../utils/review')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20

Component({
  behaviors: [page],
  data: {
    rating: null,
    items: [],
    total: 0,
    loaded: false,
    loadingMore: false,
  },
  methods: {
    onLoad(query) {
      this.doctorId = query.id
      if (query.name) wx.setNavigationBarTitle({ title: `${decodeURIComponent(query.name)}的评价` })
      this.reload()
    },
    onShow() {
      this.syncElder()
    },
    onPullDownRefresh() {
      this.reload()
    },
    onReachBottom() {
      this.loadMore()
    },

    reload() {
      return this.withLoading(async () => {
        const res = await api.doctorReviews(this.doctorId, 0, PAGE_SIZE)
        this.setData({ rating: review.ratingView(res.rating, 6), items: res.items.map(review.reviewView), total: res.total, loaded: true })
      })
    },

    async loadMore() {
      const { items, total, loadingMore, loading } = this.data
      if (loading || loadingMore || items.length >= total) return
      this.setData({ loadingMore: true })
      try {
        const res = await api.doctorReviews(this.doctorId, items.length, PAGE_SIZE)
        const seen = {}
        items.forEach((r) => {
          seen[r.id] = true
        })
        this.setData({ items: items.concat(res.items.filter((r) => !seen[r.id]).map(review.reviewView)), total: res.total })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ loadingMore: false })
      }
    },
  },
})
