/**
 * jest globalSetup for the contract and journey projects: one real server for the whole run.
 * A failure to start does not abort the run (unit results still count); it is handed to the tests,
 * which then fail with the server's output. YIYUE_SKIP_JOURNEY=1 starts nothing and the tests skip.
 * YIYUE_TEST_BASE_URL (+ YIYUE_TEST_SECRET_KEY) uses a server that is already running instead.
 */
const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')
const { startServer } = require('./server')
const { httpJson } = require('./real-wx')
const { DEMO_ACCOUNTS } = require('./live')

function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => {
          try {
            resolve(JSON.parse(body))
          } catch (e) {
            reject(new Error(`${url}: not JSON (HTTP ${res.statusCode})`))
          }
        })
      })
      .on('error', reject)
  })
}

/**
 * Saved to files so that test files can read them synchronously, while defining their tests: the API's
 * /openapi.json, and the fake WeChat's (<base>/__wechat__/__fake__/openapi.json, for the helper
 * endpoints utils/wechat.js calls in fake mode; {"error": ...} when that server has no fake WeChat).
 */
async function saveOpenapi(baseUrl, dir) {
  const file = path.join(dir, `yiyue-openapi-${process.pid}.json`)
  fs.writeFileSync(file, JSON.stringify(await getJson(`${baseUrl}/openapi.json`)))
  process.env.YIYUE_TEST_OPENAPI = file
  const fakeFile = path.join(dir, `yiyue-fake-wechat-openapi-${process.pid}.json`)
  let fake
  try {
    fake = await getJson(`${baseUrl}/__wechat__/__fake__/openapi.json`)
  } catch (err) {
    fake = { error: err.message }
  }
  fs.writeFileSync(fakeFile, JSON.stringify(fake))
  process.env.YIYUE_TEST_FAKE_OPENAPI = fakeFile
}

/** What a demo patient has: its completed visits and its member level (nothing for an unknown one). */
async function demoFacts(baseUrl, openid) {
  const facts = { openid, completed: 0, level: null }
  try {
    const code = (await httpJson('POST', `${baseUrl}/__wechat__/__fake__/login-code`, { openid })).data.code
    const tokens = (await httpJson('POST', `${baseUrl}/api/v1/auth/wechat-login`, { code })).data
    const auth = { authorization: `Bearer ${tokens.access_token}` }
    const visits = await httpJson('GET', `${baseUrl}/api/v1/me/appointments?status=completed&page_size=50`, undefined, auth)
    if (visits.statusCode === 200) facts.completed = visits.data.total
    const member = await httpJson('GET', `${baseUrl}/api/v1/members/me`, undefined, auth)
    if (member.statusCode === 200) facts.level = member.data.level.code
  } catch (err) {
    // Unreachable: as good as a demo without that patient (the journey stays a todo).
  }
  return facts
}

/**
 * The demo patients the journeys log in as (live.DEMO_ACCOUNTS): for each, the first candidate openid
 * that has what its journey needs, in YIYUE_TEST_DEMO_ACCOUNTS ({name: {openid, completed, level}},
 * JSON), read by live.testWhenDemoHas / live.demoOpenid while the tests are defined.
 */
async function probeDemo(baseUrl) {
  const found = {}
  for (const name of Object.keys(DEMO_ACCOUNTS)) {
    for (const openid of DEMO_ACCOUNTS[name].openids) {
      const facts = await demoFacts(baseUrl, openid)
      if (DEMO_ACCOUNTS[name].ready(facts)) {
        found[name] = facts
        break
      }
    }
  }
  process.env.YIYUE_TEST_DEMO_ACCOUNTS = JSON.stringify(found)
}

module.exports = async () => {
  if (process.env.YIYUE_SKIP_JOURNEY === '1') {
    if (!globalThis.__YIYUE_SKIP_SAID__) {
      globalThis.__YIYUE_SKIP_SAID__ = true
      // eslint-disable-next-line no-console
      console.log('\n*** YIYUE_SKIP_JOURNEY=1: the contract and journey tests (they need the real server) are SKIPPED ***\n')
    }
    return
  }
  if (process.env.YIYUE_TEST_OPENAPI || process.env.YIYUE_TEST_SERVER_ERROR) return // the other project's setup did it
  try {
    if (process.env.YIYUE_TEST_BASE_URL) {
      await saveOpenapi(process.env.YIYUE_TEST_BASE_URL, os.tmpdir())
      await probeDemo(process.env.YIYUE_TEST_BASE_URL)
      globalThis.__YIYUE_OPENAPI_FILES__ = [process.env.YIYUE_TEST_OPENAPI, process.env.YIYUE_TEST_FAKE_OPENAPI]
      return
    }
    const server = await startServer()
    globalThis.__YIYUE_SERVER__ = server
    process.env.YIYUE_TEST_BASE_URL = server.baseUrl
    process.env.YIYUE_TEST_SECRET_KEY = server.secretKey
    await saveOpenapi(server.baseUrl, server.workDir)
    await probeDemo(server.baseUrl)
  } catch (err) {
    process.env.YIYUE_TEST_SERVER_ERROR = err.message
  }
}
