/**
 * Add or edit a 就诊人. The checks mirror the server's (utils/validate.js); the server's own message is
 * shown under the field it concerns when it still disagrees. The ID number cannot be changed after adding.
 * Each row of the form (.row-name, .row-id, .row-phone) holds its input and its own error.
 * 实名认证: saving a new person checks the name and ID number; a person saved but not verified (认证失败, or 未认证
 * while the service was unavailable) is told so. Editing shows the state, with 重新认证 unless verified; a
 * renamed person is unverified again.
 */
const api = require('../../utils/api')
const validate = require('../../utils/validate')
const page = require('../../behaviors/page')

const RELATIONSHIPS = [
  { value: 'self', label: '本人' },
  { value: 'parent', label: '父母' },
  { value: 'child', label: '子女' },
  { value: 'spouse', label: '配偶' },
  { value: 'other', label: '其他' },
]

const CODE_FIELDS = { INVALID_ID_NUMBER: 'idNumber', VISIT_PERSON_EXISTS: 'idNumber', INVALID_PHONE: 'phone' }
const BODY_FIELDS = { name: 'name', id_number: 'idNumber', phone: 'phone', relationship: 'relationship' }

/** `{ 'errors.name': msg, ... }` from a 422's detail, or null when none of it names a field of the form. */
function detailErrors(detail) {
  if (!Array.isArray(detail)) return null
  const out = {}
  detail.forEach((d) => {
    const loc = (d && d.loc) || []
    const field = loc[0] === 'body' ? BODY_FIELDS[loc[1]] : null
    if (field && d.msg && !out[`errors.${field}`]) out[`errors.${field}`] = d.msg
  })
  return Object.keys(out).length ? out : null
}

Component({
  behaviors: [page],
  data: {
    editing: false,
    person: null,
    relationships: RELATIONSHIPS,
    form: { name: '', idNumber: '', phone: '', relationship: 'self' },
    errors: {},
    saving: false,
    verifying: false,
  },
  methods: {
    onLoad(query) {
      this.personId = query.id ? Number(query.id) : null
      this.setData({ editing: !!this.personId })
      wx.setNavigationBarTitle({ title: this.personId ? '编辑就诊人' : '添加就诊人' })
      if (this.personId) this.reload()
    },
    onShow() {
      this.syncElder()
    },

    /** There is no GET for one person; it comes from the list. */
    reload() {
      return this.withLoading(async () => {
        const res = await api.patients()
        const person = res.items.find((p) => p.id === this.personId)
        if (!person) throw new Error('该就诊人不存在或已被删除')
        this.setData({ person, form: { name: person.name, idNumber: '', phone: '', relationship: person.relationship } })
      })
    },

    async onVerify() {
      if (this.data.verifying) return
      this.setData({ verifying: true })
      try {
        const person = await api.verifyPatient(this.personId)
        this.setData({ person })
        if (person.realname_status === 'verified') wx.showToast({ title: '认证成功', icon: 'success' })
        else wx.showModal({ title: '认证未通过', content: person.realname_message, showCancel: false })
      } catch (err) {
        api.showError(err, { modal: true, title: '暂时无法认证' })
      } finally {
        this.setData({ verifying: false })
      }
    },

    onField(e) {
      const field = e.currentTarget.dataset.field
      this.setData({ [`form.${field}`]: e.detail.value, [`errors.${field}`]: '' })
    },
    onRelationship(e) {
      this.setData({ 'form.relationship': e.currentTarget.dataset.value })
    },

    check() {
      const { name, idNumber, phone } = this.data.form
      const errors = {}
      const nameError = validate.nameError(name)
      if (nameError) errors.name = nameError
      if (!this.data.editing) {
        const idError = validate.idNumberError(idNumber)
        if (idError) errors.idNumber = idError
      }
      // Editing: an empty phone means "keep the current one".
      if (!this.data.editing || phone.trim()) {
        const phoneError = validate.phoneError(phone)
        if (phoneError) errors.phone = phoneError
      }
      this.setData({ errors })
      return Object.keys(errors).length === 0
    },

    async onSave() {
      if (this.data.saving || !this.check()) return
      const { name, idNumber, phone, relationship } = this.data.form
      this.setData({ saving: true })
      try {
        let saved = null
        if (this.data.editing) {
          const body = {}
          if (validate.normalizeName(name) !== this.data.person.name) body.name = validate.normalizeName(name)
          if (relationship !== this.data.person.relationship) body.relationship = relationship
          if (phone.trim()) body.phone = phone.trim()
          if (Object.keys(body).length) saved = await api.updatePatient(this.personId, body)
        } else {
          saved = await api.createPatient({ name: validate.normalizeName(name), id_number: idNumber.trim().toUpperCase(), phone: phone.trim(), relationship })
        }
        if (saved && saved.realname_status && saved.realname_status !== 'verified') {
          // Saved, but not bookable yet: say why (the list offers 重新认证).
          wx.showModal({ title: `已保存，${saved.realname_label}`, content: saved.realname_message, showCancel: false, complete: () => wx.navigateBack() })
          return
        }
        wx.showToast({ title: '已保存', icon: 'success' })
        wx.navigateBack()
      } catch (err) {
        this.onServerError(err)
      } finally {
        this.setData({ saving: false })
      }
    },

    /**
     * The server's refusal under the field it concerns: a bad or already-added ID number (the account
     * has this person already: VISIT_PERSON_EXISTS), a bad phone, or a 422 whose detail names fields
     * (each message already in Chinese, e.g. 姓名须为2-30个汉字或字母，可含·). Anything else in a modal.
     */
    onServerError(err) {
      const field = CODE_FIELDS[err.code]
      if (field) {
        this.setData({ [`errors.${field}`]: err.message })
        return
      }
      const fieldErrors = err.code === 'VALIDATION_ERROR' ? detailErrors(err.detail) : null
      if (fieldErrors) {
        this.setData(fieldErrors)
        return
      }
      api.showError(err, { modal: true, title: '保存失败' })
    },
  },
})
