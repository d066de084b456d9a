/**
 * Contract: everything utils/api.js may send and the fields the pages read exist in the server's
 * /openapi.json, and the fake WeChat helper endpoints utils/wechat.js calls in fake mode exist in the
 * fake's own spec. Routes the server has not built yet go in PENDING and are reported as todo; once
 * the server has one, the test insists it leaves PENDING (so the list cannot go stale).
 *
 * Error codes: every code the mini-program's own code names (the codes it compares err.code with) must
 * be declared by some error response of the server, in its x-error-codes list (written by
 * yiyue.core.errors.responses), unless the mini-program makes the code up itself (CLIENT_CODES).
 */
const fs = require('fs')
const http = require('http')
const path = require('path')
const { ROUTES } = require('../../utils/api')
const { FAKE_PATHS } = require('../../utils/wechat')
const { SKIP, describeLive } = require('../support/live')

// Route names announced for a later server issue: todo until the server has them, then the test insists
// they leave the list (empty now: issue 11's members, reviews and waitlist routes are all on the server).
const PENDING = []

// Fields announced for routes the server already has ({route name: [fields]}), reported as todo until
// the server answers with them; then the test insists they leave the list. (Issue 11's doctor ratings
// were here until the server had them.)
const PENDING_FIELDS = {}

// Error codes announced for a later server issue that the pages already handle: todo until some error
// response of the server declares them; then the test insists they leave the list.
const PENDING_CODES = []

const APPOINTMENT = [
  'id', 'status', 'status_label', 'queue_number', 'fee_fen', 'visit_date', 'period_label', 'starts_at', 'ends_at',
  'check_in_code', 'created_at', 'cancel_deadline', 'cancellable', 'pay_deadline', 'hospital.name', 'hospital.address',
  'department.name', 'department.location', 'doctor.name', 'doctor.title', 'patient.name', 'patient.id_number_masked',
  // Issue 14: the money, the cancellation rule and the 停诊 offer (the rebook object's fields are listed in REBOOK).
  'status_reason', 'refund_on_cancel', 'cancel_rule', 'payment_notice', 'rebook',
  ...['status', 'status_label', 'amount_fen', 'paid_at', 'refund'].map((f) => `payment.${f}`),
  // Issue 11: the member discount.
  'payment.discount_fen', 'payment.original_fen',
  ...['status', 'status_label', 'amount_fen', 'refunded_at'].map((f) => `payment.refund.${f}`),
]
const REBOOK = ['rebook.expires_at', 'rebook.accepted_appointment_id',
  ...['schedule_id', 'same_doctor', 'doctor.name', 'doctor.title', 'department.name', 'department.location', 'visit_date',
    'period_label', 'starts_at', 'ends_at', 'queue_number', 'fee_fen'].map((f) => `rebook.options[].${f}`)]
const SCHEDULE = ['id', 'doctor_id', 'visit_date', 'period_label', 'starts_at', 'ends_at', 'fee_fen', 'status', 'released', 'release_at', 'remaining', 'bookable']
const TOKENS = ['access_token', 'refresh_token', 'account.id']
const RATING = ['average', 'count', 'tags[].tag', 'tags[].count']
const OWN_REVIEW = ['id', 'stars', 'tags', 'text', 'created_at', 'hidden', 'hidden_reason']
const WAITLIST_ENTRY = ['id', 'status', 'status_label', 'position', 'waiting_ahead', 'joined_at',
  ...['id', 'visit_date', 'period_label', 'starts_at'].map((f) => `schedule.${f}`), 'hospital.name', 'department.name',
  'doctor.id', 'doctor.name', 'doctor.title', 'patient.name', 'offer.slot_number', 'offer.expires_at', 'offer.seconds_left',
  'appointment_id', 'end_reason']
const each = (prefix, fields) => fields.map((f) => `${prefix}.${f}`)

