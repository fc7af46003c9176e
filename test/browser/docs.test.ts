// The API reference (/docs, swagger-ui served by the service) in a real Chromium against the real
// service: it renders every operation and its error examples under the page's CSP, with no CSP
// violation and no request to any other host, and the dashboard's footer links to it.
import path from 'node:path'
import t from 'tap'
import { requireNeeds } from '../support/needs.js'
import { launchChromium, SCREENSHOTS, startService } from './service.js'

t.setTimeout(600_000)

await requireNeeds(t, ['chromium'])

const service = await startService(t)

const browser = await launchChromium(t)
const context = await browser.newContext({ baseURL: service.origin, viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' })
t.teardown(() => context.close())

const foreignRequests: string[] = []
await context.route('**/*', (route) => {
  const url = new URL(route.request().url())
  if (url.origin === service.origin) return route.continue()
  foreignRequests.push(url.href)
  return route.abort('blockedbyclient')
})

// Every CSP refusal fires `securitypolicyviolation` on the document and logs a console error.
const violations: string[] = []
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (event) => {
    ;((window as unknown as { cspViolations?: string[] }).cspViolations ??= []).push(`${event.violatedDirective} ${event.blockedURI}`)
  })
})
const page = await context.newPage()
page.on('console', (message) => {
  if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
})
const pageViolations = async () => [...violations, ...(await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []))]

t.test('the dashboard footer links to the API reference, which renders every operation', async (t) => {
  await page.goto('/launch')
  await page.getByRole('contentinfo').getByRole('link', { name: 'API reference' }).click()
  await page.waitForURL('**/docs')
  await page.locator('.opblock').first().waitFor()
  const document = await (await page.request.get('/openapi.json')).json()
  const operations = Object.values(document.paths as Record<string, object>).reduce((sum: number, item) => sum + Object.keys(item).length, 0)
  t.equal(await page.locator('.opblock').count(), operations, `all ${operations} operations are listed`)
  t.match(await page.locator('.info .title').textContent(), /Mission Control API/)
})

t.test('an operation opens with its parameters and the error examples from the document', async (t) => {
  const scheduling = page.locator('.opblock-post').filter({ hasText: '/v1/launches' })
  await scheduling.locator('.opblock-summary').click()
  await scheduling.locator('.responses-table').waitFor()
  t.match(await scheduling.locator('.responses-table').textContent(), /MISSING_LAUNCH_PROPERTY|Missing required launch property/, 'a 400 example is shown')
  const lookup = page.locator('.opblock-get').filter({ hasText: '/v1/launches/{id}' })
  await lookup.locator('.opblock-summary').click()
  await lookup.locator('.parameters').waitFor()
  t.match(await lookup.locator('.parameters').textContent(), /id/, 'the path parameter is shown')
  await page.screenshot({ path: path.join(SCREENSHOTS, 'api-reference.png'), fullPage: true })
})

t.test('the reference ran under its CSP with no violation and asked no other host for anything', async (t) => {
  const response = await page.request.get('/docs')
  t.match(response.headers()['content-security-policy'], /script-src 'self'; style-src 'self'/)
  t.same(await pageViolations(), [], 'no CSP violation')
  t.same(foreignRequests, [], 'no foreign request')
})
