/**
 * 就诊人管理: list, add, edit, delete (the server refuses to delete one with active appointments), and each
 * person's 实名认证 state (已认证 / 未认证 / 认证失败): only a verified person can be booked for, so the others
 * carry a 重新认证 button (after a rename, a failure, or while the verification service was unavailable).
 */
const api = require('../../utils/api')
const page = require('../../behaviors/page')

Component({
  behaviors: [page],
  data: {
    items: [],
    loaded: false,
    max: 5,
    verifying: null,
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
    async verify(e) {
      const id = Number(e.currentTarget.dataset.id)
      if (this.data.verifying) return
      this.setData({ verifying: id })
      try {
        const person = await api.verifyPatient(id)
        this.setData({ items: this.data.items.map((p) => (p.id === id ? person : p)) })
        if (person.realname_status === 'verified') wx.showToast({ title: '认证成功', icon: 'success' })
        else wx.showModal({ title: '认证未通过', content: person.realname_message, showCancel: false })
      } catch (err) {
        api.showError(err, { modal: true, title: '暂时无法认证' })
      } finally {
        this.setData({ verifying: null })
      }
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
