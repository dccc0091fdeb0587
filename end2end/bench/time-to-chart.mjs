// `make bench` (server/benches/charts.rs): time from navigation to the chart drawn on a
// tracker's page in headless Chromium, what a first visit downloads, and the bundle's
// sizes. Prints JSON on standard output. Talks only to the loopback server it is given.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';

const base = process.env.BENCH_BASE;
const path = process.env.BENCH_PATH;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const site = process.env.BENCH_SITE;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('Email').fill(process.env.BENCH_EMAIL);
  await page.getByLabel('Password').fill(process.env.BENCH_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/dashboard`);
  return page;
}

// A first visit: signed in, then the browser cache emptied; every response's bytes on
// the wire.
const fresh = await browser.newContext();
const page = await signIn(fresh);
const cdp = await fresh.newCDPSession(page);
await cdp.send('Network.clearBrowserCache');
let bytes = 0;
let requests = 0;
page.on('requestfinished', async (request) => {
  const sizes = await request.sizes().catch(() => null);
  if (sizes) {
    bytes += sizes.responseBodySize + sizes.responseHeadersSize;
    requests += 1;
  }
});
await page.goto(`${base}${path}`);
await page.locator('.tracker-chart[data-drawn="true"]').waitFor({ timeout: 60_000 });
await page.waitForLoadState('networkidle');
page.removeAllListeners('requestfinished');

// Then navigations with the cache warm, as a returning user.
const times = [];
for (let run = 0; run < runs; run += 1) {
  await page.goto('about:blank');
  const started = Date.now();
  await page.goto(`${base}${path}`);
  await page.locator('.tracker-chart[data-drawn="true"]').waitFor({ timeout: 60_000 });
  times.push(Date.now() - started);
}
await browser.close();

const pkg = join(site, 'pkg');
const file = (suffix) => readdirSync(pkg).find((name) => name.endsWith(suffix));
const size = (name) => (name ? readFileSync(join(pkg, name)).length : 0);
const wasm = file('.wasm');
process.stdout.write(
  JSON.stringify({
    times_ms: times,
    first_visit_bytes: bytes,
    first_visit_requests: requests,
    wasm_bytes: size(wasm),
    wasm_gzip_bytes: wasm ? gzipSync(readFileSync(join(pkg, wasm)), { level: 9 }).length : 0,
    js_bytes: size(file('.js')),
    css_bytes: size(file('.css')),
  }),
);
