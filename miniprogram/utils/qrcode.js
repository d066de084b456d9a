/**
 * A small QR Code encoder (ISO/IEC 18004) for the check-in code: byte mode, error correction level M,
 * versions 1-6 (up to 106 bytes), all eight masks tried with the standard penalty rules.
 * Returns the module matrix (rows of booleans, true = dark); the page draws it with views, so no canvas
 * and no third-party code is needed. tests/unit/qrcode.test.js decodes the output with jsQR.
 */

// Level M, per version: [data codewords per block, number of blocks, EC codewords per block].
const BLOCKS_M = [null, [16, 1, 10], [28, 1, 16], [44, 1, 26], [32, 2, 18], [43, 2, 24], [27, 4, 16]]
const ALIGNMENT = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34]]
const FORMAT_LEVEL_M = 0 // two-bit level indicator for M

function gfMultiply(x, y) {
  let z = 0
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d)
    z ^= ((y >>> i) & 1) * x
  }
  return z
}

function rsDivisor(degree) {
  const result = new Array(degree).fill(0)
  result[degree - 1] = 1
  let root = 1
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < result.length; j++) {
      result[j] = gfMultiply(result[j], root)
      if (j + 1 < result.length) result[j] ^= result[j + 1]
    }
    root = gfMultiply(root, 0x02)
  }
  return result
}

function rsRemainder(data, divisor) {
  const result = divisor.map(() => 0)
  data.forEach((b) => {
    const factor = b ^ result.shift()
    result.push(0)
    divisor.forEach((coef, i) => {
      result[i] ^= gfMultiply(coef, factor)
    })
  })
  return result
}

function utf8Bytes(text) {
  const bytes = []
  const encoded = unescape(encodeURIComponent(text))
  for (let i = 0; i < encoded.length; i++) bytes.push(encoded.charCodeAt(i))
  return bytes
}

/** Data codewords for `bytes` in `version`: mode, count, data, terminator, padding. */
function dataCodewords(bytes, version) {
  const [perBlock, blocks] = BLOCKS_M[version]
  const capacityBits = perBlock * blocks * 8
  const bits = []
  const push = (value, length) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1)
  }
  push(0b0100, 4) // byte mode
  push(bytes.length, 8)
  bytes.forEach((b) => push(b, 8))
  push(0, Math.min(4, capacityBits - bits.length))
  push(0, (8 - (bits.length % 8)) % 8)
  for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) push(pad, 8)
  const words = []
  for (let i = 0; i < bits.length; i += 8) words.push(parseInt(bits.slice(i, i + 8).join(''), 2))
  return words
}

function interleave(data, version) {
  const [perBlock, blocks, ecLength] = BLOCKS_M[version]
  const divisor = rsDivisor(ecLength)
  const dataBlocks = []
  const ecBlocks = []
  for (let b = 0; b < blocks; b++) {
    const block = data.slice(b * perBlock, (b + 1) * perBlock)
    dataBlocks.push(block)
    ecBlocks.push(rsRemainder(block, divisor))
  }
  const out = []
  for (let i = 0; i < perBlock; i++) dataBlocks.forEach((block) => out.push(block[i]))
  for (let i = 0; i < ecLength; i++) ecBlocks.forEach((block) => out.push(block[i]))
  return out
}

function makeGrid(size, value) {
  const rows = []
  for (let y = 0; y < size; y++) rows.push(new Array(size).fill(value))
  return rows
}

