/** Every page in app.json exists, compiles (official WXML compiler) and renders its loading state. */
const fs = require('fs')
const path = require('path')
const { open, ROOT } = require('../support/pages')

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))

test('the tab bar is 首页 / 我的预约 / 我的', () => {
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['首页', '我的预约', '我的'])
  app.tabBar.list.forEach((t) => expect(app.pages).toContain(t.pagePath))
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
  })

  test('pages with lists allow pull-to-refresh and define onPullDownRefresh', () => {
    const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${pagePath}.json`), 'utf8'))
    const src = fs.readFileSync(path.join(ROOT, `${pagePath}.js`), 'utf8')
    if (json.enablePullDownRefresh) expect(src).toContain('onPullDownRefresh')
    if (src.includes('onReachBottom')) expect(json.enablePullDownRefresh).toBe(true)
  })
})
