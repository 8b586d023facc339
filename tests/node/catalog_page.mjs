// Drives the page's catalog features in Debian's Chromium (headless) with
// playwright-core: while a (throttled) upload runs, enter description, tags and a
// co-editor; when it is done, open the entry's details, add captions from an SRT file,
// publish it to a course gallery, search My Media; take a screenshot.
// Usage: node catalog_page.mjs BASE KS FILE CAPTIONS OUTDIR
// Prints one JSON line: {"entry": id, "rows": n, "captionMsg": …, "publishMsg": …}.
import { chromium } from 'playwright-core';

const [base, ks, file, captions, outdir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
const page = await context.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 96 * 1024 });

await page.goto(base + '/');
await page.fill('#ks', ks);
await page.click('#signin-btn');
await page.waitForFunction(() => document.querySelector('#who').textContent.startsWith('Signed in'), null, { timeout: 90000 });
await page.setInputFiles('#files', file);
const card = page.locator('.file').last();
await card.locator('summary').click();
await card.locator('[data-field=description]').fill('Week 1 lecture');
await card.locator('[data-field=tags]').fill('physics,week1');
await card.locator('[data-field=entitledUsersEdit]').fill('bob');
await page.waitForSelector('.file.done', { timeout: 90000 });
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
const entry = await page.evaluate(() => document.querySelector('.file.done').dataset.entry);
// The page lists the new entry by itself when the upload ends; wait for that listing
// (not another refresh, which would re-render the table under the clicks below).
const toggle = page.locator(`.toggle[data-entry="${entry}"]`);
await toggle.waitFor({ timeout: 90000 });
await page.waitForTimeout(300);
await toggle.click();
const panel = page.locator(`.panel[data-entry="${entry}"]`);
await panel.locator('.lang').selectOption('Spanish');
await panel.locator('.cap').setInputFiles(captions);
await page.waitForFunction((id) => document.querySelector(`.panel[data-entry="${id}"] .msg`).textContent.length > 0, entry, { timeout: 90000 });
const captionMsg = await panel.locator('.msg').textContent();
await panel.locator('.publish').click();
await page.waitForFunction((id) => /ublish/.test(document.querySelector(`.panel[data-entry="${id}"] .msg`).textContent), entry, { timeout: 90000 });
const publishMsg = await panel.locator('.msg').textContent();
await page.fill('#search', 'week1');
await page.press('#search', 'Enter');
await page.waitForFunction(() => document.querySelectorAll('#entries .toggle').length === 1, null, { timeout: 90000 });
const rows = await page.evaluate(() => document.querySelectorAll('#entries .toggle').length);
const role = await page.evaluate((id) => document.querySelector(`.toggle[data-entry="${id}"]`).closest('tr').querySelector('.role').textContent, entry);
await page.screenshot({ path: `${outdir}/my-media.png`, fullPage: true });
await browser.close();
console.log(JSON.stringify({ entry, rows, role, captionMsg, publishMsg }));
