/** Finds things in the seeded demo data through the public API (what the journey's user will tap). */
const { httpJson } = require('../support/real-wx')
const format = require('../../utils/format')

async function get(path) {
  const res = await httpJson('GET', `${phone.baseUrl}${path}`)
  if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${JSON.stringify(res.data)}`)
  return res.data
}

/** The first hospital whose rules match (e.g. {payment_required: false}). */
async function hospitalWhere(rules) {
  const list = await get('/api/v1/hospitals?page_size=50')
  for (const item of list.items) {
    const hospital = await get(`/api/v1/hospitals/${item.id}`)
    if (Object.keys(rules).every((k) => hospital.booking_rules[k] === rules[k])) return hospital
  }
  throw new Error(`no seeded hospital with ${JSON.stringify(rules)}`)
}

/**
 * A bookable session in `hospital` with numbered slots: {department, date, doctor, schedule, slots,
 * candidates} (`candidates`: every bookable {doctor, schedule} of that department on that day).
 * `pick(candidates)` chooses among the bookable ones of a department's day (default: the first).
 * `fromDay` (default 2): the first day looked at, in days from today.
 */
async function bookableSession(hospital, pick = (list) => list[0], { fromDay = 2 } = {}) {
  const tree = await get(`/api/v1/hospitals/${hospital.id}/departments`)
  const today = format.today()
  // From two days ahead by default: a journey that cancels must be before the cancellation deadline
  // (up to 24 h before the session at some hospitals), whatever the hour the tests run at.
  const start = format.addDays(today, fromDay)
  const end = format.addDays(today, hospital.booking_rules.release_days)
  for (const group of tree.items) {
    for (const department of group.children) {
      const days = await get(`/api/v1/departments/${department.id}/availability?start=${start}&end=${end}`)
      for (const day of days.items.filter((d) => d.released && d.remaining > 0)) {
        const candidates = await bookableOn(department, day.date)
        const chosen = candidates.length && pick(candidates)
        if (chosen) {
          const slots = await get(`/api/v1/schedules/${chosen.schedule.id}/slots`)
          if (slots.items.length) return { department, date: day.date, doctor: chosen.doctor, schedule: slots.schedule, slots: slots.items, candidates }
        }
      }
    }
  }
  throw new Error(`no bookable session with slots at ${hospital.name}`)
}

/** Every bookable {doctor, schedule} (slots left) of a department on a day. */
async function bookableOn(department, date) {
  const doctors = await get(`/api/v1/departments/${department.id}/doctors?date=${date}&page_size=50`)
  const found = []
  doctors.items.forEach((doctor) =>
    doctor.schedules.forEach((schedule) => {
      if (schedule.bookable && schedule.remaining > 0) found.push({ doctor, schedule })
    })
  )
  return found
}

/** The hospitals whose rules match, in the list's order. */
async function hospitalsWhere(rules) {
  const list = await get('/api/v1/hospitals?page_size=50')
  const found = []
  for (const item of list.items) {
    const hospital = await get(`/api/v1/hospitals/${item.id}`)
    if (Object.keys(rules).every((k) => hospital.booking_rules[k] === rules[k])) found.push(hospital)
  }
  return found
}

module.exports = { get, hospitalWhere, hospitalsWhere, bookableSession, bookableOn }
