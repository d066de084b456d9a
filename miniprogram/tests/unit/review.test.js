const { open, text, all, exists, tap, one, input } = require('../support/pages')
const fx = require('../support/fixtures')
const format = require('../../utils/format')
const reviewUtil = require('../../utils/review')

const COMPLETED = () => fx.appointment({ status: 'completed', status_label: '已就诊', cancellable: false, visit_date: format.addDays(fx.TODAY, -1) })

beforeEach(() => {
  loggedIn()
  fake.route('GET /api/v1/appointments/:id', { body: COMPLETED() })
  fake.route('GET /api/v1/review-tags', { body: fx.REVIEW_TAGS })
})

async function openReview(state = fx.reviewState()) {
  fake.route('GET /api/v1/appointments/:id/review', { body: state })
  const comp = open('review', { id: '900' })
  await settle()
  return comp
}

test('a reviewable visit: the visit, stars, the tags from the server, text with a counter and the deadline', async () => {
  const comp = await openReview()
  expect(text(comp, '.review-doctor')).toBe('张三 主任医师')
  expect(all(comp, '.star')).toHaveLength(5)
  expect(text(comp, '.star-word')).toBe('请点击星星评分')
  expect(all(comp, '.review-tag').map((n) => text(n))).toEqual(['耐心细致', '解释清楚', '等待时间长'])
  expect(all(comp, '.review-tag').map((n) => /negative/.test(n.dom.className))).toEqual([false, false, true])
  expect(text(comp, '.text-counter')).toBe('0/300')
  expect(text(comp, '.review-until')).toBe(`请在 ${format.addDays(fx.TODAY, 29)} 23:59 前完成评价，每次就诊可评价一次，提交后不可修改`)
})

test('stars are required before submitting', async () => {
  const comp = await openReview()
  tap(comp, '.submit-review')
  await settle()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请先选择星级（1-5 星）' }))
  expect(fake.calls('POST /api/v1/appointments/900/review')).toHaveLength(0)
})

test('stars, tags and text are sent; then the submitted review is shown', async () => {
  const comp = await openReview()
  tap(comp, '.star', 3)
  await settle()
  expect(all(comp, '.star.on')).toHaveLength(4)
  expect(text(comp, '.star-word')).toBe('满意')
  tap(comp, '.review-tag', 0)
  tap(comp, '.review-tag', 2)
  tap(comp, '.review-tag', 2) // and off again
  tap(comp, '.review-tag', 1)
  await settle()
  expect(all(comp, '.review-tag.active').map((n) => text(n))).toEqual(['耐心细致', '解释清楚'])
  input(comp, '.review-text', '  医生讲得很清楚  ')
  await settle()
  expect(text(comp, '.text-counter')).toBe('11/300')
  fake.route('POST /api/v1/appointments/:id/review', { status: 201, body: fx.ownReview({ stars: 4, tags: ['耐心细致', '解释清楚'], text: '医生讲得很清楚' }) })
  fake.route('GET /api/v1/appointments/:id/review', { body: fx.reviewState({ reviewable: false, reason: '已评价', review: fx.ownReview({ stars: 4, tags: ['耐心细致', '解释清楚'], text: '医生讲得很清楚' }) }) })
  tap(comp, '.submit-review')
  await settle()
  expect(fake.calls('POST /api/v1/appointments/900/review')[0].body).toEqual({ stars: 4, tags: ['耐心细致', '解释清楚'], text: '医生讲得很清楚' })
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '感谢您的评价' }))
  expect(exists(comp, '.review-form')).toBe(false)
  expect(text(comp, '.own-stars')).toBe('★★★★☆')
  expect(all(comp, '.own-tag').map((n) => text(n))).toEqual(['耐心细致', '解释清楚'])
  expect(text(comp, '.own-text')).toBe('医生讲得很清楚')
  expect(exists(comp, '.own-hidden')).toBe(false)
})

test('the text stops at 300 characters', async () => {
  const comp = await openReview()
  input(comp, '.review-text', '好'.repeat(320))
  await settle()
  expect(comp.instance.data.text).toHaveLength(300)
  expect(text(comp, '.text-counter')).toBe('300/300')
  expect(reviewUtil.TEXT_MAX).toBe(300)
})

test('text the server rejects (a phone number…) is shown under the text box, to be corrected', async () => {
  const comp = await openReview()
  tap(comp, '.star', 4)
  input(comp, '.review-text', '有事打我 13812345678')
  await settle()
  fake.route('POST /api/v1/appointments/:id/review', fx.error(422, 'REVIEW_TEXT_REJECTED', '评价内容不能包含手机号、身份证号等个人信息'))
  tap(comp, '.submit-review')
  await settle()
  expect(text(comp, '.text-error')).toBe('评价内容不能包含手机号、身份证号等个人信息')
  expect(one(comp, '.review-text').dom.className).toMatch(/has-error/)
  expect(wx.showModal).not.toHaveBeenCalled()
  expect(exists(comp, '.review-form')).toBe(true)
  input(comp, '.review-text', '医生很好')
  await settle()
  expect(text(comp, '.text-error')).toBe('')
})

test.each([
  ['REVIEW_WINDOW_CLOSED', '就诊已超过30天，无法评价'],
  ['NOT_REVIEWABLE', '该预约尚未完成就诊，暂不能评价'],
  ['REVIEW_EXISTS', '您已评价过本次就诊'],
])('%s: the server’s words in a modal, then the state as it is now', async (code, message) => {
  const comp = await openReview()
  tap(comp, '.star', 4)
  await settle()
  fake.route('POST /api/v1/appointments/:id/review', fx.error(409, code, message))
  const now = code === 'REVIEW_EXISTS' ? fx.reviewState({ reviewable: false, review: fx.ownReview() }) : fx.reviewState({ reviewable: false, reason: message })
  fake.route('GET /api/v1/appointments/:id/review', { body: now })
  tap(comp, '.submit-review')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ title: '无法提交评价', content: message }))
  expect(fake.calls('GET /api/v1/appointments/900/review')).toHaveLength(2)
  if (code === 'REVIEW_EXISTS') expect(text(comp, '.own-stars')).toBe('★★★★★')
  else expect(text(comp, '.not-reviewable-reason')).toBe(message)
})

test('a review the hospital has hidden says so, with the reason', async () => {
  const comp = await openReview(fx.reviewState({ reviewable: false, review: fx.ownReview({ hidden: true, hidden_reason: '含有不实信息' }) }))
  expect(text(comp, '.own-hidden')).toBe('该评价已被医院隐藏：含有不实信息')
  expect(fake.calls('GET /api/v1/review-tags')).toHaveLength(0)
  tap(comp, '.open-doctor')
  await settle()
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/doctor/doctor?id=7' }))
})

test('not reviewable: the server’s reason', async () => {
  const comp = await openReview(fx.reviewState({ reviewable: false, review_until: null, reason: '评价期限已过（就诊后30天内可评价）' }))
  expect(text(comp, '.not-reviewable-reason')).toBe('评价期限已过（就诊后30天内可评价）')
  expect(exists(comp, '.submit-review')).toBe(false)
})

test('a network failure on submit keeps what was written', async () => {
  const comp = await openReview()
  tap(comp, '.star', 2)
  input(comp, '.review-text', '一般')
  await settle()
  fake.route('POST /api/v1/appointments/:id/review', 'network')
  tap(comp, '.submit-review')
  await settle()
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: '网络连接失败，请检查网络后重试' }))
  expect(comp.instance.data.text).toBe('一般')
  expect(comp.instance.data.stars).toBe(3)
})
