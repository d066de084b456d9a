const { open, text, all, tap, input } = require('../support/pages')
const fx = require('../support/fixtures')

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/hospitals/:id/departments', { body: fx.departments() })
})

test('shows the hospital, its booking rules and sets the title', async () => {
  const comp = open('hospital', { id: '1' })
  await settle()
  expect(text(comp, '.hospital-name')).toBe('北京协和医院')
  expect(text(comp, '.hospital-address')).toContain('帅府园1号')
  const rules = text(comp, '.booking-rules')
  expect(rules).toContain('号源提前7天放出，每天08:00更新')
  expect(rules).toContain('就诊前30分钟停止预约')
  expect(rules).toContain('最晚于就诊前2小时取消预约，之后不可取消')
  expect(rules).not.toContain('以前可取消')
  expect(rules).toContain('最多同时持有5个未就诊预约')
  expect(rules).toContain('挂号费到院就诊时支付')
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith(expect.objectContaining({ title: '北京协和医院' }))
})

test('departments are two levels: pick a 大科室, then a 科室', async () => {
  const comp = open('hospital', { id: '1' })
  await settle()
  expect(all(comp, '.dept-group').map((n) => n.dom.textContent)).toEqual(['内科', '外科'])
  expect(all(comp, '.dept-child').map((n) => text(n))).toEqual(['心内科 门诊楼2层A区', '消化内科 门诊楼2层B区'])
  tap(comp, '.dept-group', 1)
  await settle()
  expect(all(comp, '.dept-child').map((n) => text(n))).toEqual(['骨科 门诊楼3层'])
  tap(comp, '.dept-child', 0)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/department/department?id=21&hospitalId=1' }))
})

test('department search asks the server and says when nothing matches', async () => {
  const comp = open('hospital', { id: '1' })
  await settle()
  fake.route('GET /api/v1/hospitals/:id/departments', { body: { items: [], total: 0 } })
  input(comp, '.dept-search', 'xnk')
  tap(comp, '.dept-search-btn')
  await settle()
  expect(fake.calls('GET /api/v1/hospitals/1/departments').pop().query.q).toBe('xnk')
  expect(text(comp, '.state-empty')).toContain('没有找到该科室')
})

test("an unknown hospital shows the server's message and a retry", async () => {
  fake.route('GET /api/v1/hospitals/:id', fx.error(404, 'HOSPITAL_NOT_FOUND', '医院不存在'))
  const comp = open('hospital', { id: '99' })
  await settle()
  expect(text(comp, '.state-error')).toContain('医院不存在')
  tap(comp, '.state-home')
  await settle()
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/index/index' }))
})

test('a department list failure does not hide the hospital', async () => {
  fake.route('GET /api/v1/hospitals/:id/departments', 'network')
  const comp = open('hospital', { id: '1' })
  await settle()
  expect(text(comp, '.hospital-name')).toBe('北京协和医院')
  expect(text(comp, '.state-error')).toContain('网络连接失败')
})

test('tapping the phone number calls the hospital', async () => {
  const comp = open('hospital', { id: '1' })
  await settle()
  tap(comp, '.hospital-phone')
  await settle()
  expect(wx.makePhoneCall).toHaveBeenCalledWith({ phoneNumber: '010-69156114' })
})
