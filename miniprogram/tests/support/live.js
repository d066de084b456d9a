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
 * Demo patients the journeys log in as (their openid at the fake WeChat), seeded by `yiyue demo`, and
 * what a journey needs of each, by what server-setup.js found when it logged in as them: their
 * completed visits and their member level.
 */
const DEMO_ACCOUNTS = {
  // src/yiyue/demo/reviews.py: completed visits of the last four weeks, one of them left to review.
  reviewer: { openid: 'demo-review-01', needs: 'completed visits', ready: (f) => f.completed > 0 },
  // The demo's 金卡 patient (issue 11: "a demo account at 金卡 level").
  gold: { openid: 'demo-member-gold', needs: 'the 金卡 level', ready: (f) => f.level === 'gold' },
}

/**
 * `test(...)` when the server has `routes` and the demo has the patient `account` as the journey needs
 * it (DEMO_ACCOUNTS); otherwise a test.todo naming what is missing.
 */
function testWhenDemoHas(account, routes, name, fn, timeout) {
  const missing = missingRoutes(routes)
  if (missing.length) return test.todo(`${name} [PENDING: the server has no ${missing.join(', ')} yet]`)
  if (!SKIP && !process.env.YIYUE_TEST_SERVER_ERROR) {
    const found = JSON.parse(process.env.YIYUE_TEST_DEMO_ACCOUNTS || '{}')[account] || {}
    const demo = DEMO_ACCOUNTS[account]
    if (!demo.ready(found)) return test.todo(`${name} [PENDING: the demo's ${demo.openid} has no ${demo.needs} yet]`)
  }
  return test(name, fn, timeout)
}

module.exports = { SKIP, describeLive, baseUrl, missingRoutes, testWhenServerHas, testWhenDemoHas, DEMO_ACCOUNTS }
