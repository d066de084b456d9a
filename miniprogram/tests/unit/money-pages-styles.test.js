/**
 * Layout rules of the pages around money, cancellation and 停诊, read from their WXSS (jsdom has no
 * layout engine; `npm run render -- OUT --only=appointment,appointments,payment,patient-edit` is where
 * they are looked at). Sizes in em or rpx only, so 长辈模式 scales them.
 */
const fs = require('fs')
const path = require('path')
const { ROOT } = require('../support/pages')
const { rules } = require('../support/wxss')

const FILES = ['appointment', 'appointments', 'payment', 'result', 'patient-edit'].map((p) => `pages/${p}/${p}.wxss`)

test.each(FILES)('%s: no px sizes (em / rpx, so 长辈模式 scales)', (file) => {
  const css = fs.readFileSync(path.join(ROOT, file), 'utf8')
  expect(css).not.toMatch(/\d(\.\d+)?px/)
})

test("就诊人 form: each row stacks its error under the input (not app.wxss's flex .row, which put it beside)", () => {
  expect(rules('pages/patient-edit/patient-edit.wxss')['.form .row'].display).toBe('block')
})

test('停诊 options are boxes of their own, the same doctor marked apart, in 长辈模式 too', () => {
  const r = rules('pages/appointment/appointment.wxss')
  expect(r['.rebook-option'].border).toBeTruthy()
  expect(r['.rebook-option-same']['border-color']).toBeTruthy()
  expect(r['.elder .rebook-option'].border).toBeTruthy()
  expect(r['.rebook-queue']['white-space']).toBe('nowrap') // 第2号 never breaks between 第2 and 号
})

test('not cancellable any more: the rule card looks like a warning, in both modes', () => {
  const r = rules('pages/appointment/appointment.wxss')
  expect(r['.cancel-rule-closed'].background).toBeTruthy()
  expect(r['.elder .cancel-rule-closed'].border).toBeTruthy()
})
