const fs = require('fs')
const { stopServer } = require('./server')

module.exports = async () => {
  const server = globalThis.__YIYUE_SERVER__
  globalThis.__YIYUE_SERVER__ = null
  await stopServer(server)
  if (globalThis.__YIYUE_OPENAPI_FILE__) fs.rmSync(globalThis.__YIYUE_OPENAPI_FILE__, { force: true })
  globalThis.__YIYUE_OPENAPI_FILE__ = null
}
