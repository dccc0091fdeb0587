import { expect, test } from '@playwright/test';
import { expectHydrated, watchConsole } from './helpers';

test.describe('landing page', () => {
  test('hydrates: the example chart draws and its range picker reacts', async ({ page }) => {
    const errors = watchConsole(page);
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle('Upcount');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(
      'Every number on the Internet, charted over time.',
    );

    const demo = page.locator('figure.demo');
    await expectHydrated(demo);

    const summary = demo.locator('.demo-summary');
    await expect(summary).toContainText('in the last 30 days');
    const week = page.getByRole('button', { name: '7 days' });
    await expect(week).toHaveAttribute('aria-pressed', 'false');
    await week.click();
    await expect(week).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByRole('button', { name: '30 days' })).toHaveAttribute('aria-pressed', 'false');
    await expect(summary).toContainText('in the last 7 days');

    // ECharts (served by Upcount itself, no CDN) drew the chart into a canvas.
    await expect(page.locator('#demo-chart canvas')).toHaveCount(1);
    const box = await page.locator('#demo-chart canvas').boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(200);

    await page.getByRole('button', { name: '90 days' }).click();
    await expect(summary).toContainText('in the last 90 days');

    expect(errors).toEqual([]);
  });

  test('loads its scripts, styles and ECharts from this server only', async ({ page, baseURL }) => {
    const foreign: string[] = [];
    const failed: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(baseURL!) && !request.url().startsWith('data:')) foreign.push(request.url());
    });
    page.on('requestfailed', (request) => failed.push(request.url()));
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    await page.goto('/');
    await expectHydrated(page.locator('figure.demo'));
    await expect(page.locator('#demo-chart canvas')).toHaveCount(1);
    expect(foreign).toEqual([]);
    expect(failed).toEqual([]);
  });

  test('serves hashed assets compressed with a year-long cache', async ({ page, request }) => {
    await page.goto('/');
    const wasm = await page.locator('link[rel="preload"][href$=".wasm"]').getAttribute('href');
    const js = await page.locator('link[rel="modulepreload"]').getAttribute('href');
    const css = await page.locator('link[rel="stylesheet"]').first().getAttribute('href');
    const echarts = await page.locator('script[src^="/vendor/echarts"]').getAttribute('src');
    for (const path of [wasm, js, css, echarts]) {
      expect(path, 'asset link in the page').toBeTruthy();
      const response = await request.get(path!, { headers: { 'Accept-Encoding': 'br, gzip' } });
      expect(response.status(), path!).toBe(200);
      expect(response.headers()['cache-control'], path!).toBe('public, max-age=31536000, immutable');
      expect(['br', 'gzip'], path!).toContain(response.headers()['content-encoding']);
    }
    // cargo-leptos puts a content hash in the file names under /pkg.
    expect(wasm).toMatch(/^\/pkg\/upcount\.[\w-]+\.wasm$/);
  });

  test('renders its content without JavaScript', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'What you can track' })).toBeVisible();
    // The list comes from the provider registry: every provider, with its links.
    const catalogue = page.getByTestId('catalogue');
    await expect(catalogue.locator('[data-provider="github"]')).toContainText('github.com/leptos-rs/leptos');
    await expect(catalogue.locator('[data-provider="npm"]')).toContainText('history on day one');
    await expect(catalogue.locator('[data-provider="dockerhub"]')).toContainText('pulls, stars');
    await expect(page.locator('.demo-summary')).toContainText('in the last 30 days');
    await context.close();
  });
});

test.describe('API reference', () => {
  test('the footer links to /docs/api, which renders the OpenAPI document from this server only', async ({
    page,
    baseURL,
  }) => {
    const errors = watchConsole(page);
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(baseURL!)) {
        foreign.push(request.url());
      }
    });
    await page.goto('/');
    await page.getByRole('contentinfo').getByRole('link', { name: 'API reference' }).click();
    await expect(page).toHaveURL('/docs/api');
    await expect(page).toHaveTitle('Upcount REST API reference');

    // Swagger UI read /api/v1/openapi.json and drew its operations, grouped by tag.
    await expect(page.getByRole('heading', { name: /Upcount REST API/ })).toBeVisible();
    const add = page.locator('.opblock-post', { hasText: '/api/v1/trackers/preview' });
    await expect(add).toBeVisible();
    await add.locator('.opblock-summary').click();
    await expect(add.getByText('What adding would track, fetched now.')).toBeVisible();
    await expect(page.locator('.opblock-tag', { hasText: 'prometheus' })).toBeVisible();

    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });
});
