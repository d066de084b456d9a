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

module.exports = { SKIP, describeLive, baseUrl }
