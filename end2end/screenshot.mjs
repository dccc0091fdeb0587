// Regenerates docs/screenshot.png from a running server:
//   node end2end/screenshot.mjs [http://127.0.0.1:3000]
import { chromium } from '@playwright/test';

const url = process.argv[2] ?? 'http://127.0.0.1:3000';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
await page.goto(url);
await page.locator('figure.demo[data-hydrated="true"]').waitFor();
await page.locator('#demo-chart canvas').waitFor();
await page.waitForTimeout(1200); // let the chart's entry animation finish
await page.screenshot({ path: new URL('../docs/screenshot.png', import.meta.url).pathname });
await browser.close();
