import { expect, test } from '@playwright/test';
import { signUp, watchConsole } from './helpers';

test('add a tracker by pasting a link, see it with its value, and a clear error for a bad one', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  await expect(page.getByRole('heading', { name: 'Add your first tracker' })).toBeVisible();

  // Something that does not exist upstream: the problem is named next to the field.
  await page.getByLabel('Link').fill('https://news.ycombinator.com/item?id=424242');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('alert')).toContainText('Hacker News item 424242 does not exist');
  await expect(page.getByLabel('Link')).toHaveValue('https://news.ycombinator.com/item?id=424242');

  // Something Upcount does not know (a page on the loopback stand-in, not an API).
  await page.getByLabel('Link').fill('http://127.0.0.1:3998/page.html');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('alert')).toContainText('does not recognise');

  // A GitHub repository: tracked, with its first value at once.
  await page.getByLabel('Link').fill('https://github.com/leptos-rs/leptos');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking leptos-rs/leptos.');
  const row = page.getByTestId('trackers').getByRole('row', { name: /leptos-rs\/leptos/ });
  await expect(row).toContainText('github.repo');
  await expect(row).toContainText('stars 19,000');
  await expect(row).toContainText('ok');
  // The title opens the tracker's page; the small icon beside it, the repository.
  await expect(row.getByRole('link', { name: 'leptos-rs/leptos', exact: true })).toHaveAttribute('href', /^\/trackers\/[0-9a-f-]{36}$/);
  await expect(row.getByRole('link', { name: 'leptos-rs/leptos on GitHub' })).toHaveAttribute('href', 'https://github.com/leptos-rs/leptos');

  // The same list from the API, with the session cookie.
  const response = await page.request.get('/api/v1/trackers');
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.trackers[0].source.kind).toBe('github.repo');
  expect(body.trackers[0].metrics[0]).toMatchObject({ name: 'stars', latest: 19000 });
  expect(errors).toEqual([]);
});

test('share a tracker publicly, open it signed out, revoke it and see 404', async ({ page, browser }) => {
  const errors = watchConsole(page);
  await signUp(page);
  await page.getByLabel('Link').fill('https://github.com/leptos-rs/leptos');
  await page.getByLabel('Label (optional)').fill('Leptos stars');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking Leptos stars.');

  await page.getByRole('button', { name: 'Share Leptos stars' }).click();
  await expect(page.getByRole('status')).toContainText('Shared publicly:');
  const href = await page.getByRole('link', { name: 'Public page' }).getAttribute('href');
  expect(href).toMatch(/^\/s\/[0-9A-Za-z]{22}$/);
  const token = href!.slice(3);

  // Signed out, in a fresh browser context: the page and the badge.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto(href!);
  await expect(strangerPage.getByRole('heading', { name: 'Leptos stars', level: 1 })).toBeVisible();
  await expect(strangerPage.getByText('19,000').first()).toBeVisible();
  const badge = await strangerPage.request.get(`/badge/${token}.svg`);
  expect(badge.status()).toBe(200);
  expect(badge.headers()['content-type']).toBe('image/svg+xml; charset=utf-8');
  expect(await badge.text()).toContain('19k stars');

  await page.getByRole('button', { name: 'Stop sharing Leptos stars' }).click();
  await expect(page.getByRole('status')).toContainText('No longer shared');
  const gone = await strangerPage.goto(href!);
  expect(gone!.status()).toBe(404);
  await expect(strangerPage.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  expect((await strangerPage.request.get(`/badge/${token}.svg`)).status()).toBe(404);
  await stranger.close();
  expect(errors).toEqual([]);
});

test("open a tracker's chart from the dashboard and switch ranges", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  await page.getByLabel('Link').fill('https://github.com/leptos-rs/leptos');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking leptos-rs/leptos.');

  await page.getByRole('link', { name: 'Chart of leptos-rs/leptos' }).click();
  await expect(page).toHaveURL(/\/trackers\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: 'leptos-rs/leptos', level: 1 })).toBeVisible();
  const chart = page.locator('.tracker-chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart.locator('canvas')).toBeVisible();

  await page.getByRole('navigation', { name: 'Range' }).getByRole('link', { name: '7 d' }).click();
  await expect(page).toHaveURL(/range=7d/);
  await expect(page.getByRole('navigation', { name: 'Range' }).getByRole('link', { name: '7 d' })).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('.tracker-chart')).toHaveAttribute('data-drawn', 'true');
  const view = page.getByRole('navigation', { name: 'View' });
  await view.getByRole('link', { name: 'Change per day' }).click();
  await expect(page).toHaveURL(/mode=per_day/);
  await expect(view.getByRole('link', { name: 'Change per day' })).toHaveAttribute('aria-current', 'page');
  const scale = page.getByRole('navigation', { name: 'Scale' });
  await scale.getByRole('link', { name: 'Log' }).click();
  await expect(page).toHaveURL(/mode=per_day&scale=log/);
  await expect(scale.getByRole('link', { name: 'Log' })).toHaveAttribute('aria-current', 'page');
  await page.getByRole('navigation', { name: 'View' }).getByRole('link', { name: 'Value' }).click();
  await expect(page.locator('.tracker-chart')).toHaveAttribute('data-drawn', 'true');
  await page.getByRole('navigation', { name: 'Metric' }).getByRole('link', { name: 'forks' }).click();
  await expect(page).toHaveURL(/metric=forks/);
  await expect(page.getByText('forks — now 700')).toBeVisible();
  expect(errors).toEqual([]);
});
