const { open, text, all, tap, input, exists, waitFor } = require('../support/pages')

const HOSPITALS = [
  { id: 1, name: '北京协和医院', level: '三级甲等', city: '北京', district: '东城区', address: '帅府园1号', phone: '010-1' },
  { id: 2, name: '杭州市第一人民医院', level: '三级甲等', city: '杭州', district: '上城区', address: '浣纱路261号', phone: '0571-1' },
]

function page(items, total = items.length) {
  return { body: { items, total, page: 1, page_size: 20 } }
}

/** Requests for the list itself (page_size 20), not the city chips' (page_size 100). */
function listCalls() {
  return fake.calls('GET /api/v1/hospitals').filter((r) => r.query.page_size === '20')
}

beforeEach(() => {
  loggedIn()
  // Not the first launch (that one offers 长辈模式: tested below).
  fake.storage.set('yiyue.elderModeAsked', true)
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
  expect(listCalls()).toHaveLength(2)
  expect(wx.stopPullDownRefresh).toHaveBeenCalled()
})

test('reaching the bottom loads the next page', async () => {
  fake.route('GET /api/v1/hospitals', (req) =>
    req.query.page_size === '20' ? page(req.query.page === '2' ? [HOSPITALS[1]] : [HOSPITALS[0]], 2) : page(HOSPITALS)
  )
  const comp = open('index')
  await settle()
  expect(text(comp, '.list-end')).toBe('上拉加载更多')
  comp.instance.onReachBottom()
  await settle()
  expect(all(comp, '.hospital-item')).toHaveLength(2)
  comp.instance.onReachBottom() // nothing more to load
  await settle()
  expect(listCalls()).toHaveLength(2)
})

test('tapping a hospital opens its page', async () => {
  fake.route('GET /api/v1/hospitals', page(HOSPITALS))
  const comp = open('index')
  await settle()
  tap(comp, '.hospital-item', 1)
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/hospital/hospital?id=2' }))
})

describe('city chips: only cities that have hospitals', () => {
  test('from the server list of cities with hospitals, most hospitals first; none made up', async () => {
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    fake.route('GET /api/v1/cities', { body: { items: [{ city: '杭州', hospitals: 3 }, { city: '北京', hospitals: 2 }, { city: '苏州', hospitals: 1 }] } })
    const comp = open('index')
    await settle()
    expect(fake.calls('GET /api/v1/cities')).toHaveLength(1)
    expect(all(comp, '.city-chip').map((n) => n.dom.textContent)).toEqual(['杭州', '北京', '苏州'])
    expect(text(comp, '.filter-city')).not.toMatch(/上海|广州|深圳|成都/)
  })

  test('the city list failing leaves 全部城市 and the cities of the results', async () => {
    fake.route('GET /api/v1/hospitals', page([{ ...HOSPITALS[0], city: '苏州' }]))
    fake.route('GET /api/v1/cities', 'network')
    const comp = open('index')
    await settle()
    expect(all(comp, '.city-chip').map((n) => n.dom.textContent)).toEqual(['苏州'])
    expect(text(comp, '.filter-city')).toContain('全部城市')
    expect(exists(comp, '.state-error')).toBe(false)
  })
})

