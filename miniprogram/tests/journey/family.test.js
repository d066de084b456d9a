/**
 * Families on the real server: one person (a mother) may be a 就诊人 of several WeChat accounts (each
 * child adds her), but one account cannot add her twice; the form says so under the ID number.
 */
const { open, text, all, tap, input } = require('../support/pages')
const { describeLive } = require('../support/live')
const store = require('../../utils/store')
const h = require('./helpers')

describeLive('journey against the real server: one 就诊人 in two accounts', () => {
  const MOTHER = { name: '李秀兰', phone: '13912345678' }

  /** 添加就诊人 through the form: the mother, as 父母. */
  async function addMother(idNumber) {
    const form = open('patient-edit')
    await settle()
    input(form, '.input-name', MOTHER.name)
    input(form, '.input-id', idNumber)
    input(form, '.input-phone', MOTHER.phone)
    const parent = all(form, '.relationship').findIndex((n) => text(n) === '父母')
    expect(parent).toBeGreaterThanOrEqual(0)
    tap(form, '.relationship', parent)
    await settle()
    tap(form, '.save')
    await settle()
    return form
  }

  /** The 就诊人 list page of the phone's current account, as "name relationship" lines. */
  async function listed() {
    const list = open('patients')
    await settle()
    return all(list, '.patient-item').map((n) => text(n))
  }

  test('two accounts add the same mother; the same account adding her again is told 您已添加过该就诊人 under the ID number', async () => {
    const idNumber = h.newIdNumber({ sex: '女' })
    const masked = `${idNumber.slice(0, 3)}***********${idNumber.slice(14)}`

    // The daughter's phone adds her mother.
    await addMother(idNumber)
    const first = phone.calls('POST', '/api/v1/me/patients')
    expect(first.map((r) => r.status)).toEqual([201])
    expect(first[0].data).toMatchObject({ name: MOTHER.name, relationship: 'parent', id_number_masked: masked })
    expect(wx.navigateBack).toHaveBeenCalledTimes(1)
    const daughter = store.getTokens().accountId
    const daughterList = await listed()
    expect(daughterList).toHaveLength(1)
    expect(daughterList[0]).toMatch(new RegExp(`^${MOTHER.name}父母女 \\d+岁 `))
    expect(daughterList[0]).toContain(`身份证 ${masked}`)

    // The son, on his own phone (another WeChat user, another account), adds her too: accepted.
    h.newPhoneUser()
    await addMother(idNumber)
    const second = phone.calls('POST', '/api/v1/me/patients')
    expect(second.map((r) => r.status)).toEqual([201, 201])
    expect(second[1].data).toMatchObject({ name: MOTHER.name, relationship: 'parent', id_number_masked: masked })
    expect(second[1].data.id).not.toBe(first[0].data.id)
    expect(store.getTokens().accountId).not.toBe(daughter)
    expect(wx.navigateBack).toHaveBeenCalledTimes(2)

    // He adds her a second time: refused, and the form says why under the ID number (and stays open).
    const again = await addMother(idNumber)
    const third = phone.calls('POST', '/api/v1/me/patients')[2]
    expect(third).toMatchObject({ status: 409, data: { code: 'VISIT_PERSON_EXISTS', message: '您已添加过该就诊人' } })
    expect(text(again, '.error-id')).toBe('您已添加过该就诊人')
    expect(text(again, '.row-id')).toContain('身份证号') // the error is inside the ID number's own row
    expect(text(again, '.row-id')).toContain('您已添加过该就诊人')
    expect(text(again, '.error-name')).toBe('')
    expect(text(again, '.error-phone')).toBe('')
    expect(wx.navigateBack).toHaveBeenCalledTimes(2)
    expect(wx.showModal).not.toHaveBeenCalled()

    // Each list has her once.
    const sonList = await listed()
    expect(sonList).toHaveLength(1)
    expect(sonList[0]).toMatch(new RegExp(`^${MOTHER.name}父母女 \\d+岁 `))
    expect(sonList[0]).toContain(`身份证 ${masked}`)
  })
})
