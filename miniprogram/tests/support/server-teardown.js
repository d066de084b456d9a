const fs = require('fs')
const { stopServer } = require('./server')

module.exports = async () => {
  const server = globalThis.__YIYUE_SERVER__
  globalThis.__YIYUE_SERVER__ = null
  await stopServer(server)
  ;(globalThis.__YIYUE_OPENAPI_FILES__ || []).forEach((file) => file && fs.rmSync(file, { force: true }))
  globalThis.__YIYUE_OPENAPI_FILES__ = null
}
