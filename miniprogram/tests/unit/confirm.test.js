const { open, text, all, tap, exists } = require('../support/pages')
const fx = require('../support/fixtures')

function setup({ patients = [fx.patient({ id: 51, name: '李父', relationship: 'parent', relationship_label: '父母' }), fx.patient()], slotStatuses } = {}) {
  loggedIn()
  fake.route('GET /api/v1/config', { body: fx.CONFIG })
  fake.route('GET /api/v1/schedules/:id/slots', { body: fx.slots({ id: 100 }, slotStatuses) })
  fake.route('GET /api/v1/doctors/:id', { body: fx.doctor() })
  fake.route('GET /api/v1/hospitals/:id', { body: fx.hospital() })
  fake.route('GET /api/v1/me/patients', { body: { items: patients, total: patients.length } })
}

async function openConfirm(query = { scheduleId: '100', slotId: '1000', doctorId: '7' }) {
  const comp = open('confirm', query)
  await settle()
  return comp
}

test('shows the visit, the fee, the rules and picks 本人 by default', async () => {
  setup()
  const comp = await openConfirm()
  expect(text(comp, '.confirm-doctor')).toBe('张三 主任医师')
  expect(text(comp, '.confirm-time')).toBe('08:00-08:30（1号）')
  expect(text(comp, '.confirm-fee')).toBe('¥50.00')
  expect(text(comp, '.booking-rules')).toContain('就诊前2小时以前可取消预约')
  expect(text(comp, '.patient-option.chosen')).toContain('李四')
  expect(text(comp, '.submit')).toBe('确认预约 ¥50.00')
})

test('submitting asks for the subscriptions, then books with an Idempotency-Key and shows the result', async () => {
  setup()
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment() })
  const comp = await openConfirm()
  tap(comp, '.patient-option', 0) // 李父
  tap(comp, '.submit')
  await settle()
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-confirmed', 'tmpl-reminder'] }))
  const [req] = fake.calls('POST /api/v1/appointments')
  expect(req.body).toEqual({ schedule_id: 100, slot_id: 1000, patient_id: 51 })
  expect(req.header['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
  expect(wx.requestSubscribeMessage.mock.invocationCallOrder[0]).toBeLessThan(wx.request.mock.invocationCallOrder[wx.request.mock.calls.length - 1])
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/result/result?id=900' }))
})

test('refusing the subscriptions does not stop the booking', async () => {
  setup()
  fake.subscribeAnswer = 'reject'
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment() })
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(fake.calls('POST /api/v1/appointments')).toHaveLength(1)
})

test('a booking that must be paid goes to the payment page', async () => {
  setup()
  fake.route('POST /api/v1/appointments', { status: 201, body: fx.appointment({ status: 'pending_payment', status_label: '待支付' }) })
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/payment/payment?id=900' }))
})

test('a retry after a network failure reuses the Idempotency-Key; a new choice gets a new one', async () => {
  setup()
  let n = 0
  fake.route('POST /api/v1/appointments', () => (++n === 1 ? 'network' : { status: 201, body: fx.appointment() }))
  fake.modalConfirm = true // tap 重试
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '预约未完成', confirmText: '重试' }))
  expect(wx.showModal.mock.calls[0][0].content).toContain('网络连接失败')
  const [first, second] = fake.calls('POST /api/v1/appointments')
  expect(second.header['Idempotency-Key']).toBe(first.header['Idempotency-Key'])
  expect(wx.redirectTo).toHaveBeenCalledTimes(1)
  expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1) // not again on the retry

  // A server error leaves the attempt open; choosing someone else starts a new attempt.
  const comp2 = await openConfirm()
  fake.route('POST /api/v1/appointments', { status: 503, body: { code: 'UPSTREAM_UNAVAILABLE', message: '外部服务暂不可用，请稍后再试' } })
  fake.modalConfirm = false
  tap(comp2, '.submit')
  await settle()
  tap(comp2, '.submit')
  await settle()
  tap(comp2, '.patient-option', 0)
  tap(comp2, '.submit')
  await settle()
  const keys = fake.calls('POST /api/v1/appointments').slice(2).map((r) => r.header['Idempotency-Key'])
  expect(keys[0]).toBe(keys[1])
  expect(keys[2]).not.toBe(keys[1])
})

test("sold out: the server's message, and back to choose again", async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'SOLD_OUT', '该时段号源已约满'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该时段号源已约满', confirmText: '重新选择' }))
  expect(wx.navigateBack).toHaveBeenCalled()
  expect(text(comp, '.unavailable')).toContain('该时段号源已约满')
})

test('a duplicate booking offers to show my appointments', async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'DUPLICATE_BOOKING', '该就诊人已预约此时段'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '该就诊人已预约此时段', confirmText: '查看预约' }))
  expect(wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/appointments/appointments' }))
})

test('other refusals are shown in the server’s words', async () => {
  setup()
  fake.route('POST /api/v1/appointments', fx.error(409, 'BLACKLISTED', '您因多次爽约暂不能预约'))
  const comp = await openConfirm()
  tap(comp, '.submit')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '您因多次爽约暂不能预约', showCancel: false }))
})

test('a slot taken since it was picked is shown before submitting', async () => {
  setup({ slotStatuses: ['booked', 'available'] })
  const comp = await openConfirm()
  expect(text(comp, '.unavailable')).toContain('该号源已被预约，请返回选择其他号源')
  tap(comp, '.submit')
  await settle()
  expect(fake.calls('POST /api/v1/appointments')).toHaveLength(0)
  tap(comp, '.pick-again')
  await settle()
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('without 就诊人 the page asks to add one, and picks it up on return', async () => {
  setup({ patients: [] })
  const comp = await openConfirm()
  expect(text(comp, '.no-patients')).toContain('还没有就诊人')
  tap(comp, '.submit')
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请选择就诊人' }))
  tap(comp, '.add-first-patient')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/patient-edit/patient-edit' }))
  fake.route('GET /api/v1/me/patients', { body: { items: [fx.patient({ id: 60, name: '新人' })], total: 1 } })
  comp.instance.onShow()
  await settle()
  expect(text(comp, '.patient-option.chosen')).toContain('新人')
  expect(exists(comp, '.no-patients')).toBe(false)
})

test('a load failure shows the error with a retry', async () => {
  setup()
  fake.route('GET /api/v1/schedules/:id/slots', fx.error(404, 'SCHEDULE_NOT_FOUND', '排班不存在'))
  const comp = await openConfirm()
  expect(text(comp, '.state-error')).toContain('排班不存在')
  expect(all(comp, '.state-retry')).toHaveLength(1)
})
