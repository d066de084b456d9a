/** Every page in app.json exists, compiles (official WXML compiler) and renders its loading state. */
const fs = require('fs')
const path = require('path')
const { open, text, exists, ROOT } = require('../support/pages')

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))

test('the tab bar is 首页 / 我的预约 / 我的', () => {
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['首页', '我的预约', '我的'])
  app.tabBar.list.forEach((t) => expect(app.pages).toContain(t.pagePath))
})

test("every .wxss compiles with WeChat's style compiler (wcsc)", () => {
  const compiler = require('miniprogram-compiler')
  expect(() => compiler.wxssToJs(ROOT)).not.toThrow()
})

test('project.config.json has a placeholder appid and no url check', () => {
  const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))
  expect(project.appid).toBe('touristappid')
  expect(project.setting.urlCheck).toBe(false)
})

describe.each(app.pages)('%s', (pagePath) => {
  const name = pagePath.split('/')[1]

  test('has its four files and renders', () => {
    ;['js', 'json', 'wxml', 'wxss'].forEach((ext) => expect(fs.existsSync(path.join(ROOT, `${pagePath}.${ext}`))).toBe(true))
    loggedIn()
    fake.route('GET /api/v1/config', { body: require('../support/fixtures').CONFIG })
    const comp = open(name, { id: '1', scheduleId: '1', doctorId: '1' })
    expect(comp.dom.innerHTML.length).toBeGreaterThan(0)
    // Pages that load something say so while they wait.
    if (name !== 'profile') expect(text(comp, '.state-loading')).toBe('加载中…')
  })

  test('a failed load offers 重试 and 返回首页', async () => {
    if (name === 'profile') return // nothing to fail: the badge just stays hidden
    loggedIn()
    fake.route('GET /api/v1/config', 'network')
    const comp = open(name, { id: '1', scheduleId: '1', doctorId: '1' })
    await settle()
    // Every route is unanswered (404 from the fake) or a network failure: the page must say so.
    expect(text(comp, '.state-error')).not.toBe('')
    expect(exists(comp, '.state-retry')).toBe(true)
    expect(exists(comp, '.state-home')).toBe(true)
  })

  test('pages with lists allow pull-to-refresh and define onPullDownRefresh', () => {
    const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${pagePath}.json`), 'utf8'))
    const src = fs.readFileSync(path.join(ROOT, `${pagePath}.js`), 'utf8')
    if (json.enablePullDownRefresh) expect(src).toContain('onPullDownRefresh')
    if (src.includes('onReachBottom')) expect(json.enablePullDownRefresh).toBe(true)
  })
})

describe('all server access goes through utils/api.js', () => {
  function sources(dir) {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name)
      if (e.isDirectory()) return sources(rel)
      return e.name.endsWith('.js') ? [rel] : []
    })
  }
  const files = ['app.js', ...sources('pages'), ...sources('utils'), ...sources('components'), ...sources('behaviors')]

  test.each(files)('%s', (file) => {
    const src = fs.readFileSync(path.join(ROOT, file), 'utf8')
    if (file !== path.join('utils', 'api.js')) expect(src).not.toMatch(/\/api\/v1\//)
    if (!/utils[\\/](api|wechat)\.js$/.test(file)) expect(src).not.toMatch(/wx\.request\(|wx\.login\(|wx\.requestPayment\(/)
  })
})

test('app.js logs in silently and fetches the settings at launch', () => {
  let definition = null
  global.App = (d) => {
    definition = d
  }
  fake.route('POST /api/v1/auth/wechat-login', { body: { access_token: 'a', refresh_token: 'r', account: { id: 1, is_new: true } } })
  fake.route('GET /api/v1/config', { body: {} })
  require('../../app.js')
  definition.onLaunch()
  return settle().then(() => {
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(fake.calls('GET /api/v1/config')).toHaveLength(1)
  })
})
