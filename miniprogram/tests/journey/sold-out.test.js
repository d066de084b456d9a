/**
 * Racing for the last slots against other users on the real server: the loser hears the server's own
 * words, and the pages then show the session as 约满 (with 候补 on the doctor page: waitlist.test.js).
 */
const { text, all, tap } = require('../support/pages')
const { describeLive } = require('../support/live')
const api = require('../../utils/api')
const h = require('./helpers')
const scene = require('./scene')

describeLive('journey against the real server: sold out', () => {
  test('the last slot is taken while the user is on the confirm page; afterwards the session reads 约满', async () => {
    const hospital = await scene.hospitalWhere({ payment_required: false })
    // The smallest session on offer, so that filling it takes few bookings.
    const session = await scene.bookableSession(hospital, (list) => list.slice().sort((a, b) => a.schedule.remaining - b.schedule.remaining)[0])
    const free = session.slots.filter((s) => s.status === 'available')
    const last = free[free.length - 1]

    // Our user gets as far as 确认 for the last free slot.
    const me = await api.createPatient({ name: '赵大', id_number: h.newIdNumber(), phone: '13700000000', relationship: 'self' })
    const confirm = await h.openUrl(`/pages/confirm/confirm?scheduleId=${session.schedule.id}&doctorId=${session.doctor.id}&slotId=${last.id}`)
    expect(text(confirm, '.patient-option.chosen')).toContain(me.name)
    expect(text(confirm, '.unavailable')).toBe('')

    // Meanwhile other people book every free slot (one 就诊人 per booking, five per account).
    let other = null
    for (let i = 0; i < free.length; i++) {
      if (i % 5 === 0) other = await h.otherUser()
      const person = await other.addPatient(`路人${chineseNumber(i)}`)
      const res = await other.book(session.schedule.id, free[i].id, person.id)
      expect(res.statusCode).toBe(201)
    }

    // Our user submits: refused, in the server's words, and sent back to choose again.
    tap(confirm, '.submit')
    await settle()
    const [attempt] = phone.calls('POST', '/api/v1/appointments')
    expect(attempt.status).toBe(409)
    expect(['SLOT_TAKEN', 'SOLD_OUT']).toContain(attempt.data.code)
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '无法预约', content: attempt.data.message }))
    expect(wx.navigateBack).toHaveBeenCalled()
    expect(text(confirm, '.unavailable')).toContain(attempt.data.message)

    // The doctor page: the session is 约满, its slots all 已约; opened, it offers 候补 instead of a booking.
    const doctor = await h.openUrl(`/pages/doctor/doctor?id=${session.doctor.id}`)
    const sessionIndex = all(doctor, '.session').findIndex((n) => n.dom.getAttribute('data-id') === String(session.schedule.id))
    expect(sessionIndex).toBeGreaterThanOrEqual(0)
    expect(text(all(doctor, '.session')[sessionIndex])).toContain('约满')
    tap(doctor, '.session', sessionIndex)
    await settle()
    expect(text(doctor, '.slot-closed')).toBe('该时段约满，暂不可预约')
    expect(all(doctor, '.slot').every((n) => /st-taken/.test(n.dom.className))).toBe(true)
    expect(phone.calls('GET', `/api/v1/schedules/${session.schedule.id}/waitlist`).pop().status).toBe(200)
    expect(text(doctor, '.bar-action')).toBe('加入候补')

    // The department page lists the doctor's session as 约满 on that day.
    const department = await h.openUrl(`/pages/department/department?id=${session.department.id}&date=${session.date}`)
    const row = all(department, '.doctor-item').find((n) => text(n).includes(session.doctor.name))
    expect(text(row)).toContain(`${session.schedule.period_label} 约满`)
  })
})

// Names carry no digits (the server's rule), so the i-th stranger is 路人一二.
function chineseNumber(i) {
  return String(i).split('').map((d) => '零一二三四五六七八九'[d]).join('')
}
