/**
 * 候补 on the real server: a session is sold out (other users hold every slot); our user joins its
 * waitlist from the doctor page for a 就诊人; another patient cancels; the freed slot is offered to our
 * user (the head of the line), who sees it in 我的候补 with the countdown (请在 mm:ss 内确认) and in a
 * message, confirms, pays (a hospital taking the fee online), and the appointment is booked.
 *
 * Which session: the smallest on offer at a pay-first hospital other than the ones the payment and 停诊
 * journeys use, from five days ahead (the other journeys look from two or three days ahead and take the
 * first bookable session, which this one sells out; five days keeps them apart at any hour).
 */
const { text, all, exists, tap, waitFor } = require('../support/pages')
const { describeLive } = require('../support/live')
const api = require('../../utils/api')
const format = require('../../utils/format')
const h = require('./helpers')
const scene = require('./scene')

// Filling the session (a dozen bookings), the hand-over (a background job), the payment (another).
const TIMEOUT_MS = 60000

describeLive('journey against the real server: 候补 (waitlist)', () => {
  test('join the waitlist of a sold-out session -> another patient cancels -> the offer arrives -> confirm -> pay -> booked', async () => {
    const hospitals = await scene.hospitalsWhere({ payment_required: true })
    const hospital = hospitals.length > 2 ? hospitals[1] : hospitals[0]
    const smallest = (list) => list.slice().sort((a, b) => a.schedule.remaining - b.schedule.remaining)[0]
    const session = await scene.bookableSession(hospital, smallest, { fromDay: 5 })
    const free = session.slots.filter((s) => s.status === 'available')
    expect(free.length).toBeGreaterThan(0)

    // Other people take every free slot: one 就诊人 per booking, as many unpaid holds per account as the
    // hospital allows.
    const perAccount = Math.min(5, hospital.booking_rules.max_active_appointments, hospital.booking_rules.max_unpaid_holds)
    const held = []
    let other = null
    for (let i = 0; i < free.length; i++) {
      if (i % perAccount === 0) other = await h.otherUser()
      const person = await other.addPatient(`候补路人${'零一二三四五六七八九'[i % 10]}${'甲乙丙丁戊己庚辛壬癸'[Math.floor(i / 10) % 10]}`)
      const res = await other.book(session.schedule.id, free[i].id, person.id)
      expect(res.statusCode).toBe(201)
      held.push({ user: other, appointment: res.data })
    }

    // Our user: a 就诊人, then the doctor's page on that day: the session is 约满, with 候补.
    const me = await api.createPatient({ name: '周候补', id_number: h.newIdNumber(), phone: '13500000011', relationship: 'self' })
    const doctor = await h.openUrl(`/pages/doctor/doctor?id=${session.doctor.id}&date=${session.date}`)
    const index = all(doctor, '.session').findIndex((n) => n.dom.getAttribute('data-id') === String(session.schedule.id))
    expect(index).toBeGreaterThanOrEqual(0)
    expect(text(all(doctor, '.session')[index])).toContain('约满')
    if (doctor.instance.data.scheduleId !== session.schedule.id) {
      tap(doctor, '.session', index)
      await settle()
    }
    const info = phone.calls('GET', `/api/v1/schedules/${session.schedule.id}/waitlist`).pop()
    expect(info.status).toBe(200)
    expect(info.data).toMatchObject({ waiting: 0, can_join: true })
    expect(text(doctor, '.waitlist-count')).toBe('暂无人候补')
    expect(text(doctor, '.waitlist-how')).toContain(`保留 ${info.data.hold_minutes} 分钟`)
    expect(text(doctor, '.waitlist-patient.active')).toBe(me.name)
    expect(text(doctor, '.bar-action')).toBe('加入候补')

    // 加入候补: first in line; on to 我的候补.
    tap(doctor, '.bar-action')
    await settle()
    const [join] = phone.calls('POST', '/api/v1/waitlist')
    expect(join.status).toBe(201)
    expect(join.data).toMatchObject({ status: 'waiting', position: 1, waiting_ahead: 0, schedule: { id: session.schedule.id }, patient: { id: me.id } })
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '已加入候补', content: expect.stringContaining('您排在第 1 位') }))
    expect(text(doctor, '.waitlist-count')).toBe('1 人正在候补')
    expect(h.lastUrl()).toBe('/pages/waitlist/waitlist')
    const mine = await h.follow()
    expect(all(mine, '.waitlist-item')).toHaveLength(1)
    expect(text(mine, '.entry-status')).toBe('候补中')
    expect(text(mine, '.entry-doctor')).toBe(session.doctor.name)
    expect(text(mine, '.entry-position')).toBe('您排在第 1 位，有号源释放将首先为您保留')

    // Joining again for the same person: the server's words.
    tap(doctor, '.bar-action')
    await settle()
    const again = phone.calls('POST', '/api/v1/waitlist').pop()
    expect(again.status).toBe(409)
    expect(again.data.code).toBe('WAITLIST_EXISTS')
    expect(wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ title: '已在候补中', content: again.data.message }))

    // Another patient cancels: the slot goes to our user, held for the hospital's minutes.
    const leaving = held[0]
    const cancelled = await leaving.user.call('POST', `/api/v1/appointments/${leaving.appointment.id}/cancel`, {})
    expect(cancelled.statusCode).toBe(200)
    const cancelledAt = Date.now()
    await h.pollUntil(
      async () => {
        mine.instance.onPullDownRefresh()
        await settle()
        return text(mine, '.entry-status')
      },
      (status) => status === '待确认',
      { what: 'the offer after the cancellation' }
    )
    const offered = phone.calls('GET', '/api/v1/waitlist').pop().data.items[0]
    expect(offered.status).toBe('offered')
    expect(offered.offer.seconds_left).toBeGreaterThan(0)
    expect(offered.offer.seconds_left).toBeLessThanOrEqual(info.data.hold_minutes * 60)
    expect(text(mine, '.offer-title')).toBe(`已为您保留 ${offered.offer.slot_number} 号`)
    const m = /^请在 (\d\d):(\d\d) 内确认$/.exec(text(mine, '.offer-countdown'))
    expect(m).not.toBeNull()
    const shownSeconds = Number(m[1]) * 60 + Number(m[2])
    expect(shownSeconds).toBeLessThanOrEqual(info.data.hold_minutes * 60)
    expect(shownSeconds).toBeGreaterThan(info.data.hold_minutes * 60 - 60 - (Date.now() - cancelledAt) / 1000)
    // Nobody else can take the held slot meanwhile.
    const stranger = await h.otherUser()
    const strangerPerson = await stranger.addPatient('抢号路人')
    const heldSlot = session.slots.find((s) => s.number === offered.offer.slot_number)
    expect(heldSlot).toBeTruthy()
    const grab = await stranger.book(session.schedule.id, heldSlot.id, strangerPerson.id)
    expect(grab.statusCode).toBe(409)

    // The message about it (sent by a background job: pulled to refresh until it is there) opens 我的候补.
    const messages = await h.openUrl('/pages/messages/messages')
    const offerIndex = await h.pollUntil(
      async () => {
        const found = messages.instance.data.items.findIndex((n) => n.kind === 'waitlist_offered')
        if (found < 0) {
          messages.instance.onPullDownRefresh()
          await settle()
        }
        return found
      },
      (found) => found >= 0,
      { what: 'the 候补成功 message' }
    )
    tap(messages, '.message-item', offerIndex)
    await settle()
    expect(h.lastUrl()).toBe('/pages/waitlist/waitlist')

    // 确认预约: an appointment waiting for payment, then the payment page; paid, booked.
    tap(mine, '.confirm-offer')
    await settle()
    const [confirm] = phone.calls('POST', `/api/v1/waitlist/${offered.id}/confirm`)
    expect(confirm.status).toBe(201)
    expect(confirm.data).toMatchObject({ status: 'pending_payment', schedule_id: session.schedule.id, patient: { id: me.id } })
    const appointmentId = confirm.data.id
    expect(h.lastUrl()).toBe(`/pages/payment/payment?id=${appointmentId}`)
    const payment = await h.follow()
    expect(text(payment, '.pay-amount')).toBe(format.money(confirm.data.fee_fen))
    payment.instance.pollIntervalMs = 200
    tap(payment, '.pay-btn')
    await waitFor(() => wx.redirectTo.mock.calls.some((c) => c[0].url === `/pages/result/result?id=${appointmentId}`), { timeoutMs: 15000, what: 'the result page after paying' })
    const booked = await api.appointment(appointmentId)
    expect(booked).toMatchObject({ status: 'booked', payment: { status: 'paid' } })

    // 我的候补: 已预约, leading to the appointment.
    mine.instance.onPullDownRefresh()
    await settle()
    expect(text(mine, '.entry-status')).toBe('已预约')
    expect(exists(mine, '.confirm-offer')).toBe(false)
    tap(mine, '.open-appointment')
    await settle()
    expect(h.lastUrl()).toBe(`/pages/appointment/appointment?id=${appointmentId}`)
  }, TIMEOUT_MS)
})
