const { open, text, tap, input, exists } = require('../support/pages')
const fx = require('../support/fixtures')
const validate = require('../../utils/validate')

const VALID_ID = '11010519491231002X'
const withCheck = (s) => s + validate.checkDigit(s)

beforeEach(() => loggedIn())

async function fill(comp, { name = '王小明', id = VALID_ID, phone = '13812345678' } = {}) {
  input(comp, '.input-name', name)
  if (id !== null) input(comp, '.input-id', id)
  input(comp, '.input-phone', phone)
  await settle()
}

test('adding: valid input is sent (ID upper-cased) and the page goes back', async () => {
  fake.route('POST /api/v1/me/patients', { status: 201, body: fx.patient({ id: 70 }) })
  const comp = open('patient-edit')
  await settle()
  await fill(comp, { id: VALID_ID.toLowerCase() })
  tap(comp, '.relationship', 1) // 父母
  tap(comp, '.save')
  await settle()
  expect(fake.calls('POST /api/v1/me/patients')[0].body).toEqual({ name: '王小明', id_number: VALID_ID, phone: '13812345678', relationship: 'parent' })
  expect(wx.navigateBack).toHaveBeenCalled()
})

test.each([
  ['a wrong check digit', '110105194912310021', '身份证号校验码不正确'],
  ['an impossible birth date', withCheck('11010519490231002'), '身份证号出生日期无效'],
  ['an unknown province', withCheck('99010519491231002'), '身份证号地区码无效'],
  ['too short', '1101051949', '身份证号应为18位'],
])('an ID number with %s is refused before sending', async (_, id, message) => {
  const comp = open('patient-edit')
  await settle()
  await fill(comp, { id })
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-id')).toBe(message)
  expect(fake.calls('POST /api/v1/me/patients')).toHaveLength(0)
})

test('phone and name are checked too, and an error clears when the field is edited', async () => {
  const comp = open('patient-edit')
  await settle()
  await fill(comp, { name: '王', phone: '1234' })
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-name')).toBe('姓名应为2-30个字')
  expect(text(comp, '.error-phone')).toBe('请输入正确的11位手机号')
  input(comp, '.input-phone', '13912345678')
  await settle()
  expect(exists(comp, '.error-phone')).toBe(false)
})

test("the server's own refusal appears under the field", async () => {
  fake.route('POST /api/v1/me/patients', fx.error(409, 'ID_NUMBER_TAKEN', '该身份证号已添加为就诊人'))
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-id')).toBe('该身份证号已添加为就诊人')
  expect(wx.navigateBack).not.toHaveBeenCalled()
})

test('other refusals in a modal (e.g. too many people)', async () => {
  fake.route('POST /api/v1/me/patients', fx.error(409, 'TOO_MANY_VISIT_PERSONS', '最多添加5位就诊人'))
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '最多添加5位就诊人' }))
})

test('editing: the ID is fixed, only changed fields are sent, an empty phone keeps the old one', async () => {
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient()], total: 1 } })
  fake.route('PATCH /api/v1/me/patients/:id', { body: fx.patient({ name: '李四四' }) })
  const comp = open('patient-edit', { id: '50' })
  await settle()
  expect(text(comp, '.id-masked')).toBe('110***********1234（不可修改）')
  expect(exists(comp, '.input-id')).toBe(false)
  input(comp, '.input-name', '李四四')
  await settle()
  tap(comp, '.save')
  await settle()
  expect(fake.calls('PATCH /api/v1/me/patients/50')[0].body).toEqual({ name: '李四四' })
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('editing someone who is gone shows an error with a way out', async () => {
  fake.route('GET /api/v1/me/patients', { body: { items: [], total: 0 } })
  const comp = open('patient-edit', { id: '50' })
  await settle()
  expect(text(comp, '.state-error')).toContain('该就诊人不存在或已被删除')
  expect(exists(comp, '.state-home')).toBe(true)
})
