/** utils/booking helpers of issue 14: money words, cancellation words, ordering, the rebook offer. */
const booking = require('../../utils/booking')
const fx = require('../support/fixtures')

test('cancelOutcome: refund, no refund, unpaid hold, nothing paid', () => {
  expect(booking.cancelOutcome(fx.paid())).toBe('取消后 ¥50.00 将原路退回。')
  expect(booking.cancelOutcome(fx.paid({ refund_on_cancel: false }))).toBe('取消后不退款。')
  expect(booking.cancelOutcome(fx.unpaid())).toBe('该预约尚未支付，取消后号源将释放。')
  expect(booking.cancelOutcome(fx.appointment())).toBe('取消后号源将释放给其他患者。')
})

test('cancelConfirmText does not double the full stop of cancel_rule', () => {
  const text = booking.cancelConfirmText(fx.paid({ cancel_rule: '就诊前2小时可免费取消。' }))
  expect(text).toContain('取消后 ¥50.00 将原路退回。就诊前2小时可免费取消。取消截止：')
})

test('upcomingFirst: active soonest first, then the rest newest first, stable, each id once', () => {
  const t = (id, iso, status = 'booked') => ({ id, status, starts_at: iso })
  const list = [
    t(1, '2026-03-05T01:00:00Z', 'cancelled'),
    t(2, '2026-03-04T01:00:00Z'),
    t(3, '2026-03-03T01:00:00Z', 'pending_payment'),
    t(4, '2026-03-03T01:00:00Z', 'checked_in'),
    t(5, '2026-03-01T01:00:00Z', 'completed'),
    t(6, '2026-03-02T01:00:00Z', 'no_show'),
    t(2, '2026-03-04T01:00:00Z'),
  ]
  expect(booking.upcomingFirst(list).map((a) => a.id)).toEqual([3, 4, 2, 1, 6, 5])
})

test('rebookView: same doctor first then by time; expired by the clock; HH:mm today, MM-DD HH:mm otherwise', () => {
  const now = Date.parse(fx.at(fx.TODAY, '10:00'))
  const a = fx.suspended({
    rebook: fx.rebookOffer({
      expires_at: fx.at(fx.TODAY, '18:00'),
      options: [
        fx.rebookOption({ schedule_id: 3, same_doctor: false, starts_at: fx.at(fx.TOMORROW, '08:00') }),
        fx.rebookOption({ schedule_id: 2, same_doctor: true, starts_at: fx.at(fx.TOMORROW, '15:00') }),
        fx.rebookOption({ schedule_id: 1, same_doctor: false, starts_at: fx.at(fx.TODAY, '15:00') }),
      ],
    }),
  })
  const v = booking.rebookView(a, now)
  expect(v.options.map((o) => o.schedule_id)).toEqual([2, 1, 3])
  expect(v.expiresText).toBe('18:00')
  expect(v.expired).toBe(false)
  expect(booking.rebookView(a, Date.parse(fx.at(fx.TODAY, '18:00'))).expired).toBe(true)
  const tomorrow = fx.suspended({ rebook: fx.rebookOffer({ expires_at: fx.at(fx.TOMORROW, '08:00') }) })
  expect(booking.rebookView(tomorrow, now).expiresText).toBe(`${fx.TOMORROW.slice(5)} 08:00`)
  expect(booking.rebookView(fx.appointment({ rebook: fx.rebookOffer() }), now)).toBeNull() // only on a suspended one
})

test('no payment object (an older server): no tag, no 费用 block', () => {
  const a = fx.appointment({ payment: undefined })
  expect(booking.paymentTag(a)).toBeNull()
  expect(booking.paymentView(a)).toBeNull()
})
