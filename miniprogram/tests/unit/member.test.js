const { open, text, all, exists, tap, one } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')
const memberUtil = require('../../utils/member')

beforeEach(() => loggedIn())

function ledger(n, from = 0) {
  return Array.from({ length: n }, (_, i) =>
    fx.ledgerEntry({ id: 1000 - from - i, delta: i % 5 === 4 ? -20 : 50, balance_after: 520 - i, kind_label: i % 5 === 4 ? '积分过期' : '就诊' })
  )
}

async function openMember(m = fx.member(), entries = ledger(3), total = entries.length) {
  fake.route('GET /api/v1/members/me', { body: m })
  fake.route('GET /api/v1/members/me/ledger', (req) => {
    const offset = Number(req.query.offset)
    return { body: { items: entries.slice(offset, offset + Number(req.query.limit)), total } }
  })
  const comp = open('member')
  await settle()
  return comp
}

test('the level card: level, balance, points of 12 months and the way to the next level', async () => {
  const comp = await openMember()
  expect(text(comp, '.level-name')).toBe('银卡会员')
  expect(text(comp, '.points-balance')).toBe('520')
  expect(text(comp, '.level-points-12m')).toBe('近12个月获得 600 积分')
  expect(text(comp, '.level-progress')).toBe('再获得 400 积分升级为金卡会员')
  // 600 of the 300..1000 span: 300 of 700 done.
  expect(comp.instance.data.progress.percent).toBe(42)
  expect(one(comp, '.level-card').dom.className).toMatch(/level-silver/)
})

test('the privileges of the current level, every level with its own, and the rules', async () => {
  const comp = await openMember()
  expect(text(comp, '.my-privileges')).toBe('银卡会员权益 ✔ 候补时优先于普通会员')
  const levels = all(comp, '.level-row')
  expect(all(comp, '.level-row-name').map((n) => text(n))).toEqual(['普通会员', '银卡会员', '金卡会员', '钻石会员'])
  expect(levels.map((n) => /current/.test(n.dom.className))).toEqual([false, true, false, false])
  expect(text(levels[1])).toContain('当前等级')
  expect(text(levels[2])).toContain('近12个月获得 1000 积分')
  expect(text(levels[2])).toContain('· 挂号费95折')
  expect(text(levels[0])).toContain('注册即享')
  expect(all(comp, '.earning-rule').map((n) => text(n))).toEqual(['· 完成一次就诊 +50 积分', '· 评价一次就诊 +10 积分', '· 首次预约 +100 积分'])
  expect(text(comp, '.expiry-rule')).toBe('· 积分自获得之日起 12 个月后过期')
})

test('the top level has nothing left to reach; a regular member has no privileges of its own yet', async () => {
  let comp = await openMember(fx.member({ level: { code: 'diamond', name: '钻石会员' }, points_12m: 3500, next_level: null }))
  expect(text(comp, '.level-progress')).toBe('您已是钻石会员，享有全部会员权益')
  expect(comp.instance.data.progress.percent).toBe(100)
  comp = await openMember(fx.member({ level: { code: 'regular', name: '普通会员' }, points_12m: 0, points_balance: 0, next_level: { code: 'silver', name: '银卡会员', min_points: 300, points_needed: 300 }, privileges: Object.assign(fx.member().privileges, { descriptions: [] }) }))
  expect(text(comp, '.level-progress')).toBe('再获得 300 积分升级为银卡会员')
  expect(text(comp, '.no-privileges')).toBe('当前等级暂无专属权益，累积积分即可升级')
})

test('the ledger: what, when, the points with their sign, the balance after, when earned points expire', async () => {
  const comp = await openMember(fx.member(), [
    fx.ledgerEntry({ id: 2, delta: -20, balance_after: 500, kind: 'expire', kind_label: '积分过期', note: '', expires_at: null }),
    fx.ledgerEntry(),
  ])
  const rows = all(comp, '.ledger-item')
  expect(rows).toHaveLength(2)
  expect(text(one(comp, '.ledger-delta', 0))).toBe('-20')
  expect(one(comp, '.ledger-delta', 0).dom.className).toMatch(/danger/)
  expect(text(one(comp, '.ledger-time', 0))).toBe(format.dateTime(fx.at(fx.TODAY, '09:00')))
  expect(text(rows[1])).toBe(`就诊 北京协和医院 心内科 ${format.dateTime(fx.at(fx.TODAY, '09:00'))} · ${format.addDays(fx.TODAY, 365)} 到期 +50 余 520`)
  expect(one(comp, '.ledger-delta', 1).dom.className).toMatch(/ok/)
  expect(text(comp, '.ledger-end')).toBe('没有更多了')
})

test('the ledger pages on reaching the bottom, with offset and limit, until all are loaded', async () => {
  const entries = ledger(45)
  const comp = await openMember(fx.member(), entries, 45)
  expect(all(comp, '.ledger-item')).toHaveLength(20)
  expect(text(comp, '.ledger-total')).toBe('共 45 条')
  comp.instance.onReachBottom()
  await settle()
  comp.instance.onReachBottom()
  await settle()
  comp.instance.onReachBottom()
  await settle()
  expect(all(comp, '.ledger-item')).toHaveLength(45)
  expect(fake.calls('GET /api/v1/members/me/ledger').map((r) => r.query)).toEqual([
    { offset: '0', limit: '20' },
    { offset: '20', limit: '20' },
    { offset: '40', limit: '20' },
  ])
})

test('no points yet: the ledger says how to earn some', async () => {
  const comp = await openMember(fx.member(), [], 0)
  expect(text(comp, '.state-empty')).toBe('还没有积分记录，完成就诊或评价即可获得积分')
})

test('a failed ledger keeps the card and offers 重试 in the ledger box', async () => {
  fake.route('GET /api/v1/members/me', { body: fx.member() })
  fake.route('GET /api/v1/members/me/ledger', fx.error(500, 'INTERNAL', '服务器开小差了'))
  const comp = open('member')
  await settle()
  expect(text(comp, '.level-name')).toBe('银卡会员')
  expect(text(comp, '.state-error')).toContain('服务器开小差了') // the page's own state has no error: the ledger's
  fake.route('GET /api/v1/members/me/ledger', { body: { items: [fx.ledgerEntry()], total: 1 } })
  tap(comp, '.state-retry')
  await settle()
  expect(all(comp, '.ledger-item')).toHaveLength(1)
})

test('a failed load says so in the server’s words', async () => {
  fake.route('GET /api/v1/members/me', 'network')
  const comp = open('member')
  await settle()
  expect(text(comp, '.state-error')).toContain('网络连接失败，请检查网络后重试')
  expect(exists(comp, '.level-card')).toBe(false)
})

test('progress never leaves 0..100 and rounds down', () => {
  const m = fx.member({ points_12m: 200 }) // below its own level's threshold (points expired)
  expect(memberUtil.progress(m).percent).toBe(0)
  expect(memberUtil.progress(fx.member({ points_12m: 999 })).percent).toBe(99)
  expect(memberUtil.deltaText(0)).toBe('0')
})

test('a note that only repeats the kind is not shown twice', () => {
  expect(memberUtil.ledgerView(fx.ledgerEntry({ kind_label: '就诊完成', note: '就诊完成' })).note).toBe('')
  expect(memberUtil.ledgerView(fx.ledgerEntry({ kind_label: '人工调整', note: '补录积分' })).note).toBe('补录积分')
})
