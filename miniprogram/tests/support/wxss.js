/**
 * A WXSS file read as selector -> { prop: value } (the last declaration wins), for tests of layout rules
 * that jsdom cannot lay out (grid columns, sticky bars, sizes in em).
 */
const fs = require('fs')
const path = require('path')
const postcss = require('postcss')
const { ROOT } = require('./pages')

function rules(file) {
  const out = {}
  postcss.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')).walkRules((rule) => {
    rule.selectors.forEach((sel) => {
      out[sel] = out[sel] || {}
      rule.walkDecls((d) => {
        out[sel][d.prop] = d.value
      })
    })
  })
  return out
}

module.exports = { rules }
