/**
 * 首页: search, filter by city and level, paged hospital list.
 *
 * - Typing asks the grouped search (api.search) and shows 医院 / 科室 / 医生 under the box; a tap
 *   opens that hospital, department or doctor. 搜索 (or the keyboard's search key) filters the list below
 *   by name or pinyin initials, as before. A server without the search endpoint only loses the
 *   suggestions.
 * - City chips are the cities that actually have hospitals (api.cities()), most hospitals first.
 * - 长辈模式: offered once on first launch (remembered in storage), and switchable here at any time.
 */
const api = require('../../utils/api')
const config = require('../../config')
const store = require('../../utils/store')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20
/** Wait this long after the last keystroke before asking the search endpoint. */
const SEARCH_DELAY_MS = 250
const SEARCH_LIMIT = 5

function emptySuggest() {
  return { open: false, loading: false, empty: false, hospitals: [], departments: [], doctors: [] }
}

Component({
  behaviors: [page],
  data: {
    q: '',
    city: '',
    level: '',
    cities: [],
    levels: config.levels.slice(),
    items: [],
    total: 0,
    page: 1,
    loadingMore: false,
    suggest: emptySuggest(),
    elderPrompt: false,
  },
  lifetimes: {
    detached() {
      clearTimeout(this.searchTimer)
    },
  },
  methods: {
    onLoad() {
      this.reload()
      this.loadCities()
    },
    onShow() {
      this.syncElder()
      // The first launch offers 长辈模式 once; the offer stays on screen until answered.
      if (!store.elderAsked()) {
        store.setElderAsked()
        if (!this.data.elder) this.setData({ elderPrompt: true })
      }
    },
    onPullDownRefresh() {
      this.reload()
      this.loadCities()
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
        this.setData({ items: res.items, total: res.total, page: 1, cities: this.mergeCities(this.data.cities, res.items) })
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

    /** The cities that have hospitals, most hospitals first (the server counts them). Best effort. */
    async loadCities() {
      let res
      try {
        res = await api.cities()
      } catch (err) {
        return // the chips are a nicety: without them 全部城市 still works
      }
      this.setData({ cities: this.mergeCities(res.items.map((c) => c.city), this.data.items) })
    },

    /** `cities` plus any city of `items` it lacks (a hospital's city always has a hospital). */
    mergeCities(cities, items) {
      const out = cities.slice()
      items.forEach((h) => {
        if (h.city && out.indexOf(h.city) < 0) out.push(h.city)
      })
      return out
    },

    onInput(e) {
      const q = e.detail.value
      this.setData({ q })
      clearTimeout(this.searchTimer)
      const seq = (this.suggestSeq = (this.suggestSeq || 0) + 1)
      if (!q.trim()) {
        this.setData({ suggest: emptySuggest() })
        return
      }
      this.searchTimer = setTimeout(() => this.suggestFor(q.trim(), seq), SEARCH_DELAY_MS)
    },

    async suggestFor(q, seq) {
      if (this.searchMissing) return
      this.setData({ 'suggest.open': true, 'suggest.loading': true })
      let res
      try {
        res = await api.search(q, this.data.city, SEARCH_LIMIT)
      } catch (err) {
        if (seq !== this.suggestSeq) return
        // An older server has no /search: stop asking; the list filter (搜索) still works.
        if (err.status === 404 || err.status === 405) this.searchMissing = true
        this.setData({ suggest: emptySuggest() })
        return
      }
      if (seq !== this.suggestSeq) return // typed on, or 搜索 tapped, meanwhile
      const hospitals = (res.hospitals || []).map((h) => Object.assign({}, h, { sub: [h.level, h.city, h.district].filter(Boolean).join(' · ') }))
      const departments = (res.departments || []).map((d) =>
        Object.assign({}, d, { sub: [d.parent_name, d.hospital && d.hospital.name].filter(Boolean).join(' · ') })
      )
      const doctors = (res.doctors || []).map((d) =>
        Object.assign({}, d, { sub: [d.hospital && d.hospital.name, d.department && d.department.name].filter(Boolean).join(' · ') })
      )
      this.setData({
        suggest: { open: true, loading: false, empty: !hospitals.length && !departments.length && !doctors.length, hospitals, departments, doctors },
      })
    },

    closeSuggest() {
      clearTimeout(this.searchTimer)
      this.suggestSeq = (this.suggestSeq || 0) + 1
      if (this.data.suggest.open) this.setData({ suggest: emptySuggest() })
    },

    onSearch() {
      this.closeSuggest()
      this.reload()
    },
    onClear() {
      this.closeSuggest()
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
    openSuggestHospital(e) {
      this.closeSuggest()
      this.openHospital(e)
    },
    openSuggestDepartment(e) {
      const { id, hospital } = e.currentTarget.dataset
      this.closeSuggest()
      wx.navigateTo({ url: `/pages/department/department?id=${id}&hospitalId=${hospital}` })
    },
    openSuggestDoctor(e) {
      this.closeSuggest()
      wx.navigateTo({ url: `/pages/doctor/doctor?id=${e.currentTarget.dataset.id}` })
    },

    // 长辈模式: the first-launch offer and the home-page switch.
    acceptElder() {
      this.setData({ elderPrompt: false })
      this.applyElder(true)
      wx.showToast({ title: '已开启长辈模式，可在“我的”中关闭', icon: 'none' })
    },
    declineElder() {
      this.setData({ elderPrompt: false })
    },
    toggleElder() {
      const on = !this.data.elder
      this.setData({ elderPrompt: false })
      this.applyElder(on)
      wx.showToast({ title: on ? '已开启长辈模式' : '已关闭长辈模式', icon: 'none' })
    },
  },
})
