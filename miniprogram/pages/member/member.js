/**
 * 会员中心: the level card (level, points balance, points earned in the last 12 months, how far to the
 * next level), the privileges of the current level and of every level, how points are earned and when
 * they expire, and the points ledger (paged, newest first).
 */
const api = require('../../utils/api')
const member = require('../../utils/member')
const page = require('../../behaviors/page')

const PAGE_SIZE = 20

Component({
  behaviors: [page],
  data: {
    member: null,
    progress: null,
    levels: [],
    ledger: [],
    ledgerTotal: 0,
    ledgerLoading: false,
    ledgerError: '',
    loadingMore: false,
  },
  methods: {
    onShow() {
      this.syncElder()
      this.reload()
    },
    onPullDownRefresh() {
      this.reload()
    },
    onReachBottom() {
      this.loadMore()
    },

    reload() {
      return this.withLoading(async () => {
        const m = await api.member()
        this.setData({ member: m, progress: member.progress(m), levels: member.levelsView(m) })
        wx.setNavigationBarTitle({ title: '会员中心' })
        await this.loadLedger()
      })
    },

    /** The first page of the ledger; its failure leaves the card in place and says so in the ledger box. */
    async loadLedger() {
      this.setData({ ledgerLoading: true, ledgerError: '' })
      try {
        const res = await api.memberLedger(0, PAGE_SIZE)
        this.setData({ ledger: res.items.map(member.ledgerView), ledgerTotal: res.total })
      } catch (err) {
        this.setData({ ledgerError: api.errorMessage(err) })
      } finally {
        this.setData({ ledgerLoading: false })
      }
    },

    async loadMore() {
      const { ledger, ledgerTotal, loadingMore, ledgerLoading } = this.data
      if (loadingMore || ledgerLoading || ledger.length >= ledgerTotal) return
      this.setData({ loadingMore: true })
      try {
        const res = await api.memberLedger(ledger.length, PAGE_SIZE)
        const seen = {}
        ledger.forEach((e) => {
          seen[e.id] = true
        })
        const more = res.items.filter((e) => !seen[e.id]).map(member.ledgerView)
        this.setData({ ledger: ledger.concat(more), ledgerTotal: res.total })
      } catch (err) {
        api.showError(err)
      } finally {
        this.setData({ loadingMore: false })
      }
    },
  },
})