/** The response fields the mini-program reads, per route. */
const READS = {
  login: TOKENS,
  refresh: TOKENS,
  config: ['subscribe_templates.booking_confirmed', 'subscribe_templates.visit_reminder', 'max_visit_persons'],
  hospitals: ['total', ...each('items[]', ['id', 'name', 'level', 'city', 'district', 'address'])],
  search: [
    ...each('hospitals[]', ['id', 'name', 'level', 'city', 'district']),
    ...each('departments[]', ['id', 'name', 'parent_name', 'hospital.id', 'hospital.name']),
    ...each('doctors[]', ['id', 'name', 'title', 'specialty', 'department.id', 'department.name', 'hospital.id', 'hospital.name']),
  ],
  hospital: ['id', 'name', 'level', 'city', 'district', 'address', 'phone', 'intro',
    ...each('booking_rules', ['release_days', 'release_time', 'stop_minutes_before', 'cancel_minutes_before', 'max_active_appointments', 'payment_required'])],
  hospitalDepartments: ['items[].id', 'items[].name', ...each('items[].children[]', ['id', 'name', 'location'])],
  department: ['id', 'name', 'location', 'hospital_id'],
  departmentAvailability: each('items[]', ['date', 'remaining', 'released', 'release_at']),
  departmentDoctors: [...each('items[]', ['id', 'name', 'title', 'specialty', 'fee_fen', 'remaining']), ...each('items[].schedules[]', SCHEDULE), ...each('items[].rating', RATING)],
  doctor: ['id', 'name', 'title', 'specialty', 'intro', 'fee_fen', 'hospital.id', 'hospital.name', 'department.name', 'department.location', ...each('rating', RATING)],
  doctorSchedules: each('items[]', SCHEDULE),
  scheduleSlots: [...each('items[]', ['id', 'number', 'starts_at', 'ends_at', 'status']), ...each('schedule', SCHEDULE),
    // Issue 11: the numbers kept for members.
    'items[].member_only', ...each('schedule', ['member_reserved', 'member_share_opens_at', 'member_release_at'])],
  patients: each('items[]', ['id', 'name', 'relationship', 'relationship_label', 'id_number_masked', 'phone_masked', 'sex', 'age',
    // Issue 9: 实名认证.
    'realname_status', 'realname_label', 'realname_message']),
  createPatient: ['id', 'realname_status', 'realname_label', 'realname_message'],
  updatePatient: ['id', 'realname_status'],
  verifyPatient: ['id', 'realname_status', 'realname_label', 'realname_message'],
  book: ['id', 'status'],
  myAppointments: ['total', ...each('items[]', APPOINTMENT)],
  appointment: [...APPOINTMENT, ...REBOOK],
  cancelAppointment: APPOINTMENT,
  payAppointment: ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'],
  rebookAppointment: ['id', 'status'],
  notifications: ['total', 'unread', ...each('items[]', ['id', 'kind', 'title', 'body', 'appointment_id', 'created_at', 'read_at'])],
  // Issue 11
  member: ['level.code', 'level.name', 'points_balance', 'points_12m',
    ...each('next_level', ['code', 'name', 'min_points', 'points_needed']), 'privileges.descriptions',
    ...each('levels[]', ['code', 'name', 'min_points', 'descriptions']), 'earning_rules', 'expiry_rule'],
  memberLedger: ['total', ...each('items[]', ['id', 'delta', 'balance_after', 'kind_label', 'note', 'created_at', 'expires_at'])],
  reviewTags: each('tags[]', ['tag', 'positive']),
  appointmentReview: ['reviewable', 'review_until', 'reason', ...each('review', OWN_REVIEW)],
  submitReview: ['id'],
  doctorReviews: ['total', ...each('items[]', ['id', 'stars', 'tags', 'text', 'reviewer', 'created_at']), ...each('rating', RATING)],
  scheduleWaitlist: ['waiting', 'can_join', 'hold_minutes'],
  joinWaitlist: WAITLIST_ENTRY,
  myWaitlist: ['total', ...each('items[]', WAITLIST_ENTRY)],
  waitlistEntry: WAITLIST_ENTRY,
  confirmWaitlist: ['id', 'status'],
}

// --- error codes -----------------------------------------------------------------------------------

/** Where the server lists the codes an error response can carry (yiyue.core.errors.ERROR_CODES_KEY). */
const ERROR_CODES_KEY = 'x-error-codes'

/** The mini-program's own code, relative to miniprogram/ (tests and node_modules are not part of it). */
const SOURCES = ['app.js', 'config.js', 'behaviors', 'components', 'pages', 'utils']

/** Upper-case strings in the sources that are not error codes. */
const NOT_CODES = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'NFKC'] // HTTP methods in utils/api.js ROUTES; the Unicode form in utils/validate.js

/**
 * Codes the mini-program makes up itself: no server answer carries them, so the server cannot declare
 * them. Only these may be missing from the spec; the test insists each is still used, and never declared.
 */
const CLIENT_CODES = {
  NETWORK_ERROR: 'utils/api.js: wx.request failed (no connection, timeout): there is no server answer at all',
  WX_LOGIN_FAILED: 'utils/wechat.js: wx.login failed on the phone, before the server is asked',
}

const CODE = '[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*'
const QUOTED_CODE = new RegExp(`(['"\`])(${CODE})\\1`, 'g')
const KEY_CODE = new RegExp(`[{,]\\s*(${CODE})\\s*:`, 'g')

/**
 * The error-code-like names in one source text: upper-case string literals ('SOLD_OUT', as compared
 * with err.code or listed in an array of codes) and upper-case keys of object literals
 * ({ INVALID_PHONE: 'phone' }[err.code]); comments do not count.
 */
