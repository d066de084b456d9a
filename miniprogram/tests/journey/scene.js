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
 * A bookable session in `hospital` with numbered slots: {department, date, doctor, schedule, slots}.
 * `pick(schedules)` chooses among the bookable ones (default: the first).
 */
async function bookableSession(hospital, pick = (list) => list[0]) {
  const tree = await get(`/api/v1/hospitals/${hospital.id}/departments`)
  const today = format.today()
  // From two days ahead: a journey that cancels must be before the cancellation deadline (up to 24 h
  // before the session at some hospitals), whatever the hour the tests run at.
  const start = format.addDays(today, 2)
  const end = format.addDays(today, hospital.booking_rules.release_days)
  for (const group of tree.items) {
    for (const department of group.children) {
      const days = await get(`/api/v1/departments/${department.id}/availability?start=${start}&end=${end}`)
      for (const day of days.items.filter((d) => d.released && d.remaining > 0)) {
        const doctors = await get(`/api/v1/departments/${department.id}/doctors?date=${day.date}&page_size=50`)
        const candidates = []
        doctors.items.forEach((doctor) =>
          doctor.schedules.forEach((schedule) => {
            if (schedule.bookable && schedule.remaining > 0) candidates.push({ doctor, schedule })
          })
        )
        const chosen = candidates.length && pick(candidates)
        if (chosen) {
          const slots = await get(`/api/v1/schedules/${chosen.schedule.id}/slots`)
          if (slots.items.length) return { department, date: day.date, doctor: chosen.doctor, schedule: slots.schedule, slots: slots.items }
        }
      }
    }
  }
  throw new Error(`no bookable session with slots at ${hospital.name}`)
}

module.exports = { get, hospitalWhere, bookableSession }
