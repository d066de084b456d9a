/** 首页: search hospitals by name or pinyin initials, filter by city and level. */
const api = require('../../utils/api')
const config = require('../../config')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20

Component({
  behaviors: [page],
  data: {
    q: '',
    city: '',
    level: '',
    cities: config.cities.slice(),
    levels: config.levels.slice(),
    items: [],
    total: 0,
    page: 1,
    loadingMore: false,
  },
  methods: {
    onLoad() {
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

    query(pageNo) {
      const { q, city, level } = this.data
      return { q: q.trim(), city, level, page: pageNo, page_size: PAGE_SIZE }
    },

    reload() {
      const seq = (this.seq = (this.seq || 0) + 1) // a newer search wins over a slower older one
      return this.withLoading(async () => {
        const res = await api.hospitals(this.query(1))
        if (seq !== this.seq) return
        this.setData({ items: res.items, total: res.total, page: 1, cities: this.mergeCities(res.items) })
      })
    },

    async loadMore() {
      const { items, total, page: pageNo, loading, loadingMore } = this.data
      if (loading || loadingMore || items.length >= total) return
      this.setData({ loadingMore: true })
      try {
        const res = await api.hospitals(this.query(pageNo + 1))
        this.setData({ items: items.concat(res.items), total: res.total, page: pageNo + 1 })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ loadingMore: false })
      }
    },

    /** Cities in results that the configured list lacks (the API has no list of cities). */
    mergeCities(items) {
      const cities = this.data.cities.slice()
      items.forEach((h) => {
        if (h.city && cities.indexOf(h.city) < 0) cities.push(h.city)
      })
      return cities
    },

    onInput(e) {
      this.setData({ q: e.detail.value })
    },
    onSearch() {
      this.reload()
    },
    onClear() {
      this.setData({ q: '' })
      this.reload()
    },
    onCity(e) {
      const city = e.currentTarget.dataset.value
      this.setData({ city: city === this.data.city ? '' : city })
      this.reload()
    },
    onLevel(e) {
      const level = e.currentTarget.dataset.value
      this.setData({ level: level === this.data.level ? '' : level })
      this.reload()
    },
    openHospital(e) {
      wx.navigateTo({ url: `/pages/hospital/hospital?id=${e.currentTarget.dataset.id}` })
    },
  },
})
