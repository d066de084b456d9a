/**
 * Layout rules read from the WXSS itself (jsdom has no layout engine): the 号源 grid, the v2 button
 * override, the sticky bottom bar, distinct availability states in 长辈模式 and the custom tab bar.
 * The page-to-PNG tool (npm run render) is where these are looked at; this keeps them from regressing.
 */
const fs = require('fs')
const path = require('path')
const { ROOT } = require('../support/pages')
const { rules } = require('../support/wxss')

const app = rules('app.wxss')
const doctor = rules('pages/doctor/doctor.wxss')

test('the 号源 grid is a real 3-column grid (2 in 长辈模式) with gaps, borders inside the width', () => {
  expect(doctor['.slot-grid']).toMatchObject({ display: 'grid', 'grid-template-columns': 'repeat(3, minmax(0, 1fr))' })
  expect(doctor['.slot-grid'].gap).toBeTruthy()
  expect(doctor['.elder .slot-grid']['grid-template-columns']).toBe('repeat(2, minmax(0, 1fr))')
  expect(doctor['.slot']['box-sizing']).toBe('border-box')
  // No percentage widths or margins that add up past 100% with a border.
  Object.keys(doctor).filter((s) => /\.slot\b/.test(s)).forEach((s) => {
    expect(doctor[s].width).toBeUndefined()
    expect(String(doctor[s].margin || '')).not.toMatch(/%/)
  })
})

test("buttons override WeChat's v2 button:not([size=mini]) width of 184px, full width and small", () => {
  // (0,2,1) beats the built-in (0,1,1) whatever the order of the sheets.
  expect(app['button.btn:not([size=mini])']).toMatchObject({ width: '100%', 'margin-left': '0', 'margin-right': '0' })
  expect(app['button.btn-small:not([size=mini])']).toMatchObject({ width: 'auto' })
  expect(app['.btn']).toMatchObject({ 'box-sizing': 'border-box', 'line-height': '1.4' })
  expect(app['.btn'].padding).toBeTruthy()
  expect(app['.btn-small'].padding).toBeTruthy()
  expect(app['button.btn::after']).toMatchObject({ border: 'none' })
})

test('删除 (btn-danger) looks unlike 编辑 (btn-plain), in both modes', () => {
  ;['', '.elder '].forEach((p) => {
    const danger = app[`${p}.btn-danger`]
    const plain = app[`${p}.btn-plain`]
    expect(danger.color).not.toBe(plain.color)
    expect(`${danger.background} ${danger.border}`).not.toBe(`${plain.background} ${plain.border}`)
  })
  expect(app['.btn-danger'].background).not.toBe('#fff')
})

test('the bottom bar is fixed to the bottom above the home indicator, and pages leave room for it', () => {
  expect(app['.bottom-bar']).toMatchObject({ position: 'fixed', bottom: '0', left: '0', right: '0' })
  expect(app['.bottom-bar'].padding).toContain('env(safe-area-inset-bottom)')
  expect(app['.page.has-bottom-bar']['padding-bottom']).toContain('env(safe-area-inset-bottom)')
})

describe('availability states look different from each other, 长辈模式 included', () => {
  const STATES = ['open', 'full', 'none', 'unreleased', 'suspended']
  const look = (prefix, s) => {
    const r = app[`${prefix}.st-${s}`]
    return r && `${r.background}|${r.color}|${r.border}`
  }

  test.each([['normal', ''], ['elder', '.elder ']])('%s mode', (_, prefix) => {
    const looks = STATES.map((s) => look(prefix, s))
    looks.forEach((l) => expect(typeof l).toBe('string'))
    expect(new Set(looks).size).toBe(STATES.length)
  })

  test('in 长辈模式: 余N solid green, 约满 grey fill, 无排班 dashed, 未放号 blue', () => {
    expect(app['.elder .st-open']).toMatchObject({ background: '#006b2c', color: '#fff' })
    expect(app['.elder .st-full'].background).toBe('#d0d0d0')
    expect(app['.elder .st-none'].border).toMatch(/dashed/)
    expect(app['.elder .st-unreleased']).toMatchObject({ background: '#0b4fb3', color: '#fff' })
  })

  test('no page paints every state the same black outline in 长辈模式 any more', () => {
    ;['pages/doctor/doctor.wxss', 'pages/department/department.wxss'].forEach((file) => {
      const r = rules(file)
      expect(r['.elder .session']).toBeUndefined()
      expect(r['.elder .slot']).toBeUndefined()
    })
  })
})

test('the tab bar is custom (custom-tab-bar/) and grows in 长辈模式', () => {
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
  expect(json.tabBar.custom).toBe(true)
  ;['js', 'json', 'wxml', 'wxss'].forEach((ext) => expect(fs.existsSync(path.join(ROOT, `custom-tab-bar/index.${ext}`))).toBe(true))
  const bar = rules('custom-tab-bar/index.wxss')
  const px = (v) => parseFloat(v)
  expect(px(bar['.tab-bar-elder .tab-item'].height)).toBeGreaterThan(px(bar['.tab-item'].height))
  expect(px(bar['.tab-bar-elder .tab-text']['font-size'])).toBeGreaterThan(px(bar['.tab-text']['font-size']))
})
