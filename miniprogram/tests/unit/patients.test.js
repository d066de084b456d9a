const { open, text, all, tap } = require('../support/pages')
const fx = require('../support/fixtures')

const PEOPLE = [fx.patient(), fx.patient({ id: 51, name: '李父', relationship: 'parent', relationship_label: '父母', sex: '男', age: 66 })]

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/config', { body: fx.CONFIG })
  fake.route('GET /api/v1/me/patients', { body: { items: PEOPLE, total: 2 } })
})

test('lists people with masked ID and phone', async () => {
  const comp = open('patients')
  await settle()
  const items = all(comp, '.patient-item')
  expect(items).toHaveLength(2)
  expect(text(items[1]).replace(/ /g, '')).toContain('李父父母男66岁')
  expect(text(items[0])).toContain('身份证 110***********1234')
  expect(text(items[0])).toContain('手机号 138****5678')
  expect(text(comp, '.add-patient')).toBe('添加就诊人（2/5）')
})

test('add and edit lead to the form', async () => {
  const comp = open('patients')
  await settle()
  tap(comp, '.add-patient')
  tap(comp, '.edit-patient', 1)
  await settle()
  expect(wx.navigateTo.mock.calls.map((c) => c[0].url)).toEqual(['/pages/patient-edit/patient-edit', '/pages/patient-edit/patient-edit?id=51'])
})

test('at the limit, adding explains the limit', async () => {
  fake.route('GET /api/v1/config', { body: Object.assign({}, fx.CONFIG, { max_visit_persons: 2 }) })
  const comp = open('patients')
  await settle()
  tap(comp, '.add-patient')
  await settle()
  expect(wx.navigateTo).not.toHaveBeenCalled()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '最多添加2位就诊人' }))
})

test('delete asks first, then removes', async () => {
  fake.route('DELETE /api/v1/me/patients/:id', { status: 204 })
  const comp = open('patients')
  await settle()
  tap(comp, '.delete-patient', 1)
  await settle()
  expect(wx.showModal.mock.calls[0][0].content).toBe('确定删除就诊人“李父”吗？')
  expect(fake.calls('DELETE /api/v1/me/patients/51')).toHaveLength(1)
  expect(all(comp, '.patient-item')).toHaveLength(1)
})

test('a person with appointments cannot be deleted: the server says why', async () => {
  fake.route('DELETE /api/v1/me/patients/:id', fx.error(409, 'VISIT_PERSON_HAS_APPOINTMENTS', '该就诊人有未完成的预约，不能删除'))
  const comp = open('patients')
  await settle()
  tap(comp, '.delete-patient', 0)
  await settle()
  expect(wx.showModal.mock.calls[1][0]).toMatchObject({ title: '无法删除', content: '该就诊人有未完成的预约，不能删除' })
  expect(all(comp, '.patient-item')).toHaveLength(2)
})

test('nobody yet: an empty state that invites adding', async () => {
  fake.route('GET /api/v1/me/patients', { body: { items: [], total: 0 } })
  const comp = open('patients')
  await settle()
  expect(text(comp, '.state-empty')).toContain('还没有就诊人')
  expect(text(comp, '.add-patient')).toBe('添加就诊人（0/5）')
})

describe('实名认证', () => {
  const FAILED = fx.patient({ id: 52, name: '王五假', realname_status: 'failed', realname_label: '认证失败',
    realname_message: '实名认证未通过：姓名与身份证号不一致，请核对后修改并重新认证' })
  const UNVERIFIED = fx.patient({ id: 53, name: '赵六', realname_status: 'unverified', realname_label: '未认证',
    realname_message: '尚未通过实名认证（认证服务暂不可用或姓名已修改），请重新认证后再预约' })

  beforeEach(() => {
    fake.route('GET /api/v1/me/patients', { body: { items: [PEOPLE[0], FAILED, UNVERIFIED], total: 3 } })
  })

  test('each person shows the state, and only the unverified ones offer 重新认证', async () => {
    const comp = open('patients')
    await settle()
    expect(all(comp, '.realname').map((t) => text(t))).toEqual(['已认证', '认证失败', '未认证'])
    expect(all(comp, '.verify-patient')).toHaveLength(2)
    const items = all(comp, '.patient-item')
    expect(text(items[0])).not.toContain('重新认证')
    expect(text(items[1])).toContain('姓名与身份证号不一致')
  })

  test('重新认证 asks the server and shows the new state', async () => {
    fake.route('POST /api/v1/me/patients/:id/verify', { body: fx.patient({ id: 53, name: '赵六' }) })
    const comp = open('patients')
    await settle()
    tap(comp, '.verify-patient', 1)
    await settle()
    expect(fake.calls('POST /api/v1/me/patients/53/verify')).toHaveLength(1)
    expect(all(comp, '.realname').map((t) => text(t))).toEqual(['已认证', '认证失败', '已认证'])
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '认证成功' }))
  })

  test('a check that fails again says why', async () => {
    fake.route('POST /api/v1/me/patients/:id/verify', { body: FAILED })
    const comp = open('patients')
    await settle()
    tap(comp, '.verify-patient', 0)
    await settle()
    expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '认证未通过', content: FAILED.realname_message })
  })

  test('the service being unavailable is explained and the person stays 未认证', async () => {
    fake.route('POST /api/v1/me/patients/:id/verify', fx.error(503, 'REALNAME_UNAVAILABLE', '实名认证服务暂不可用，请稍后重新认证'))
    const comp = open('patients')
    await settle()
    tap(comp, '.verify-patient', 1)
    await settle()
    expect(wx.showModal.mock.calls[0][0]).toMatchObject({ title: '暂时无法认证', content: '实名认证服务暂不可用，请稍后重新认证' })
    expect(all(comp, '.realname').map((t) => text(t))).toEqual(['已认证', '认证失败', '未认证'])
  })
})
