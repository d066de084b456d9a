/**
 * 会员中心 on the real server, as the demo's 金卡 patient (live.DEMO_ACCOUNTS.gold, made so by
 * src/yiyue/demo/members.py): 我的 shows the level beside the name; 会员中心 shows the level card (the
 * balance, the points of 12 months, how far to 钻石), the gold privileges, every level with the current
 * one marked, the rules, and the ledger, newest first, whose balances chain (each line's balance is the
 * one before it plus its points) up to the balance shown on the card; reaching the bottom pages on.
 *
 * Pending (test.todo, saying why) while the server has no /members/me routes or the demo seeds no such
 * patient (live.testWhenDemoHas).
 */
const { open, text, all, tap } = require('../support/pages')
const { describeLive, testWhenDemoHas, demoOpenid } = require('../support/live')
const api = require('../../utils/api')
const h = require('./helpers')

describeLive('journey against the real server: 会员中心', () => {
  testWhenDemoHas('gold', ['member', 'memberLedger'], 'the demo 金卡 patient’s level, points, privileges and ledger', async () => {
    phone.openid = demoOpenid('gold')
    phone.storage.clear()
    api._reset()
    await api.ensureLogin() // silent, as on 首页

    // 我的: the level beside the name; on to 会员中心.
    const profile = open('profile')
    await settle()
    expect(text(profile, '.member-level')).toBe('金卡会员')
    tap(profile, '.menu-member')
    await settle()
    expect(h.lastUrl()).toBe('/pages/member/member')
    const page = await h.follow()

    const me = phone.calls('GET', '/api/v1/members/me').pop().data
    expect(me.level).toMatchObject({ code: 'gold', name: '金卡会员' })
    const gold = me.levels.find((l) => l.code === 'gold')
    expect(me.points_12m).toBeGreaterThanOrEqual(gold.min_points)
    expect(text(page, '.level-name')).toBe('金卡会员')
    expect(text(page, '.points-balance')).toBe(String(me.points_balance))
    expect(text(page, '.level-points-12m')).toBe(`近12个月获得 ${me.points_12m} 积分`)
    expect(me.next_level).toMatchObject({ code: 'diamond', points_needed: me.next_level.min_points - me.points_12m })
    expect(text(page, '.level-progress')).toBe(`再获得 ${me.next_level.points_needed} 积分升级为${me.next_level.name}`)

    // The gold privileges (the server's words), every level, the current one marked; the rules.
    expect(me.privileges).toMatchObject({ early_booking_minutes: 30, can_cancel_late: true, discount_percent: 95 })
    expect(me.privileges.descriptions.length).toBeGreaterThan(0)
    expect(all(page, '.privilege-line').map((n) => text(n))).toEqual(me.privileges.descriptions.map((d) => `✔ ${d}`))
    expect(all(page, '.level-row-name').map((n) => text(n))).toEqual(me.levels.map((l) => l.name))
    expect(all(page, '.level-row').map((n) => /current/.test(n.dom.className))).toEqual(me.levels.map((l) => l.code === 'gold'))
    expect(all(page, '.earning-rule')).toHaveLength(me.earning_rules.length)
    expect(text(page, '.expiry-rule')).toBe(`· ${me.expiry_rule}`)

    // The ledger: newest first, each balance the one before it plus its points, the newest the card's.
    let ledger = phone.calls('GET', '/api/v1/members/me/ledger').pop().data
    expect(ledger.total).toBeGreaterThan(0)
    expect(all(page, '.ledger-item')).toHaveLength(Math.min(ledger.total, 20))
    if (ledger.total > 20) {
      page.instance.onReachBottom()
      await settle()
      ledger = { items: page.instance.data.ledger, total: ledger.total }
      expect(all(page, '.ledger-item')).toHaveLength(Math.min(ledger.total, 40))
    }
    // The same patient may be earning meanwhile (the 评价 journey, when it is also the demo's reviewer):
    // the newest line and the card agree once both are read after it.
    await h.pollUntil(
      async () => {
        if (page.instance.data.ledger[0].balance_after === page.instance.data.member.points_balance) return true
        page.instance.onPullDownRefresh()
        await settle()
        return page.instance.data.ledger[0].balance_after === page.instance.data.member.points_balance
      },
      (same) => same,
      { timeoutMs: 5000, what: 'the newest ledger line to carry the balance on the card' }
    )
    const items = page.instance.data.ledger
    expect(text(page, '.points-balance')).toBe(String(items[0].balance_after))
    for (let i = 0; i + 1 < items.length; i++) expect(items[i].balance_after).toBe(items[i + 1].balance_after + items[i].delta)
    expect(text(all(page, '.ledger-delta')[0])).toBe(items[0].delta > 0 ? `+${items[0].delta}` : String(items[0].delta))
    expect(text(all(page, '.ledger-kind')[0])).toBe(items[0].kind_label)
  }, 30000)
})
