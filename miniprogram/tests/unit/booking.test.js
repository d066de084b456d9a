const booking = require('../../utils/booking')

describe('payCountdown (time left to pay, by the phone clock)', () => {
  const deadline = '2026-03-01T02:15:00Z' // 10:15 in Shanghai
  const at = (iso) => Date.parse(iso)

  test('counts down to the deadline', () => {
    expect(booking.payCountdown(deadline, at('2026-03-01T02:00:00Z'))).toEqual({ expired: false, remainMs: 15 * 60 * 1000, remainText: '15:00' })
    expect(booking.payCountdown(deadline, at('2026-03-01T02:14:59.500Z'))).toMatchObject({ expired: false, remainText: '00:01' })
  })

  test('at and after the deadline it has expired', () => {
    expect(booking.payCountdown(deadline, at(deadline))).toEqual({ expired: true, remainMs: 0, remainText: '00:00' })
    expect(booking.payCountdown(deadline, at('2026-03-01T03:00:00Z'))).toMatchObject({ expired: true, remainMs: 0 })
  })

  test('no deadline (not held for payment): nothing to count', () => {
    expect(booking.payCountdown(null, 0)).toEqual({ expired: false, remainMs: null, remainText: '' })
    expect(booking.payCountdown('not a time', 0)).toMatchObject({ expired: false, remainMs: null })
  })

  test('a server time with microseconds and an offset is read right', () => {
    expect(booking.payCountdown('2026-11-21T22:50:03.161272Z', at('2026-11-21T22:35:03.161Z')).remainText).toBe('15:00')
    expect(booking.payCountdown('2026-03-01T10:15:00+08:00', at('2026-03-01T02:05:00Z')).remainText).toBe('10:00')
  })
})

