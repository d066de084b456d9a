/** 就诊人管理: list, add, edit, delete (the server refuses to delete one with active appointments). */
const api = require('../../utils/api')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    items: [],
    loaded: false,
    max: 5,
  },
  methods: {
    onShow() {
      // Reload on every show: back from the edit page, the list has changed.
      this.syncElder()
      this.reload()
    },
    onPullDownRefresh() {
      this.reload()
    },

    reload() {
      return this.withLoading(async () => {
        const [res, settings] = await Promise.all([api.patients(), api.getConfig().catch(() => null)])
        this.setData({ items: res.items, loaded: true, max: (settings && settings.max_visit_persons) || this.data.max })
      })
    },

    add() {
      if (this.data.items.length >= this.data.max) {
        wx.showToast({ title: `最多添加${this.data.max}位就诊人`, icon: 'none' })
        return
      }
      wx.navigateTo({ url: '/pages/patient-edit/patient-edit' })
    },
    edit(e) {
      wx.navigateTo({ url: `/pages/patient-edit/patient-edit?id=${e.currentTarget.dataset.id}` })
    },
    remove(e) {
      const id = Number(e.currentTarget.dataset.id)
      const person = this.data.items.find((p) => p.id === id)
      wx.showModal({
        title: '删除就诊人',
        content: `确定删除就诊人“${person ? person.name : ''}”吗？`,
        confirmText: '删除',
        confirmColor: '#e4393c',
        success: (res) => {
          if (res.confirm) this.doRemove(id)
        },
      })
    },
    async doRemove(id) {
      try {
        await api.deletePatient(id)
        wx.showToast({ title: '已删除', icon: 'success' })
        this.setData({ items: this.data.items.filter((p) => p.id !== id) })
      } catch (err) {
        api.showError(err, { modal: true, title: '无法删除' })
      }
    },
  },
})
