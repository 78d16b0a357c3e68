// The portal in a real browser: for each width and each page, how wide the page lays out
// against the viewport, its headings and navigation, and axe-core's accessibility violations;
// optionally a full-page screenshot of each. Prints one JSON array on standard output.
//
//   node probe.mjs BASE_URL WIDTHS PATHS_FILE [SCREENSHOT_DIR]
//   node probe.mjs http://127.0.0.1:8700 320,390,1280 paths.txt target/screenshots
//
// Chromium is Debian's (CHROMIUM, default /usr/bin/chromium), started as the machine's
// closed network needs. Pages are loaded with their Content-Security-Policy bypassed only so
// that axe-core can be injected; the portal itself runs no script.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [base, widths, pathsFile, shots] = process.argv.slice(2);
if (!base || !widths || !pathsFile) {
  console.error('usage: node probe.mjs BASE_URL WIDTHS PATHS_FILE [SCREENSHOT_DIR]');
  process.exit(2);
}
const paths = readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean);
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
for (const width of widths.split(',').map(Number)) {
  const context = await browser.newContext({ viewport: { width, height: 844 }, bypassCSP: true });
  const page = await context.newPage();
  for (const path of paths) {
    const response = await page.goto(base + path, { waitUntil: 'load' });
    const facts = await page.evaluate(() => {
      const root = document.documentElement;
      const wide = [];
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (r.right > root.clientWidth + 1 && wide.length < 5) {
          wide.push(`${e.tagName.toLowerCase()}.${e.className} (right edge ${Math.round(r.right)}): ${(e.textContent || '').trim().slice(0, 60)}`);
        }
      }
      return {
        viewport: root.clientWidth,
        scroll_width: root.scrollWidth,
        wide,
        headings: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1])),
        current: [...document.querySelectorAll('nav [aria-current="page"]')].map(a => a.textContent),
        text: document.body.innerText,
      };
    });
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const found = await window.axe.run(document, { resultTypes: ['violations'] });
      return found.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
      }));
    });
    if (shots) {
      const name = (path === '/' ? 'home' : path.slice(1)).replace(/[^a-z0-9.@-]+/gi, '_');
      await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: true });
    }
    results.push({ path, width, status: response ? response.status() : 0, ...facts, violations });
  }
  await context.close();
}
await browser.close();
process.stdout.write(JSON.stringify(results));