function codesIn(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1')
  const found = new Set()
  for (const m of code.matchAll(QUOTED_CODE)) found.add(m[2])
  for (const m of code.matchAll(KEY_CODE)) found.add(m[1])
  return [...found].filter((c) => c.length >= 3 && NOT_CODES.indexOf(c) < 0)
}

function sourceFiles(entry) {
  const full = path.join(__dirname, '../..', entry)
  if (fs.statSync(full).isFile()) return /\.js$/.test(entry) ? [entry] : []
  return fs.readdirSync(full).sort().flatMap((name) => sourceFiles(path.join(entry, name)))
}

/** {code: [files that name it]} over the mini-program's sources. */
function codesUsed() {
  const used = {}
  SOURCES.flatMap(sourceFiles).forEach((file) => {
    codesIn(fs.readFileSync(path.join(__dirname, '../..', file), 'utf8')).forEach((c) => {
      used[c] = (used[c] || []).concat(file)
    })
  })
  return used
}

/** {code: ["METHOD path status", ...]} over every error response of the spec. */
function codesDeclared(openapi) {
  const declared = {}
  Object.keys(openapi.paths).forEach((p) => {
    Object.keys(openapi.paths[p]).forEach((method) => {
      const responses = openapi.paths[p][method].responses || {}
      Object.keys(responses)
        .filter((status) => /^[45]/.test(status) || status === 'default')
        .forEach((status) => {
          ;(responses[status][ERROR_CODES_KEY] || []).forEach((c) => {
            declared[c] = (declared[c] || []).concat(`${method.toUpperCase()} ${p} ${status}`)
          })
        })
    })
  })
  return declared
}

describe('finding error codes in the mini-program sources', () => {
  test('string literals and object keys count; comments, HTTP methods and other names do not', () => {
    const text = [
      "const PICK_AGAIN = ['SOLD_OUT', \"SLOT_TAKEN\"]",
      "if (err.code === `PAYMENT_EXPIRED`) go() // unlike 'IN_A_COMMENT'",
      "const field = { INVALID_ID_NUMBER: 'idNumber', INVALID_PHONE: 'phone' }[err.code]",
      "/* 'ALSO_A_COMMENT' */ const PAGE_SIZE = 20; call({ method: 'POST', url: 'https://x.test/a' })",
      "module.exports = { PAGE_SIZE, PICK_AGAIN }",
    ].join('\n')
    expect(codesIn(text).sort()).toEqual(['INVALID_ID_NUMBER', 'INVALID_PHONE', 'PAYMENT_EXPIRED', 'SLOT_TAKEN', 'SOLD_OUT'])
  })

  test('the pages and utils name some codes', () => {
    expect(Object.keys(codesUsed()).length).toBeGreaterThan(0)
  })
})

function loadSpec(file) {
  if (SKIP) return null
  if (process.env.YIYUE_TEST_SERVER_ERROR) return { error: process.env.YIYUE_TEST_SERVER_ERROR }
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

const spec = loadSpec(process.env.YIYUE_TEST_OPENAPI)
const fakeSpec = loadSpec(process.env.YIYUE_TEST_FAKE_OPENAPI)
const shape = (p) => p.replace(/\{[^}]+\}/g, '{}')

function operation(route) {
  const key = Object.keys(spec.paths).find((p) => shape(p) === shape(route.path))
  return key && spec.paths[key][route.method.toLowerCase()]
}

function resolve(schema) {
  let s = schema
  for (let i = 0; s && i < 10; i++) {
    if (s.$ref) s = s.$ref.split('/').slice(1).reduce((node, part) => node[part], spec)
    else if (s.anyOf || s.oneOf) s = (s.anyOf || s.oneOf).find((x) => x.type !== 'null')
    else if (s.allOf && s.allOf.length === 1) s = s.allOf[0]
    else break
  }
  return s
}

/** Follows "a.b[].c" through a JSON schema; null when a step is missing. */
function field(schema, dotted) {
  let s = resolve(schema)
  for (const part of dotted.split('.')) {
    const isArray = part.endsWith('[]')
    const name = isArray ? part.slice(0, -2) : part
    // A map with free keys (dict[str, str]) cannot name its keys: checked on the live server below.
    if (s && !s.properties && s.additionalProperties) s = resolve(s.additionalProperties)
    else s = s && s.properties && resolve(s.properties[name])
    if (isArray) s = s && s.type === 'array' ? resolve(s.items) : null
    if (!s) return null
  }
  return s
}

function responseSchema(op) {
  const ok = Object.keys(op.responses).find((code) => /^2/.test(code) && code !== '204')
  const content = ok && op.responses[ok].content
  return content && content['application/json'] && content['application/json'].schema
}

