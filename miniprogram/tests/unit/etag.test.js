/** Catalog and availability reads are revalidated with If-None-Match; a 304 answers the kept body. */
const api = require('../../utils/api')

const HOSPITAL = { id: 3, name: '协和医院', booking_rules: { release_days: 7 } }

describe('ETag revalidation', () => {
  beforeEach(() => loggedIn())

  test('the second read of a URL sends its ETag and a 304 answers the kept body', async () => {
    fake.route('GET /api/v1/hospitals/:id', (req) =>
      req.header['If-None-Match'] === '"v1"' ? { status: 304, header: { ETag: '"v1"' } } : { body: HOSPITAL, header: { ETag: '"v1"' } }
    )
    await expect(api.hospital(3)).resolves.toEqual(HOSPITAL)
    await expect(api.hospital(3)).resolves.toEqual(HOSPITAL)
    const calls = fake.calls('GET /api/v1/hospitals/3')
    expect(calls).toHaveLength(2)
    expect(calls[0].header['If-None-Match']).toBeUndefined()
    expect(calls[1].header['If-None-Match']).toBe('"v1"')
  })

  test('a changed answer replaces the kept one and its new ETag is sent next', async () => {
    let version = 1
    fake.route('GET /api/v1/schedules/:id/slots', () => ({ body: { total: version }, header: { etag: `"v${version}"` } }))
    await api.scheduleSlots(9)
    version = 2
    await expect(api.scheduleSlots(9)).resolves.toEqual({ total: 2 })
    await api.scheduleSlots(9)
    expect(fake.calls('GET /api/v1/schedules/9/slots').map((c) => c.header['If-None-Match'])).toEqual([undefined, '"v1"', '"v2"'])
  })

  test('a page changing the answer it got does not change what a 304 gives back', async () => {
    fake.route('GET /api/v1/hospitals/:id', (req) => (req.header['If-None-Match'] ? { status: 304 } : { body: JSON.parse(JSON.stringify(HOSPITAL)), header: { ETag: '"v1"' } }))
    const first = await api.hospital(3)
    first.name = '改过了'
    await expect(api.hospital(3)).resolves.toEqual(HOSPITAL)
  })

  test('each URL has its own ETag, and reads that are not catalog reads send none', async () => {
    fake.route('GET /api/v1/hospitals/:id', (req) => ({ body: { id: Number(req.path.split('/').pop()) }, header: { ETag: `"h${req.path.split('/').pop()}"` } }))
    fake.route('GET /api/v1/me/patients', { body: { items: [], total: 0 }, header: { ETag: '"p"' } })
    await api.hospital(1)
    await api.hospital(2)
    await api.hospital(2)
    await api.patients()
    await api.patients()
    const hospitals = fake.calls('GET').filter((c) => c.path.startsWith('/api/v1/hospitals/'))
    expect(hospitals.map((c) => c.header['If-None-Match'])).toEqual([undefined, undefined, '"h2"'])
    expect(fake.calls('GET /api/v1/me/patients').map((c) => c.header['If-None-Match'])).toEqual([undefined, undefined])
  })

  test('an answer without an ETag is not kept', async () => {
    fake.route('GET /api/v1/cities', { body: { items: [] } })
    await api.cities()
    await api.cities()
    expect(fake.calls('GET /api/v1/cities').map((c) => c.header['If-None-Match'])).toEqual([undefined, undefined])
  })
})
