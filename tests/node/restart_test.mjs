// The page survives a browser restart (Debian's Chromium, a persistent profile):
//  1. upload BIG, SMALL and THIRD with the upload rate throttled; close the browser
//     while all three are unfinished;
//  2. open the same profile again and sign in: the page lists BIG and THIRD with their
//     sizes and the bytes the server holds; SMALL (kept in IndexedDB) finishes by itself;
//  3. discard THIRD; choose BIG_COPY (the same bytes under another name): it continues
//     from the server's offset and finishes.
// Usage: node restart_test.mjs BASE KS BIG SMALL THIRD BIG_COPY PROFILE_DIR
// Prints one JSON line: tokens, what was listed, where BIG resumed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, ks, big, small, third, bigCopy, profile] = process.argv.slice(2);
const RATE = 1536 * 1024; // bytes/s for the whole page
const launch = () => chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1000, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic'],
});
let context = await launch();
const fail = async (msg) => { console.error(msg); await context.close(); process.exit(1); };

async function open() {
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(base + '/');
  await page.fill('#ks', ks);
  await page.click('#signin-btn');
  await page.waitForFunction(() => document.querySelector('#who').textContent.startsWith('Signed in'), null, { timeout: 15000 });
  return page;
}

const files = (page) => page.evaluate(() => [...document.querySelectorAll('#queue .file')].map((f) => ({
  name: f.querySelector('.name').textContent, acked: Number(f.dataset.acked || 0), token: f.dataset.token,
  done: f.classList.contains('done'), state: f.querySelector('.state').textContent, resumedFrom: Number(f.dataset.resumedFrom || 0),
})));

async function until(what, check, timeout = 60000) {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeout) await fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// 1. three uploads, closed mid-way
let page = await open();
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: RATE });
await page.setInputFiles('#files', [big, small, third]);
const smallSize = fs.statSync(small).size;
const before = await until('every upload under way', async () => {
  const fs_ = await files(page);
  const s = fs_.find((f) => f.name === path.basename(small));
  return fs_.length === 3 && fs_.every((f) => f.token && f.acked > 0) && s.acked < smallSize && !s.done ? fs_ : null;
});
await context.close();

// 2. the same profile again
context = await launch();
page = await open();
const listed = await until('the unfinished uploads listed', () => page.evaluate(() => {
  const rows = [...document.querySelectorAll('#pending .file')];
  const ready = rows.length === 2 && rows.every((r) => r.dataset.stored !== undefined && r.querySelector('.bytes').textContent);
  return ready && !document.querySelector('#pending-box').hidden && rows.map((r) => ({
    name: r.querySelector('.name').textContent, token: r.dataset.token, stored: Number(r.dataset.stored),
    text: r.innerText,
  }));
}));
const smallDone = await until('the small file to finish by itself',
  async () => (await files(page)).find((f) => f.done && f.name === path.basename(small)));

// 3. discard one, choose the other again (another name, another date)
const thirdRow = listed.find((r) => r.name === path.basename(third));
await page.click(`#pending [data-token="${thirdRow.token}"] .discard`);
await until('the discarded row gone', () => page.evaluate((t) => !document.querySelector(`#pending [data-token="${t}"]`), thirdRow.token));
await page.setInputFiles('#files', bigCopy);
const bigDone = await until('the big file to finish', async () => (await files(page)).find((f) => f.done && f.name === path.basename(bigCopy)), 120000);
const pendingLeft = await page.evaluate(() => document.querySelectorAll('#pending .file').length);
const remembered = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('upgate.pending:')).length);
await context.close();
console.log(JSON.stringify({
  before: before.map((f) => ({ name: f.name, token: f.token, acked: f.acked })),
  listed, small: smallDone, big: bigDone, discarded: thirdRow.token, pendingLeft, remembered,
}));