describe('grouped search as you type (GET /api/v1/search)', () => {
  const RESULTS = {
    query: 'zzh',
    hospitals: [{ id: 3, name: '浙江省中医院', level: '三级甲等', city: '杭州', district: '上城区', address: '邮电路54号', match: 'initials' }],
    departments: [{ id: 31, name: '中医内科', parent_name: '内科', hospital: { id: 3, name: '浙江省中医院' }, match: 'department' }],
    doctors: [{ id: 70, name: '周振华', title: '主任医师', specialty: '冠心病', department: { id: 11, name: '心内科' }, hospital: { id: 1, name: '北京协和医院' }, match: 'initials' }],
  }

  async function typed(q, results = RESULTS) {
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    fake.route('GET /api/v1/search', { body: results })
    const comp = open('index')
    await settle()
    input(comp, '.search-input', q)
    await waitFor(() => fake.calls('GET /api/v1/search').length > 0, { what: 'the search request' })
    await settle()
    return comp
  }

  test('typing shows 医院 / 科室 / 医生 groups, asked once after the last keystroke', async () => {
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    fake.route('GET /api/v1/search', { body: RESULTS })
    const comp = open('index')
    await settle()
    input(comp, '.search-input', 'z')
    input(comp, '.search-input', 'zz')
    input(comp, '.search-input', 'zzh')
    await waitFor(() => fake.calls('GET /api/v1/search').length > 0, { what: 'the search request' })
    await settle()
    const calls = fake.calls('GET /api/v1/search')
    expect(calls).toHaveLength(1)
    expect(calls[0].query).toEqual({ q: 'zzh', limit: '5' })
    expect(calls[0].header.Authorization).toBeUndefined() // no login needed
    expect(all(comp, '.search-group-title').map((n) => text(n))).toEqual(['医院', '科室', '医生'])
    expect(text(comp, '.search-hospital')).toBe('浙江省中医院 三级甲等 · 杭州 · 上城区')
    expect(text(comp, '.search-department')).toBe('中医内科 内科 · 浙江省中医院')
    expect(text(comp, '.search-doctor')).toBe('周振华主任医师 北京协和医院 · 心内科 擅长：冠心病')
    // The list below is untouched until 搜索.
    expect(fake.calls('GET /api/v1/hospitals').filter((r) => r.query.q)).toHaveLength(0)
  })

  test.each([
    ['.search-hospital', '/pages/hospital/hospital?id=3'],
    ['.search-department', '/pages/department/department?id=31&hospitalId=3'],
    ['.search-doctor', '/pages/doctor/doctor?id=70'],
  ])('tapping %s opens %s', async (selector, url) => {
    const comp = await typed('zzh')
    tap(comp, selector)
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url }))
    expect(exists(comp, '.search-results')).toBe(false)
  })

  test('the chosen city goes along; an empty group is left out; nothing found says so', async () => {
    const comp = await typed('zzh', { query: 'zzh', hospitals: [], departments: [], doctors: RESULTS.doctors })
    expect(all(comp, '.search-group-title').map((n) => text(n))).toEqual(['医生'])
    tap(comp, '.city-chip', 0)
    await settle()
    fake.route('GET /api/v1/search', { body: { query: 'qqq', hospitals: [], departments: [], doctors: [] } })
    input(comp, '.search-input', 'qqq')
    await waitFor(() => fake.calls('GET /api/v1/search').length > 1, { what: 'the second search' })
    await settle()
    expect(fake.calls('GET /api/v1/search')[1].query).toMatchObject({ q: 'qqq', city: '北京' })
    expect(text(comp, '.search-empty')).toContain('没有找到相关的医院、科室或医生')
  })

  test('搜索 still filters the list by name, and closes the suggestions', async () => {
    const comp = await typed('bjxh')
    tap(comp, '.search-btn')
    await settle()
    expect(exists(comp, '.search-results')).toBe(false)
    expect(listCalls().pop().query).toMatchObject({ q: 'bjxh', page: '1' })
  })

  test('a server without /search: no suggestions, no error, asked no more; the list filter works', async () => {
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    const comp = open('index')
    await settle()
    input(comp, '.search-input', 'bj')
    await waitFor(() => fake.calls('GET /api/v1/search').length > 0, { what: 'the search request' })
    await settle()
    expect(exists(comp, '.search-results')).toBe(false)
    expect(wx.showToast).not.toHaveBeenCalled()
    input(comp, '.search-input', 'bjx')
    await new Promise((r) => setTimeout(r, 400))
    await settle()
    expect(fake.calls('GET /api/v1/search')).toHaveLength(1)
    tap(comp, '.search-btn')
    await settle()
    expect(listCalls().pop().query).toMatchObject({ q: 'bjx' })
  })

  test('clearing the box closes the suggestions', async () => {
    const comp = await typed('zzh')
    input(comp, '.search-input', '')
    await settle()
    expect(exists(comp, '.search-results')).toBe(false)
  })
})

describe('长辈模式 on the home page', () => {
  const store = require('../../utils/store')
  const rootClass = (comp) => comp.dom.firstElementChild.className

  test('the first launch offers it once; 开启 turns it on', async () => {
    fake.storage.delete('yiyue.elderModeAsked')
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    const comp = open('index')
    await settle()
    expect(text(comp, '.elder-prompt')).toContain('要开启长辈模式吗？')
    expect(store.elderAsked()).toBe(true)
    tap(comp, '.elder-accept')
    await settle()
    expect(store.isElder()).toBe(true)
    expect(rootClass(comp)).toMatch(/elder/)
    expect(exists(comp, '.elder-prompt')).toBe(false)

    const later = open('index') // the next launch: not offered again
    await settle()
    expect(exists(later, '.elder-prompt')).toBe(false)
  })

  test('暂不 dismisses it for good and leaves the mode off', async () => {
    fake.storage.delete('yiyue.elderModeAsked')
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    const comp = open('index')
    await settle()
    tap(comp, '.elder-decline')
    await settle()
    expect(exists(comp, '.elder-prompt')).toBe(false)
    expect(store.isElder()).toBe(false)
    comp.instance.onShow()
    await settle()
    expect(exists(comp, '.elder-prompt')).toBe(false)
  })

  test('the entry beside the search box switches it both ways', async () => {
    fake.route('GET /api/v1/hospitals', page(HOSPITALS))
    const comp = open('index')
    await settle()
    expect(exists(comp, '.elder-prompt')).toBe(false)
    expect(text(comp, '.elder-entry')).toBe('长辈模式')
    tap(comp, '.elder-entry')
    await settle()
    expect(store.isElder()).toBe(true)
    expect(text(comp, '.elder-entry')).toBe('标准模式')
    tap(comp, '.elder-entry')
    await settle()
    expect(store.isElder()).toBe(false)
    expect(rootClass(comp)).not.toMatch(/elder/)
  })
})