describeLive('the mini-program against /openapi.json', () => {
  test('the server answered', () => {
    expect(spec.error).toBeUndefined()
    expect(Object.keys(spec.paths).length).toBeGreaterThan(0)
  })

  if (!spec || spec.error) return

  test('every route in ROUTES is a distinct method and path', () => {
    const keys = Object.keys(ROUTES).map((name) => `${ROUTES[name].method} ${shape(ROUTES[name].path)}`)
    expect(new Set(keys).size).toBe(keys.length)
  })

  describe('the fake WeChat helpers utils/wechat.js calls in fake mode (config.fakeWechat)', () => {
    test('the fake WeChat answered its /__fake__/openapi.json', () => {
      expect(fakeSpec.error).toBeUndefined()
    })
    Object.keys(FAKE_PATHS).forEach((name) => {
      test(`POST /__wechat__${FAKE_PATHS[name]} (${name}) exists`, () => {
        const paths = (fakeSpec && fakeSpec.paths) || {}
        expect(paths[FAKE_PATHS[name]] && paths[FAKE_PATHS[name]].post).toBeTruthy()
      })
    })
  })

  test('GET /api/v1/config names the two templates asked for before booking (a free-keyed map in the schema)', async () => {
    const config = await new Promise((resolve, reject) => {
      http.get(`${process.env.YIYUE_TEST_BASE_URL}/api/v1/config`, (res) => {
        let body = ''
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve(JSON.parse(body)))
      }).on('error', reject)
    })
    expect(config.subscribe_templates.booking_confirmed).toEqual(expect.any(String))
    expect(config.subscribe_templates.visit_reminder).toEqual(expect.any(String))
  })

  describe(`every error code the mini-program names is declared in the x-error-codes of some error response`, () => {
    const used = codesUsed()
    const declared = codesDeclared(spec)

    Object.keys(used)
      .sort()
      .filter((code) => !CLIENT_CODES[code])
      .forEach((code) => {
        if (PENDING_CODES.indexOf(code) >= 0 && !declared[code]) {
          test.todo(`${code} (${used[code].join(', ')}): pending, announced for issue 11`)
          return
        }
        test(`${code} (${used[code].join(', ')})`, () => {
          if (PENDING_CODES.indexOf(code) >= 0) throw new Error(`${code} is now declared by the server: remove it from PENDING_CODES`)
          if (!declared[code]) throw new Error(`${code}, named in ${used[code].join(', ')}, is declared by no error response of the server`)
        })
      })

    Object.keys(CLIENT_CODES)
      .sort()
      .forEach((code) => {
        test(`${code} is made up by the mini-program (${CLIENT_CODES[code]})`, () => {
          if (!used[code]) throw new Error(`${code} is no longer named in the sources: remove it from CLIENT_CODES`)
          if (declared[code]) throw new Error(`${code} is declared by the server (${declared[code].join('; ')}): remove it from CLIENT_CODES`)
        })
      })
  })

  Object.keys(ROUTES).forEach((name) => {
    const route = ROUTES[name]
    const label = `${route.method} ${route.path} (${name})`
    const op = operation(route)

    if (PENDING.indexOf(name) >= 0 && !op) {
      test.todo(`${label}: pending, announced for the next server issue`)
      return
    }

    describe(label, () => {
      test('exists', () => {
        expect(op).toBeTruthy()
        if (PENDING.indexOf(name) >= 0) throw new Error(`${name} now exists on the server: remove it from PENDING`)
      })
      if (!op) return

      test('takes the query parameters and headers sent', () => {
        const params = (op.parameters || []).map((p) => `${p.in}:${p.name.toLowerCase()}`)
        ;(route.query || []).forEach((q) => expect(params).toContain(`query:${q}`))
        ;(route.headers || []).forEach((h) => expect(params).toContain(`header:${h.toLowerCase()}`))
      })

      test('takes the body fields sent', () => {
        const fields = route.body || []
        if (!fields.length) return
        const body = op.requestBody && resolve(op.requestBody.content['application/json'].schema)
        expect(body && body.properties).toBeTruthy()
        fields.forEach((f) => expect(Object.keys(body.properties)).toContain(f))
      })

      const reads = READS[name] || []
      const pendingFields = PENDING_FIELDS[name] || []
      if (reads.length) {
        test('answers with the fields the pages read', () => {
          const schema = responseSchema(op)
          expect(schema).toBeTruthy()
          expect(reads.filter((f) => !field(schema, f) && pendingFields.indexOf(f) < 0)).toEqual([])
        })
      }
      pendingFields.forEach((f) => {
        const schema = responseSchema(op)
        if (schema && field(schema, f)) {
          test(`answers with ${f}`, () => {
            throw new Error(`${name} now answers with ${f}: remove it from PENDING_FIELDS`)
          })
        } else test.todo(`answers with ${f}: pending, announced for issue 11`)
      })
    })
  })
})
