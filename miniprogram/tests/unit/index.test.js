const { open, text, all, tap, input, exists } = require('../support/pages')

const HOSPITALS = [
  { id: 1, name: '北京协和医院', level: '三级甲等', city: '北京', district: '东城区', address: '帅府园1号', phone: '010-1' },
  { id: 2, name: '杭州市第一人民医院', level: '三级甲等', city: '杭州', district: '上城区', address: '浣纱路261号', phone: '0571-1' },
]

function page(items, total = items.length) {
  return { body: { items, total, page: 1, page_size: 20 } }
}

beforeEach(() => {
  loggedIn()
})

test('lists hospitals with level and address', async () => {
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  const comp = open('index')
  await settle()
  const names = all(comp, '.hospital-name').map((n) => n.dom.textContent.trim())
  expect(names).toEqual(['北京协和医院', '杭州市第一人民医院'])
  expect(text(comp, '.hospital-item')).toContain('东城区')
  expect(text(comp, '.list-end')).toBe('没有更多了')
})

test('search sends q and filters send city and level', async () => {
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  const comp = open('index')
  await settle()
  input(comp, '.search-input', 'bjxh')
  await settle()
  tap(comp, '.search-btn')
  await settle()
  expect(fake.calls('GET /api/v1/hospitals').pop().query).toMatchObject({ q: 'bjxh', page: '1' })

  tap(comp, '.city-chip', 0) // 北京
  await settle()
  tap(comp, '.level-chip', 0) // 三级甲等
  await settle()
  const last = fake.calls('GET /api/v1/hospitals').pop().query
  expect(last).toMatchObject({ q: 'bjxh', city: '北京', level: '三级甲等' })
  expect(comp.querySelector('.city-chip.active').dom.textContent).toBe('北京')

  tap(comp, '.city-chip', 0) // tapping the active city clears it
  await settle()
  expect(fake.calls('GET /api/v1/hospitals').pop().query.city).toBeUndefined()
})

test('empty result says so', async () => {
  fake.route('GET /api/v1/hospitals', page([]))
  const comp = open('index')
  await settle()
  expect(text(comp, '.state-empty')).toContain('没有找到符合条件的医院')
})

test('a network failure is shown as such, and retry reloads', async () => {
  fake.route('GET /api/v1/hospitals', 'network')
  const comp = open('index')
  await settle()
  expect(text(comp, '.state-error')).toContain('网络连接失败')
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  tap(comp, '.state-retry')
  await settle()
  expect(exists(comp, '.state-error')).toBe(false)
  expect(all(comp, '.hospital-item')).toHaveLength(2)
})

test('pull-to-refresh reloads and stops the spinner', async () => {
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  const comp = open('index')
  await settle()
  comp.instance.onPullDownRefresh()
  await settle()
  expect(fake.calls('GET /api/v1/hospitals')).toHaveLength(2)
  expect(wx.stopPullDownRefresh).toHaveBeenCalled()
})

test('reaching the bottom loads the next page', async () => {
  fake.route('GET /api/v1/hospitals', (req) =>
    page(req.query.page === '2' ? [HOSPITALS[1]] : [HOSPITALS[0]], 2)
  )
  const comp = open('index')
  await settle()
  expect(text(comp, '.list-end')).toBe('上拉加载更多')
  comp.instance.onReachBottom()
  await settle()
  expect(all(comp, '.hospital-item')).toHaveLength(2)
  comp.instance.onReachBottom() // nothing more to load
  await settle()
  expect(fake.calls('GET /api/v1/hospitals')).toHaveLength(2)
})

test('tapping a hospital opens its page', async () => {
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  const comp = open('index')
  await settle()
  tap(comp, '.hospital-item', 1)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/hospital/hospital?id=2' }))
})

test('cities from results are added to the filter', async () => {
  fake.route('GET /api/v1/hospitals', page([{ ...HOSPITALS[0], city: '苏州' }]))
  const comp = open('index')
  await settle()
  expect(all(comp, '.city-chip').map((n) => n.dom.textContent)).toContain('苏州')
})
