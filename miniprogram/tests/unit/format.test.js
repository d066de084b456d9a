const format = require('../../utils/format')

test('money is fen shown as yuan with two decimals', () => {
  expect(format.money(5000)).toBe('¥50.00')
  expect(format.money(1)).toBe('¥0.01')
  expect(format.money(123456)).toBe('¥1234.56')
  expect(format.money(0)).toBe('¥0.00')
  expect(format.money(0, '免费')).toBe('免费')
  expect(format.money(null)).toBe('')
})

test('times are shown in Asia/Shanghai whatever offset the server used', () => {
  expect(format.time('2026-03-01T00:30:00Z')).toBe('08:30')
  expect(format.time('2026-03-01T08:30:00+08:00')).toBe('08:30')
  expect(format.date('2026-02-28T16:00:00Z')).toBe('2026-03-01') // midnight in Shanghai
  expect(format.dateTime('2026-03-01T01:05:00Z')).toBe('2026-03-01 09:05')
  expect(format.timeRange('2026-03-01T00:00:00Z', '2026-03-01T00:30:00Z')).toBe('08:00-08:30')
})

test('today is the Shanghai date', () => {
  expect(format.today(Date.parse('2026-03-01T17:00:00Z'))).toBe('2026-03-02')
  expect(format.today(Date.parse('2026-03-01T15:59:00Z'))).toBe('2026-03-01')
})

test('calendar helpers', () => {
  expect(format.addDays('2026-02-28', 1)).toBe('2026-03-01')
  expect(format.addDays('2026-12-31', 1)).toBe('2027-01-01')
  expect(format.weekday('2026-03-01')).toBe('周日')
  expect(format.dayLabel('2026-03-01', '2026-03-01')).toBe('今天')
  expect(format.dayLabel('2026-03-02', '2026-03-01')).toBe('明天')
  expect(format.dayLabel('2026-03-04', '2026-03-01')).toBe('周三')
  expect(format.visitLabel('2026-03-01', '上午')).toBe('2026-03-01 周日 上午')
  expect(format.duration(120)).toBe('2小时')
  expect(format.duration(90)).toBe('90分钟')
  expect(format.duration(1440)).toBe('1天')
})

test('countdown: minutes and seconds left, rounded up, hours when long, never negative', () => {
  expect(format.countdown(15 * 60 * 1000)).toBe('15:00')
  expect(format.countdown(14 * 60 * 1000 + 59001)).toBe('15:00')
  expect(format.countdown(65 * 1000)).toBe('01:05')
  expect(format.countdown(1)).toBe('00:01')
  expect(format.countdown(0)).toBe('00:00')
  expect(format.countdown(-5000)).toBe('00:00')
  expect(format.countdown((3600 + 62) * 1000)).toBe('1:01:02')
})
