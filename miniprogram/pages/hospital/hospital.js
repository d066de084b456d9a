/** 医院详情: information, booking rules and the two-level department list (大科室 > 科室). */
const api = require('../../utils/api')
const booking = require('../../utils/booking')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    hospital: null,
    rules: [],
    groups: [],
    activeGroup: 0,
    q: '',
    deptLoading: false,
    deptError: '',
    showIntro: false,
  },
  methods: {
    onLoad(query) {
      this.hospitalId = query.id
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
        const [hospital] = await Promise.all([api.hospital(this.hospitalId), this.loadDepartments()])
        this.setData({ hospital, rules: booking.rulesLines(hospital.booking_rules) })
        wx.setNavigationBarTitle({ title: hospital.name })
      })
    },

    async loadDepartments() {
      this.setData({ deptLoading: true, deptError: '' })
      try {
        const res = await api.hospitalDepartments(this.hospitalId, this.data.q.trim())
        const groups = res.items.filter((g) => g.children && g.children.length)
        this.setData({ groups, activeGroup: 0 })
      } catch (err) {
        this.setData({ deptError: api.errorMessage(err) })
      } finally {
        this.setData({ deptLoading: false })
      }
    },

    onInput(e) {
      this.setData({ q: e.detail.value })
    },
    onSearch() {
      this.loadDepartments()
    },
    toggleIntro() {
      this.setData({ showIntro: !this.data.showIntro })
    },
    pickGroup(e) {
      this.setData({ activeGroup: Number(e.currentTarget.dataset.index) })
    },
    openDepartment(e) {
      wx.navigateTo({ url: `/pages/department/department?id=${e.currentTarget.dataset.id}&hospitalId=${this.hospitalId}` })
    },
    callHospital() {
      if (this.data.hospital && this.data.hospital.phone) wx.makePhoneCall({ phoneNumber: this.data.hospital.phone })
    },
  },
})
