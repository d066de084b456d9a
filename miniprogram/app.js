const api = require('./utils/api')

App({
  onLaunch() {
    // Silent login and the server's settings, so the first page does not wait for them.
    api.ensureLogin().catch(() => {})
    api.getConfig().catch(() => {})
  },
})
