import { expect, test, type Page } from '@playwright/test';
import { addTracker, ownRepo, signUp, watchConsole } from './helpers';

/** Opens the tracker `label` from the dashboard by its title, as a new user would. */
async function openFromDashboard(page: Page, label: string): Promise<void> {
  await page.goto('/dashboard');
  await page.getByRole('link', { name: label, exact: true }).click();
  await expect(page).toHaveURL(/\/trackers\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: label, level: 1 })).toBeVisible();
}

/** The page says the history is loaded, and draws and lists it marked as such. */
async function expectHistory(page: Page, from: string): Promise<void> {
  // While the history loads the page follows it, and draws it once loaded: no reload.
  await expect(page.getByTestId('history-note')).toContainText(`History from ${from} loaded`, { timeout: 45_000 });
  const chart = page.locator('.tracker-chart');
  // The wasm compiles afresh after each reload: slow on a loaded two-core machine.
  await expect(chart).toHaveAttribute('data-drawn', 'true', { timeout: 30_000 });
  await expect(chart.locator('canvas')).toBeVisible();
  // Drawn again with the history once it is loaded (the page fetches itself once more).
  await expect
    .poll(async () => Number(await page.locator('.tracker-chart').getAttribute('data-upstream-points')), {
      timeout: 30_000,
    })
    .toBeGreaterThanOrEqual(25);
  await expect(chart).toHaveAttribute('data-drawn', 'true', { timeout: 30_000 });
  await page.getByText('Chart data as a table').click();
  const table = page.locator('.data-table table');
  await expect(table.getByRole('columnheader', { name: 'Origin' })).toBeVisible();
  await expect(table.locator('tr[data-origin="upstream"]').first()).toContainText(`history from ${from}`);
  await expect(table.locator('tr[data-origin="observed"]').last()).toContainText('recorded by Upcount');
}

test('a new npm package and a new repository show their history at once, marked as such', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);

  const name = `e2e-history-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await addTracker(page, `https://www.npmjs.com/package/${name}`, 'Downloads');
  await openFromDashboard(page, 'Downloads');
  await expectHistory(page, 'npm');

  await addTrackerFromDashboard(page, ownRepo('stars-history'), 'Stars');
  await openFromDashboard(page, 'Stars');
  await expectHistory(page, 'GitHub');

  // On the dashboard the upstream is one small link beside the title.
  await page.goto('/dashboard');
  const upstream = page.getByRole('link', { name: 'Stars on GitHub' });
  await expect(upstream).toHaveAttribute('href', /^https:\/\/github\.com\/e2e\/stars-history-/);
  await expect(upstream).toHaveAttribute('target', '_blank');
  expect(errors).toEqual([]);
});

test('the page follows a long history as it loads, then draws it without a reload', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  await addTracker(page, ownRepo('stars-slow'), 'Slow stars');
  await openFromDashboard(page, 'Slow stars');
  await page.goto(`${page.url()}?range=all`);
  const chart = page.locator('.tracker-chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true', { timeout: 30_000 });
  // A reload would lose this.
  await page.evaluate(() => Object.assign(window, { stayed: true }));
  const oldest = page.locator('.data-table tbody tr').first().locator('td').first();
  const oldestAtFirst = (await oldest.textContent()) ?? '';
  const note = page.getByTestId('history-note');
  await expect(note).toHaveAttribute('data-state', /pending|waiting/);
  await expect(note).toContainText(/Loading history from GitHub: \d+% \([\d,]+ points so far\); the chart fills in when it is done\./);
  // Six pages of 30 weeks, each 2.5 s in coming: the percentage moves on meanwhile.
  await expect(note).toContainText(/: [1-9]\d*%/, { timeout: 30_000 });
  await expect(note).toContainText('History from GitHub loaded.', { timeout: 60_000 });
  await expect(note).toHaveAttribute('data-state', 'done');
  // Drawn again once, with all of it: 180 weeks go back more than three years.
  const threeYearsAgo = new Date(Date.now() - 3 * 365 * 86_400_000).toISOString().slice(0, 10);
  await expect.poll(async () => (await oldest.textContent()) ?? '', { timeout: 30_000 }).toMatch(/^\d{4}-\d{2}-\d{2}/);
  await expect.poll(async () => ((await oldest.textContent()) ?? '') < threeYearsAgo, { timeout: 30_000 }).toBe(true);
  expect(oldestAtFirst > threeYearsAgo).toBe(true);
  await expect(chart).toHaveAttribute('data-drawn', 'true', { timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  expect(errors).toEqual([]);
});

test('a JSON API without history says so, and its first poll is a visible dot', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  const standin = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;
  await page.getByLabel('Link').fill(`${standin}/api/package-stats.json`);
  await page.getByRole('tree', { name: 'The JSON document' }).getByRole('button', { name: 'Track downloads."last-week" (4321)' }).click();
  await page.getByLabel('Label (optional)').fill('Weekly');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking Weekly.');
  await openFromDashboard(page, 'Weekly');
  const note = page.getByTestId('history-note');
  await expect(note).toContainText('History starts with the first poll.');
  await expect(note).toContainText(/Next poll due \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  const chart = page.locator('.tracker-chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart).toHaveAttribute('data-points', '1');
  expect(errors).toEqual([]);
});

async function addTrackerFromDashboard(page: Page, url: string, label: string): Promise<void> {
  await page.goto('/dashboard');
  await addTracker(page, url, label);
}