function drawFunctionPatterns(version, modules, isFunction) {
  const size = modules.length
  const set = (x, y, dark) => {
    modules[y][x] = dark
    isFunction[y][x] = true
  }
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0)
    set(i, 6, i % 2 === 0)
  }
  ;[[3, 3], [size - 4, 3], [3, size - 4]].forEach(([cx, cy]) => {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx
        const y = cy + dy
        if (x < 0 || y < 0 || x >= size || y >= size) continue
        const dist = Math.max(Math.abs(dx), Math.abs(dy))
        set(x, y, dist !== 2 && dist !== 4)
      }
    }
  })
  const pos = ALIGNMENT[version]
  pos.forEach((cx, i) => {
    pos.forEach((cy, j) => {
      const nearFinder = (i === 0 && j === 0) || (i === 0 && j === pos.length - 1) || (i === pos.length - 1 && j === 0)
      if (nearFinder) return
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1)
      }
    })
  })
  drawFormatBits(0, modules, isFunction) // reserve the areas; the real bits come after masking
}

function drawFormatBits(mask, modules, isFunction) {
  const size = modules.length
  const data = (FORMAT_LEVEL_M << 3) | mask
  let rem = data
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537)
  const bits = ((data << 10) | rem) ^ 0x5412
  const bit = (i) => ((bits >>> i) & 1) !== 0
  const set = (x, y, dark) => {
    modules[y][x] = dark
    isFunction[y][x] = true
  }
  for (let i = 0; i <= 5; i++) set(8, i, bit(i))
  set(8, 7, bit(6))
  set(8, 8, bit(7))
  set(7, 8, bit(8))
  for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i))
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i))
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i))
  set(8, size - 8, true) // the dark module
}

function drawCodewords(codewords, modules, isFunction) {
  const size = modules.length
  let i = 0
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j
        const upward = ((right + 1) & 2) === 0
        const y = upward ? size - 1 - vert : vert
        if (!isFunction[y][x] && i < codewords.length * 8) {
          modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0
          i++
        }
      }
    }
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
]

function applyMask(mask, modules, isFunction) {
  const size = modules.length
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!isFunction[y][x] && MASKS[mask](x, y)) modules[y][x] = !modules[y][x]
    }
  }
}

/** The standard penalty score (lower is easier to scan). */
function penalty(modules) {
  const size = modules.length
  let score = 0
  const lines = []
  for (let y = 0; y < size; y++) lines.push(modules[y])
  for (let x = 0; x < size; x++) lines.push(modules.map((row) => row[x]))
  lines.forEach((line) => {
    let run = 1
    for (let i = 1; i <= size; i++) {
      if (i < size && line[i] === line[i - 1]) run++
      else {
        if (run >= 5) score += run - 2
        run = 1
      }
    }
    const s = line.map((d) => (d ? '1' : '0')).join('')
    const finderLike = /(?=(10111010000|00001011101))/g
    while (finderLike.exec(s)) {
      score += 40
      finderLike.lastIndex++
    }
  })
  let dark = 0
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (modules[y][x]) dark++
      if (x < size - 1 && y < size - 1) {
        const c = modules[y][x]
        if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1]) score += 3
      }
    }
  }
  score += Math.floor(Math.abs((dark * 100) / (size * size) - 50) / 5) * 10
  return score
}

/** Encodes `text` and returns {version, size, modules}. Throws if it is too long for version 6-M. */
function encode(text) {
  const bytes = utf8Bytes(String(text))
  let version = 1
  while (version <= 6 && bytes.length > BLOCKS_M[version][0] * BLOCKS_M[version][1] - 2) version++
  if (version > 6) throw new Error('text too long for the QR encoder')
  const codewords = interleave(dataCodewords(bytes, version), version)
  const size = 17 + 4 * version

  let best = null
  for (let mask = 0; mask < 8; mask++) {
    const modules = makeGrid(size, false)
    const isFunction = makeGrid(size, false)
    drawFunctionPatterns(version, modules, isFunction)
    drawCodewords(codewords, modules, isFunction)
    applyMask(mask, modules, isFunction)
    drawFormatBits(mask, modules, isFunction)
    const score = penalty(modules)
    if (!best || score < best.score) best = { score, modules, mask }
  }
  return { version, size, mask: best.mask, modules: best.modules }
}

module.exports = { encode }
