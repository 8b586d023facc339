// Uploads one file through the upload page in Debian's Chromium and times it, for
// loadtest/real-link.sh (the page over a real shaped link with outages).
// Usage: node page_timed.mjs BASE KS FILE [READY]
// READY, if given, is a file created when the page has loaded, signed in and is handed
// the file: real-link.sh starts its outages from that moment, not from Chromium's start.
// Prints one JSON line: status, seconds, token, entry, and every state the file showed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base, ks, file, ready] = process.argv.slice(2);
const size = fs.statSync(file).size;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic'],
});
const page = await (await browser.newContext()).newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(base + '/');
await page.fill('#ks', ks);
await page.click('#signin-btn');
await page.waitForFunction(() => document.querySelector('#who').textContent.startsWith('Signed in'), null, { timeout: 30000 });
const states = [];
if (ready) fs.writeFileSync(ready, '');
const t0 = Date.now();
await page.setInputFiles('#files', file);
let status = 'timeout';
for (;;) {
  const s = await page.evaluate(() => {
    const f = document.querySelector('.file');
    return f && { state: f.querySelector('.state').textContent, done: f.classList.contains('done'),
      failed: f.classList.contains('failed'), acked: Number(f.dataset.acked || 0),
      token: f.dataset.token, entry: f.dataset.entry };
  }).catch(() => null);
  if (s && states[states.length - 1] !== s.state) states.push(s.state);
  if (s && (s.done || s.failed)) {
    status = s.done && s.acked === size ? 'ok' : 'failed';
    console.log(JSON.stringify({ status, seconds: (Date.now() - t0) / 1000, size, token: s.token, entry: s.entry, states }));
    break;
  }
  if (Date.now() - t0 > 3600 * 1000) { console.log(JSON.stringify({ status, states })); break; }
  await new Promise((r) => setTimeout(r, 100));
}
await browser.close();
process.exit(status === 'ok' ? 0 : 1);
