const path = require('path')
const { ROOT, text, all, tap, simulate } = require('../support/pages')
const store = require('../../utils/store')

let id = null
function render(route) {
  global.getCurrentPages = jest.fn(() => [{ route }])
  if (!id) id = simulate.load(path.join(ROOT, 'custom-tab-bar/index'), 'tab-bar', { rootPath: ROOT })
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

test('the three tabs, the current one marked from the page shown', () => {
  const comp = render('pages/appointments/appointments')
  expect(all(comp, '.tab-item').map((n) => text(n).replace(/^\S+ /, ''))).toEqual(['首页', '我的预约', '我的'])
  expect(text(comp, '.tab-item-active')).toContain('我的预约')
})

test('a tap switches tab', async () => {
  const comp = render('pages/index/index')
  tap(comp, '.tab-item', 2)
  await simulate.sleep(0)
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/profile/profile' }))
})

test('grows in 长辈模式, picked up when its page is shown', () => {
  const comp = render('pages/index/index')
  expect(comp.dom.firstElementChild.className).not.toMatch(/elder/)
  store.setElder(true)
  comp.instance.refresh()
  expect(comp.dom.firstElementChild.className).toMatch(/tab-bar-elder/)
})
