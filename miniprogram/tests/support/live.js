/** For tests against the live server: its base URL, or skip/fail the way the README promises. */
const SKIP = process.env.YIYUE_SKIP_JOURNEY === '1'

/** `describe`, or `describe.skip` (with a message) when YIYUE_SKIP_JOURNEY=1. */
function describeLive(name, fn) {
  if (SKIP) return describe.skip(`${name} [SKIPPED: YIYUE_SKIP_JOURNEY=1, needs the real server]`, fn)
  return describe(name, fn)
}

/** The server's base URL; throws (failing the test) if it could not be started. */
function baseUrl() {
  if (process.env.YIYUE_TEST_SERVER_ERROR) throw new Error(`the test server could not be started: ${process.env.YIYUE_TEST_SERVER_ERROR}`)
  if (!process.env.YIYUE_TEST_BASE_URL) throw new Error('no test server: YIYUE_TEST_BASE_URL is not set (globalSetup did not run?)')
  return process.env.YIYUE_TEST_BASE_URL
}

/**
 * The routes (names in utils/api.js ROUTES) the test server does not have yet, by its /openapi.json
 * (saved by server-setup.js). A journey that needs an announced route the server has not built yet
 * is a test.todo until it has (testWhenServerHas), never a test that cannot fail.
 */
function missingRoutes(names) {
  if (SKIP || process.env.YIYUE_TEST_SERVER_ERROR || !process.env.YIYUE_TEST_OPENAPI) return []
  const { ROUTES } = require('../../utils/api')
  const spec = JSON.parse(require('fs').readFileSync(process.env.YIYUE_TEST_OPENAPI, 'utf8'))
  const shape = (p) => p.replace(/\{[^}]+\}/g, '{}')
  return names.filter((name) => {
    const route = ROUTES[name]
    const key = Object.keys(spec.paths).find((p) => shape(p) === shape(route.path))
    return !(key && spec.paths[key][route.method.toLowerCase()])
  })
}

/** `test(name, fn, timeout)`, or `test.todo` naming what is missing while the server lacks one of `routes`. */
function testWhenServerHas(routes, name, fn, timeout) {
  const missing = missingRoutes(routes)
  if (missing.length) return test.todo(`${name} [PENDING: the server has no ${missing.join(', ')} yet]`)
  return test(name, fn, timeout)
}

/**
 * Demo patients the journeys log in as (by openid at the fake WeChat), seeded by `yiyue demo`, and what
 * a journey needs of each. server-setup.js logs in as each candidate openid and keeps the first that
 * has what is needed (its completed visits, its member level): live.demoOpenid(name).
 */
const DEMO_ACCOUNTS = {
  // src/yiyue/demo/reviews.py: completed visits of the last four weeks, one of them left to review.
  reviewer: { openids: ['demo-review-01'], needs: 'completed visits', ready: (f) => f.completed > 0 },
  // src/yiyue/demo/members.py makes the demo's first patient account 金卡: demo-user when the demo has
  // none, else the first one made before it (the reviews' demo-review-01 when those are seeded first).
  gold: { openids: ['demo-user', 'demo-review-01'], needs: 'the 金卡 level', ready: (f) => f.level === 'gold' },
}

/** The openid of the demo patient `name` that server-setup.js found ready, or null. */
function demoOpenid(name) {
  const found = JSON.parse(process.env.YIYUE_TEST_DEMO_ACCOUNTS || '{}')[name]
  return (found && found.openid) || null
}

/**
 * `test(...)` when the server has `routes` and the demo has the patient `account` as the journey needs
 * it (DEMO_ACCOUNTS); otherwise a test.todo naming what is missing.
 */
function testWhenDemoHas(account, routes, name, fn, timeout) {
  const missing = missingRoutes(routes)
  if (missing.length) return test.todo(`${name} [PENDING: the server has no ${missing.join(', ')} yet]`)
  if (!SKIP && !process.env.YIYUE_TEST_SERVER_ERROR && !demoOpenid(account)) {
    const demo = DEMO_ACCOUNTS[account]
    return test.todo(`${name} [PENDING: no demo patient (${demo.openids.join(' / ')}) has ${demo.needs} yet]`)
  }
  return test(name, fn, timeout)
}

module.exports = { SKIP, describeLive, baseUrl, missingRoutes, testWhenServerHas, testWhenDemoHas, DEMO_ACCOUNTS, demoOpenid }
