/**
 * Starts the real server for the contract and journey tests: `yiyue demo --port <free port>` in a fresh
 * temporary working directory (its own SQLite file and seed), with a known secret key so tests can
 * forge an expired token. YIYUE_BIN overrides the command (default: the repo's .venv/bin/yiyue);
 * YIYUE_TEST_BASE_URL points the tests at a server that is already running instead.
 */
const { spawn } = require('child_process')
const fs = require('fs')
const http = require('http')
const net = require('net')
const os = require('os')
const path = require('path')

const DEFAULT_BIN = path.resolve(__dirname, '../../../.venv/bin/yiyue')
const TEST_SECRET_KEY = 'miniprogram-journey-secret-key-0123456789abcdef'
const START_TIMEOUT_MS = 60000
// Every journey's many accounts come from 127.0.0.1: the server's per-IP and per-account limits (issue 9)
// would refuse them as the abuse they resemble. The limits have their own tests in the Python suite.
const JOURNEY_RATE_LIMITS = Object.fromEntries(
  [
    'BOOKING_ACCOUNT', 'BOOKING_IP', 'WECHAT_LOGIN_IP', 'REFRESH_IP', 'PATIENTS_ACCOUNT', 'PATIENTS_IP',
    'REALNAME_ACCOUNT', 'REALNAME_IP', 'RELEASE_ACCOUNT', 'RELEASE_IP', 'SEARCH_IP',
  ].map((name) => [`YIYUE_RATE_LIMIT_${name}`, '1000000/minute'])
)

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function healthy(baseUrl) {
  return new Promise((resolve) => {
    const req = http.get(`${baseUrl}/healthz`, { agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.setTimeout(2000, () => {
      req.destroy()
      resolve(false)
    })
  })
}

/** Resolves {baseUrl, child, workDir, secretKey} once /healthz answers 200; rejects with the server's output otherwise. */
async function startServer() {
  const bin = process.env.YIYUE_BIN || DEFAULT_BIN
  if (!fs.existsSync(bin) && !process.env.YIYUE_BIN) {
    throw new Error(`yiyue is not installed at ${bin} (set YIYUE_BIN, or install the server: python -m venv .venv && .venv/bin/pip install -e .)`)
  }
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yiyue-miniprogram-'))
  const env = Object.assign({}, process.env, {
    YIYUE_VAR_DIR: path.join(workDir, 'var'),
    YIYUE_SECRET_KEY: TEST_SECRET_KEY,
    PYTHONUNBUFFERED: '1',
  }, JOURNEY_RATE_LIMITS)
  delete env.YIYUE_DATABASE_URL // always the temporary SQLite file

  const child = spawn(bin, ['demo', '--port', String(port)], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-8000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  child.on('exit', (code, signal) => {
    exited = { code, signal }
  })
  child.on('error', (err) => {
    exited = { error: err.message }
  })

  const start = Date.now()
  let failure = null
  while (!failure) {
    if (exited) failure = `yiyue demo exited before answering /healthz (${JSON.stringify(exited)}):\n${output}`
    else if (await healthy(baseUrl)) return { baseUrl, child, workDir, secretKey: TEST_SECRET_KEY }
    else if (Date.now() - start > START_TIMEOUT_MS) failure = `yiyue demo did not answer ${baseUrl}/healthz within ${START_TIMEOUT_MS / 1000}s:\n${output}`
    else await new Promise((r) => setTimeout(r, 200))
  }
  await stopServer({ child, workDir })
  throw new Error(failure)
}

/** Stops the server started above (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
async function stopServer(server) {
  if (!server) return
  const { child } = server
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.on('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
  fs.rmSync(server.workDir, { recursive: true, force: true })
}

module.exports = { startServer, stopServer, TEST_SECRET_KEY }
