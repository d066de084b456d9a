/**
 * Loading pages the way WeChat does, in jsdom: each page is a Component, so miniprogram-simulate can
 * load, render and attach it; we then call the page lifecycles (onLoad(query), onShow) ourselves.
 */
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../..')
const loaded = {}
let shared = null

/**
 * Custom components are registered once per test file and handed to every page: under jest a module
 * runs once per file, so a second registration of the same component would find no definition.
 */
function sharedComponents() {
  if (!shared) shared = { state: simulate.load(path.join(ROOT, 'components/state/state'), 'state', { rootPath: ROOT }) }
  return shared
}

function load(name) {
  // One load per page per test file: the page's JS runs once, then renders are cheap.
  if (!loaded[name]) loaded[name] = simulate.load(path.join(ROOT, 'pages', name, name), { rootPath: ROOT, usingComponents: sharedComponents() })
  return loaded[name]
}

/** Resolves when no request is in flight for a few consecutive ticks. `isBusy` says if one is. */
async function settle(isBusy, { maxMs = 10000 } = {}) {
  const start = Date.now()
  let quiet = 0
  while (quiet < 3) {
    await new Promise((r) => setTimeout(r, 0))
    quiet = isBusy() ? 0 : quiet + 1
    if (Date.now() - start > maxMs) throw new Error('page did not settle (requests still in flight)')
  }
}

/** Resolves once `condition()` is true; fails after `timeoutMs`. */
async function waitFor(condition, { timeoutMs = 5000, what = 'condition' } = {}) {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Renders a page and runs onLoad(query) and onShow, like wx.navigateTo would. */
function open(name, query = {}) {
  const comp = simulate.render(load(name))
  const parent = document.createElement('parent-wrapper')
  comp.attach(parent)
  if (comp.instance.onLoad) comp.instance.onLoad(query)
  if (comp.instance.onShow) comp.instance.onShow()
  return comp
}

/**
 * Matches in the page and inside its custom components (by convention every custom component used in
 * a page carries the class "cmp", since selectors do not cross shadow trees).
 */
function all(comp, selector) {
  let nodes = comp.querySelectorAll(selector)
  comp.querySelectorAll('.cmp').forEach((child) => {
    nodes = nodes.concat(all(child, selector))
  })
  return nodes
}

function one(comp, selector, index = 0) {
  const nodes = all(comp, selector)
  if (!nodes[index]) throw new Error(`no element ${selector}[${index}] in:\n${comp.dom.innerHTML.slice(0, 2000)}`)
  return nodes[index]
}

const BLOCKS = ['WX-VIEW', 'WX-BUTTON']

function readable(node) {
  if (node.nodeType === 3) return node.nodeValue
  let out = ''
  node.childNodes.forEach((child) => {
    out += readable(child)
  })
  return BLOCKS.indexOf(node.nodeName) >= 0 ? ` ${out} ` : out
}

/** What the user reads in the first match: text with a space between block elements, collapsed. */
function text(comp, selector) {
  const node = selector ? all(comp, selector)[0] : comp
  return node ? readable(node.dom).replace(/\s+/g, ' ').trim() : ''
}

function exists(comp, selector) {
  return all(comp, selector).length > 0
}

function tap(comp, selector, index = 0) {
  one(comp, selector, index).dispatchEvent('tap')
}

function input(comp, selector, value) {
  one(comp, selector).dispatchEvent('input', { detail: { value } })
}

module.exports = { ROOT, open, settle, waitFor, all, one, text, exists, tap, input, simulate }
