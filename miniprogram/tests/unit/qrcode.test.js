const jsQR = require('jsqr')
const qrcode = require('../../utils/qrcode')

/** Rasterises the matrix (4 px per module, 4-module quiet zone) and decodes it with jsQR. */
function decode(code) {
  const scale = 4
  const quiet = 4
  const n = (code.size + 2 * quiet) * scale
  const data = new Uint8ClampedArray(n * n * 4)
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const my = Math.floor(y / scale) - quiet
      const mx = Math.floor(x / scale) - quiet
      const dark = my >= 0 && mx >= 0 && my < code.size && mx < code.size && code.modules[my][mx]
      const o = (y * n + x) * 4
      data[o] = data[o + 1] = data[o + 2] = dark ? 0 : 255
      data[o + 3] = 255
    }
  }
  const result = jsQR(data, n, n)
  return result && result.data
}

test.each(['A', 'YY-7F3K2Q', 'CHK20260301000042', 'x'.repeat(40), 'y'.repeat(60), 'z'.repeat(84), 'w'.repeat(106), '签到码123'])(
  '%s encodes to a QR code a scanner reads back',
  (text) => {
    const code = qrcode.encode(text)
    expect(code.modules).toHaveLength(code.size)
    expect(decode(code)).toBe(text)
  }
)

test('too long for the supported versions is an error, not a broken code', () => {
  expect(() => qrcode.encode('x'.repeat(107))).toThrow('too long')
})
