// Drives the upload page in Debian's Chromium (headless) with playwright-core:
//  1. upload FILE1 through BASE1; take the network offline mid-upload, bring it back;
//     the page resumes by itself;
//  2. upload FILE2 through BASE2; reload mid-upload, choose the same file again; the
//     page resumes from the server's offset;
//  3. screenshot of the finished page.
// Usage: node page_test.mjs BASE1 BASE2 KS FILE1 FILE2 OUTDIR
// Prints one JSON line with the tokens, entries and the resume offset.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base1, base2, ks, file1, file2, outdir] = process.argv.slice(2);
const size1 = fs.statSync(file1).size;
const size2 = fs.statSync(file2).size;
const RATE = 12 * 1024 * 1024; // bytes/s: slow enough to interrupt mid-upload

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic'],
});
const fail = async (msg) => { console.error(msg); await browser.close(); process.exit(1); };
const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
const page = await context.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
const throttle = (offline) => cdp.send('Network.emulateNetworkConditions', {
  offline, latency: 5, downloadThroughput: -1, uploadThroughput: RATE,
});

async function signIn(base) {
  await page.goto(base + '/');
  await page.fill('#ks', ks);
  await page.click('#signin-btn');
  await page.waitForFunction(() => document.querySelector('#who').textContent.startsWith('Signed in'), null, { timeout: 15000 });
}

const acked = () => page.evaluate(() => {
  const f = [...document.querySelectorAll('.file')].pop();
  return f ? Number(f.dataset.acked || 0) : 0;
});

async function waitAcked(min, timeout = 60000) {
  const t0 = Date.now();
  while ((await acked()) < min) {
    if (Date.now() - t0 > timeout) await fail(`upload did not reach ${min} bytes`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitDone(timeout = 120000) {
  await page.waitForSelector('.file.done', { timeout });
  return page.evaluate(() => {
    const f = document.querySelector('.file.done');
    return { token: f.dataset.token, entry: f.dataset.entry, resumedFrom: Number(f.dataset.resumedFrom || 0) };
  });
}

// 1. offline mid-upload
await signIn(base1);
await throttle(false);
await page.setInputFiles('#files', file1);
await waitAcked(size1 * 0.3);
await context.setOffline(true);
await throttle(true);
await page.waitForFunction(() => !navigator.onLine && document.querySelector('#net').textContent.startsWith('Offline'));
const during = await acked();
// The file itself says it is offline, in words, never with an error code.
const shown = () => page.evaluate(() => {
  const f = [...document.querySelectorAll('.file')].pop();
  return { offline: f.classList.contains('offline'), state: f.querySelector('.state').textContent };
});
const seen = [];
const watch = setInterval(async () => { try { seen.push((await shown()).state); } catch (e) { /* page busy */ } }, 100);
await page.waitForFunction(() => [...document.querySelectorAll('.file')].pop().classList.contains('offline'));
const offlineState = (await shown()).state;
if (!/offline/.test(offlineState)) await fail(`offline file says ${offlineState}`);
await new Promise((r) => setTimeout(r, 1500));
if ((await acked()) > size1) await fail('progress went past 100 %');
await context.setOffline(false);
await throttle(false);
const first = await waitDone();
clearInterval(watch);
if ((await acked()) !== size1) await fail('progress did not end at 100 %');
const coded = seen.filter((t) => /[A-Z]{3,}_[A-Z_]+/.test(t));
if (coded.length) await fail(`a raw error code was shown: ${coded[0]}`);
if ((await shown()).offline) await fail('still marked offline after finishing');

// 2. reload mid-upload, then choose the same file again
await signIn(base2);
await throttle(false);
await page.setInputFiles('#files', file2);
await waitAcked(size2 * 0.4);
await page.reload();
await page.waitForFunction(() => document.querySelector('#who').textContent.startsWith('Signed in'), null, { timeout: 15000 });
await page.setInputFiles('#files', file2);
const second = await waitDone();
if (!(second.resumedFrom > 0)) await fail(`the reload did not resume (resumedFrom ${second.resumedFrom})`);

// 3. the finished page, with the library refreshed
await page.click('#refresh');
await page.waitForFunction(() => document.querySelectorAll('#entries tr:not([hidden])').length >= 2);
fs.mkdirSync(outdir, { recursive: true });
const shot = `${outdir}/upload-page.png`;
await page.screenshot({ path: shot, fullPage: true });
console.log(JSON.stringify({ offlineState, first, second, offlineAt: during, screenshot: shot }));
await browser.close();
