/**
 * The payment countdown shared by the payment and appointment pages: data.payRemainText ("14:05") and
 * data.payExpired, updated once a second until the deadline (utils/booking.payCountdown), stopped when
 * the page goes away. `countdownTickMs` on the instance overrides the tick (tests).
 */
const booking = require('../utils/booking')

module.exports = Behavior({
  data: {
    payRemainText: '',
    payExpired: false,
  },
  lifetimes: {
    detached() {
      this.stopPayCountdown()
    },
  },
  methods: {
    /** Starts (or restarts) counting down to `deadline`; `onExpire` runs once when it is reached. */
    startPayCountdown(deadline, onExpire) {
      this.stopPayCountdown()
      const tick = () => {
        this.payTimer = null
        const c = booking.payCountdown(deadline)
        if (c.remainText !== this.data.payRemainText || c.expired !== this.data.payExpired) {
          this.setData({ payRemainText: c.remainText, payExpired: c.expired })
        }
        if (c.remainMs === null) return
        if (c.expired) {
          if (onExpire) onExpire()
          return
        }
        // Wake when the shown second changes.
        this.payTimer = setTimeout(tick, this.countdownTickMs || c.remainMs % 1000 || 1000)
      }
      tick()
    },

    stopPayCountdown() {
      if (this.payTimer) clearTimeout(this.payTimer)
      this.payTimer = null
    },
  },
})
