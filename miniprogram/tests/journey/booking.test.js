/**
 * The main journey, driven through the pages against the real server:
 * log in -> find a hospital -> department -> doctor -> slot -> add a 就诊人 -> book -> result ->
 * 我的预约 -> detail -> cancel -> the slot is free again.
 */
const { open, text, all, one, exists, tap, input } = require('../support/pages')
const format = require('../../utils/format')
const { describeLive } = require('../support/live')
const h = require('./helpers')
const scene = require('./scene')

describeLive('journey against the real server: book and cancel', () => {
  test('a new user books a slot at a hospital that takes the fee on site, sees it, cancels it, and the slot is free again', async () => {
    const hospital = await scene.hospitalWhere({ payment_required: false })

    // 首页: logs in silently, searches the hospital by name.
    const home = open('index')
    await settle()
    expect(all(home, '.hospital-item').length).toBeGreaterThan(0)
    expect(wx.login).toHaveBeenCalledTimes(1)
    input(home, '.search-input', hospital.name)
    tap(home, '.search-btn')
    await settle()
    expect(all(home, '.hospital-name').map((n) => text(n))).toEqual([hospital.name])
    tap(home, '.hospital-item')
    await settle()

    // 医院: rules, then the first 科室 of the first 大科室.
    const hospitalPage = await h.follow()
    expect(text(hospitalPage, '.hospital-name')).toBe(hospital.name)
    expect(text(hospitalPage, '.booking-rules')).toContain('挂号费到院就诊时支付')
    tap(hospitalPage, '.dept-child', 0)
    await settle()

    // 科室: the strip opens on a day with slots left. Take a day at least two days ahead, so that the
    // hospital's cancellation deadline (up to 24 h before the session) has not passed whatever the hour.
    const department = await h.follow()
    expect(text(one(department, '.day.active'))).toMatch(/余\d+/)
    const dayIndex = all(department, '.day').findIndex((d, i) => i >= 2 && /余\d+/.test(text(d)))
    expect(dayIndex).toBeGreaterThanOrEqual(2)
    tap(department, '.day', dayIndex)
    await settle()
    const doctorIndex = all(department, '.doctor-item').findIndex((d) => /当日余号 \d+/.test(text(d)))
    expect(doctorIndex).toBeGreaterThanOrEqual(0)
    tap(department, '.doctor-item', doctorIndex)
    await settle()

    // 医生: the day's first open session is shown as a slot grid; take the first free slot.
    const doctorUrl = h.lastUrl()
    const doctor = await h.follow()
    const slots = all(doctor, '.slot')
    const slotIndex = slots.findIndex((s) => /可约$/.test(text(s)))
    expect(slotIndex).toBeGreaterThanOrEqual(0)
    const slotText = text(slots[slotIndex]) // "3号 08:30-09:00 可约"
    tap(doctor, '.slot', slotIndex)
    await settle()

    // 确认: nobody to book for yet -> add a 就诊人; an invalid ID number is refused first.
    const confirm = await h.follow()
    expect(h.lastUrl()).toMatch(/^\/pages\/confirm\/confirm\?scheduleId=\d+&doctorId=\d+&slotId=\d+$/)
    expect(text(confirm, '.no-patients')).toContain('还没有就诊人')
    tap(confirm, '.add-first-patient')
    await settle()
    const form = await h.follow()
    const idNumber = h.newIdNumber()
    const badId = idNumber.slice(0, 17) + (idNumber[17] === '1' ? '2' : '1')
    input(form, '.input-name', '王小明')
    input(form, '.input-id', badId)
    input(form, '.input-phone', '13812345678')
    await settle()
    tap(form, '.save')
    await settle()
    expect(text(form, '.error-id')).toBe('身份证号校验码不正确')
    expect(phone.calls('POST', '/api/v1/me/patients')).toHaveLength(0)
    input(form, '.input-id', idNumber)
    await settle()
    tap(form, '.save')
    await settle()
    expect(phone.calls('POST', '/api/v1/me/patients')[0].status).toBe(201)
    expect(wx.navigateBack).toHaveBeenCalled()

    // Back on 确认: the new person is chosen; submit (subscriptions first, then the booking).
    confirm.instance.onShow()
    await settle()
    expect(text(confirm, '.patient-option.chosen')).toContain('王小明')
    tap(confirm, '.submit')
    await settle()
    const config = await scene.get('/api/v1/config')
    expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(
      expect.objectContaining({ tmplIds: [config.subscribe_templates.booking_confirmed, config.subscribe_templates.visit_reminder] })
    )
    const [booking] = phone.calls('POST', '/api/v1/appointments')
    expect(booking.status).toBe(201)
    expect(booking.header['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)

    // 结果
    expect(h.lastUrl('redirectTo')).toBe(`/pages/result/result?id=${booking.data.id}`)
    const result = await h.follow('redirectTo')
    expect(text(result, '.result-headline')).toBe('预约成功')
    expect(text(result, '.result-queue')).toMatch(/^就诊序号 \d+ 号$/)
    expect(text(result, '.result-time')).toContain(slotText.split(' ')[1]) // the slot's time window, Shanghai time

    // 我的预约 -> 待就诊 -> detail with the check-in QR code.
    const mine = open('appointments')
    await settle()
    tap(mine, '.status-tab', 2)
    await settle()
    expect(all(mine, '.appointment-item')).toHaveLength(1)
    expect(text(mine, '.appointment-status')).toBe('待就诊')
    // The fee is paid at the hospital's window (the card may also say how much: 到院支付 ¥25.00).
    const onSiteTag = new RegExp(`^到院支付(?: ${format.money(booking.data.fee_fen).replace('.', '\\.')})?$`)
    expect(text(mine, '.pay-tag')).toMatch(onSiteTag)
    tap(mine, '.appointment-item')
    await settle()
    const detail = await h.follow()
    expect(text(detail, '.detail-status')).toBe('待就诊')
    expect(text(detail, '.check-in-code')).toBe(`签到码 ${booking.data.check_in_code}`)
    expect(all(detail, '.qr-cell').length).toBeGreaterThanOrEqual(21 * 21)
    const fee = format.money(booking.data.fee_fen)
    expect(booking.data).toMatchObject({ cancellable: true, refund_on_cancel: false, payment: { status: 'pay_on_site', refund: null } })
    expect(text(detail, '.fee-status')).toBe('到院支付')
    expect(text(detail, '.fee-summary')).toBe(`挂号费 ${fee} 请于就诊当日在医院窗口支付。`)

    // Cancel, with the confirmation that states the rule; nothing was paid, so nothing about refunds.
    tap(detail, '.cancel-btn')
    await settle()
    const modal = wx.showModal.mock.calls.pop()[0].content
    expect(modal).toContain('取消后号源将释放给其他患者。')
    expect(modal).toContain(`${booking.data.cancel_rule.replace(/[。；，\s]+$/, '')}。`)
    expect(modal).toContain(`取消截止：${format.dateTime(booking.data.cancel_deadline)}`)
    expect(modal).not.toContain('退')
    expect(phone.calls('POST', `/api/v1/appointments/${booking.data.id}/cancel`)[0].status).toBe(200)
    expect(text(detail, '.detail-status')).toBe('已取消')
    expect(text(detail, '.fee-summary')).toBe('挂号费为到院支付，您未付款，无需退款。')
    expect(exists(detail, '.fee-refund-status')).toBe(false)

    // The slot is free again, and the appointment is under 已取消.
    const doctorAgain = await h.openUrl(doctorUrl)
    expect(text(all(doctorAgain, '.slot')[slotIndex])).toBe(slotText)
    const mineAgain = open('appointments')
    await settle()
    tap(mineAgain, '.status-tab', 4)
    await settle()
    expect(text(mineAgain, '.appointment-status')).toBe('已取消')
    expect(text(mineAgain, '.pay-tag')).toMatch(onSiteTag)
  })

  test('the client ID-number and phone checks agree with the server on what is invalid', async () => {
    const api = require('../../utils/api')
    const validate = require('../../utils/validate')
    const good = h.newIdNumber()
    const withCheck = (first17) => first17 + validate.checkDigit(first17)
    const samples = [
      good.slice(0, 17) + (good[17] === '1' ? '2' : '1'), // wrong check digit
      withCheck(`99${good.slice(2, 17)}`), // no such province
      withCheck('11010119900231123'), // 1990-02-31
      withCheck(`1101012999${good.slice(10, 17)}`), // born in 2999
      good.slice(0, 17), // 17 characters
    ]
    for (const id of samples) {
      expect(validate.idNumberError(id)).not.toBeNull()
      const err = await api.createPatient({ name: '测试', id_number: id, phone: '13812345678', relationship: 'other' }).catch((e) => e)
      expect(err).toMatchObject({ status: 422, code: 'INVALID_ID_NUMBER' })
      expect(err.message).toMatch(/身份证/)
    }
    for (const phoneNumber of ['12812345678', '1381234567', '23812345678']) {
      expect(validate.phoneError(phoneNumber)).not.toBeNull()
      const err = await api.createPatient({ name: '测试', id_number: good, phone: phoneNumber, relationship: 'other' }).catch((e) => e)
      expect(err).toMatchObject({ status: 422, code: 'INVALID_PHONE' })
    }
    expect(validate.idNumberError(good)).toBeNull()
    await expect(api.createPatient({ name: '测试', id_number: good, phone: '13812345678', relationship: 'other' })).resolves.toMatchObject({ name: '测试' })
  })
})
