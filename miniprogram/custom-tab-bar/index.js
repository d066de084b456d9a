/**
 * The tab bar, drawn by us ("custom": true in app.json) so that it can grow in 长辈模式: WeChat's own bar
 * has a fixed size and type that no setting enlarges. Same three tabs as app.json's tabBar.list (WeChat
 * still needs that list). Each tab page gets its own instance; it works out which tab is current and the
 * mode by itself whenever its page is shown, and pages may also call
 * this.getTabBar().setData({ elder }) (behaviors/page.js does on every onShow).
 */
const store = require('../utils/store')

const TABS = [
  { pagePath: '/pages/index/index', text: '首页', icon: '⌂' },
  { pagePath: '/pages/appointments/appointments', text: '我的预约', icon: '☰' },
  { pagePath: '/pages/profile/profile', text: '我的', icon: '☺' },
]

function currentIndex() {
  const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : []
  const top = pages.length ? pages[pages.length - 1] : null
  const route = top && top.route ? `/${top.route}` : ''
  return TABS.findIndex((t) => t.pagePath === route)
}

Component({
  data: {
    tabs: TABS,
    selected: 0,
    elder: false,
  },
  lifetimes: {
    attached() {
      this.refresh()
    },
  },
  pageLifetimes: {
    show() {
      this.refresh()
    },
  },
  methods: {
    refresh() {
      const changes = { elder: store.isElder() }
      const index = currentIndex()
      if (index >= 0) changes.selected = index
      this.setData(changes)
    },
    onTap(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.setData({ selected: index })
      wx.switchTab({ url: TABS[index].pagePath })
    },
  },
})
