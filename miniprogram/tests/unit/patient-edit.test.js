const { open, text, tap, input, exists, one, all } = require('../support/pages')
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
  expect(text(comp, '.error-name')).toBe('姓名须为2-30个汉字或字母，可含·')
  expect(text(comp, '.error-phone')).toBe('请输入正确的11位手机号')
  input(comp, '.input-phone', '13912345678')
  await settle()
  expect(exists(comp, '.error-phone')).toBe(false)
})

test('an ID number this account already has (VISIT_PERSON_EXISTS) is shown under the ID number', async () => {
  fake.route('POST /api/v1/me/patients', fx.error(409, 'VISIT_PERSON_EXISTS', '您已添加过该就诊人'))
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-id')).toBe('您已添加过该就诊人')
  expect(one(comp, '.row-id').dom.contains(one(comp, '.error-id').dom)).toBe(true)
  expect(wx.showModal).not.toHaveBeenCalled()
  expect(wx.navigateBack).not.toHaveBeenCalled()
})

test("the server's own refusal of a field appears under that field", async () => {
  fake.route('POST /api/v1/me/patients', fx.error(422, 'INVALID_PHONE', '手机号码无效，请输入11位大陆手机号'))
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-phone')).toBe('手机号码无效，请输入11位大陆手机号')
  expect(one(comp, '.row-phone').dom.contains(one(comp, '.error-phone').dom)).toBe(true)
})

test("a 422 whose detail names fields puts each Chinese message under its field", async () => {
  const detail = [
    { loc: ['body', 'name'], type: 'person_name', msg: '姓名须为2-30个汉字或字母，可含·' },
    { loc: ['body', 'id_number'], type: 'string_too_long', msg: '身份证号：不能超过32个字符' },
  ]
  fake.route('POST /api/v1/me/patients', { status: 422, body: { code: 'VALIDATION_ERROR', message: detail[0].msg, detail } })
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(text(comp, '.error-name')).toBe('姓名须为2-30个汉字或字母，可含·')
  expect(text(comp, '.error-id')).toBe('身份证号：不能超过32个字符')
  expect(wx.showModal).not.toHaveBeenCalled()
})

test('a 422 naming no field of the form is shown in a modal', async () => {
  const detail = [{ loc: ['body'], type: 'missing', msg: '请求体：不能为空' }]
  fake.route('POST /api/v1/me/patients', { status: 422, body: { code: 'VALIDATION_ERROR', message: '请求体：不能为空', detail } })
  const comp = open('patient-edit')
  await settle()
  await fill(comp)
  tap(comp, '.save')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '请求体：不能为空' }))
})

// The defect: errors sat outside their row, under its border, beside the next row's label, so a bad
// ID number read as a phone error. Each error now lives in its own field's row, right after its input.
test.each([
  ['name', { name: '张3' }, '.row-name', '.input-name', '.error-name'],
  ['ID number', { id: '110105194912310021' }, '.row-id', '.input-id', '.error-id'],
  ['phone', { phone: '1234' }, '.row-phone', '.input-phone', '.error-phone'],
])('a %s error sits in its own row, right under its input', async (_, bad, row, field, error) => {
  const comp = open('patient-edit')
  await settle()
  await fill(comp, bad)
  tap(comp, '.save')
  await settle()
  const rowNode = one(comp, row).dom
  const errorNode = one(comp, error).dom
  expect(rowNode.contains(errorNode)).toBe(true)
  expect(rowNode.contains(one(comp, field).dom)).toBe(true)
  // after its input in the same row ...
  expect(one(comp, field).dom.compareDocumentPosition(errorNode) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy()
  // ... and in no other row
  for (const other of ['.row-name', '.row-id', '.row-phone', '.row-relationship'].filter((r) => r !== row)) {
    expect(one(comp, other).dom.contains(errorNode)).toBe(false)
  }
  expect(all(comp, '.field-error')).toHaveLength(1)
})

test('a name is sent as the server stores it (look-alike dots become ·)', async () => {
  fake.route('POST /api/v1/me/patients', { status: 201, body: fx.patient({ id: 71 }) })
  const comp = open('patient-edit')
  await settle()
  await fill(comp, { name: '阿依古丽.买买提' })
  tap(comp, '.save')
  await settle()
  expect(fake.calls('POST /api/v1/me/patients')[0].body.name).toBe('阿依古丽·买买提')
})

test.each([['张三'], ['阿依古丽·买买提'], ['John Smith'], ['欧阳娜娜']])('the name %s is accepted before sending', async (name) => {
  fake.route('POST /api/v1/me/patients', { status: 201, body: fx.patient({ id: 72 }) })
  const comp = open('patient-edit')
  await settle()
  await fill(comp, { name })
  tap(comp, '.save')
  await settle()
  expect(exists(comp, '.error-name')).toBe(false)
  expect(fake.calls('POST /api/v1/me/patients')).toHaveLength(1)
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

describe('实名认证', () => {
  test('a person saved but not verified is told why before going back', async () => {
    const failed = fx.patient({ id: 71, realname_status: 'failed', realname_label: '认证失败',
      realname_message: '实名认证未通过：姓名与身份证号不一致，请核对后修改并重新认证' })
    fake.route('POST /api/v1/me/patients', { status: 201, body: failed })
    const comp = open('patient-edit')
    await settle()
    await fill(comp)
    tap(comp, '.save')
    await settle()
    expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '已保存，认证失败', content: failed.realname_message })
  })

  test('editing shows the state; an unverified person can be verified from here', async () => {
    const unverified = fx.patient({ id: 50, realname_status: 'unverified', realname_label: '未认证', realname_message: '尚未通过实名认证' })
    fake.route('GET /api/v1/me/patients', { body: { items: [unverified], total: 1 } })
    fake.route('POST /api/v1/me/patients/:id/verify', { body: fx.patient({ id: 50 }) })
    const comp = open('patient-edit', { id: '50' })
    await settle()
    expect(text(comp, '.realname')).toBe('未认证')
    tap(comp, '.verify-patient')
    await settle()
    expect(fake.calls('POST /api/v1/me/patients/50/verify')).toHaveLength(1)
    expect(text(comp, '.realname')).toBe('已认证')
    expect(exists(comp, '.verify-patient')).toBe(false)
  })

  test('a verified person offers no 重新认证', async () => {
    fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient({ id: 50 })], total: 1 } })
    const comp = open('patient-edit', { id: '50' })
    await settle()
    expect(text(comp, '.realname')).toBe('已认证')
    expect(exists(comp, '.verify-patient')).toBe(false)
  })
})
