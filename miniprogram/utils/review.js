/** Words for reviews (评价) and doctors' ratings, shared by the review, appointment and doctor pages. */
const format = require('./format')

/** The longest text the review form takes (the server's own limit is looser). */
const TEXT_MAX = 300
const STAR_WORDS = ['', '很差', '较差', '一般', '满意', '非常满意']

/** "★★★★☆" for 4 stars. */
function starsText(stars) {
  const n = Math.max(0, Math.min(5, Math.round(Number(stars) || 0)))
  return '★★★★★'.slice(0, n) + '☆☆☆☆☆'.slice(0, 5 - n)
}

/** A doctor's `rating` for display: null when nobody has reviewed yet (the list then shows nothing). */
function ratingView(rating, topTags = 3) {
  if (!rating || !rating.count) return null
  const average = rating.average === null || rating.average === undefined ? null : Number(rating.average).toFixed(1)
  return {
    average,
    count: rating.count,
    /** "★4.8 (123)" on the department's doctor list. */
    shortText: average === null ? `(${rating.count})` : `★${average} (${rating.count})`,
    tags: (rating.tags || []).slice(0, topTags),
  }
}

/** One review in a list: stars, masked reviewer, date. */
function reviewView(r) {
  return Object.assign({}, r, {
    starsText: starsText(r.stars),
    dateText: format.date(r.created_at),
    tags: r.tags || [],
    tagsText: (r.tags || []).join(' · '),
  })
}

/** The patient's own review (GET /appointments/{id}/review), hidden or not. */
function ownReviewView(r) {
  if (!r) return null
  return Object.assign(reviewView(r), {
    hiddenText: r.hidden ? `该评价已被医院隐藏：${r.hidden_reason || '不符合社区规范'}` : '',
    timeText: format.dateTime(r.created_at),
  })
}

module.exports = { TEXT_MAX, STAR_WORDS, starsText, ratingView, reviewView, ownReviewView }
