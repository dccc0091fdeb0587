import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { addTracker, ownRepo, seedHistory, signUp, watchConsole } from './helpers';

const standin = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;

test('the add form previews a link before saving it, and names the problem with a bad one', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  const link = page.getByLabel('Link');
  const preview = page.getByTestId('preview');

  await link.fill('https://github.com/leptos-rs/leptos');
  await expect(preview).toHaveAttribute('data-kind', 'github.repo');
  await expect(preview).toContainText('GitHub repository');
  await expect(preview).toContainText('leptos-rs/leptos');
  await expect(preview).toContainText('by leptos-rs');
  await expect(preview.locator('.preview-value', { hasText: 'stars' })).toContainText('19,000');

  // Typing on replaces the preview with the latest link's.
  await link.fill('https://github.com/leptos-rs/nothing-here');
  await expect(page.getByTestId('preview-problem')).toContainText('Not found');
  await link.fill(`${standin}/page.html`);
  await expect(page.getByTestId('preview-problem')).toContainText('does not answer with JSON');

  await link.fill('https://github.com/tokio-rs/axum');
  await expect(preview).toContainText('21,000');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking tokio-rs/axum.');
  const row = page.getByTestId('trackers').getByRole('row', { name: /tokio-rs\/axum/ });
  await expect(row).toContainText('stars 21,000');
  expect(errors).toEqual([]);
});

test('pick values from a JSON API by clicking them, checked as you type', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  await page.getByLabel('Link').fill(`${standin}/api/package-stats.json`);
  await expect(page.getByTestId('preview')).toHaveAttribute('data-kind', 'json');
  const tree = page.getByRole('tree', { name: 'The JSON document' });
  await expect(tree).toBeVisible();

  // Clicking a number fills in its expression, evaluated at once.
  await tree.getByRole('button', { name: 'Track downloads."last-week" (4321)' }).click();
  const metrics = page.getByLabel(/Values, one/);
  await expect(metrics).toHaveValue('last_week: downloads."last-week"\n');
  const results = page.getByRole('list', { name: 'Values read now' });
  await expect(results).toContainText('last_week = 4,321');
  await tree.getByRole('button', { name: /Track downloads.total/ }).click();
  await expect(results).toContainText('total = 123,456,789');

  // A typed expression is evaluated as it is typed, and its problem named.
  await metrics.fill('last_week: downloads."last-week"\nname: package.name\n');
  await expect(results.locator('[data-metric="name"]')).toContainText('found the text "left-pad", not a number');
  await metrics.fill('last_week: downloads."last-week"\nmaintainers: length(maintainers)\n');
  await expect(results.locator('[data-metric="maintainers"]')).toContainText('maintainers = 1');

  await page.getByLabel('Label (optional)').fill('left-pad');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText('Now tracking left-pad.');
  const row = page.getByTestId('trackers').getByRole('row', { name: /left-pad/ });
  await expect(row).toContainText('json');
  await expect(row).toContainText('last week 4,321');
  await expect(row).toContainText('maintainers 1');
  expect(errors).toEqual([]);
});

/** The tracker chart's element, once ECharts has drawn it. */
async function drawnChart(page: Page) {
  const chart = page.locator('.tracker-chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart.locator('canvas').first()).toBeVisible();
  return chart;
}

test.describe('a tracker with a month of history', () => {
  test.use({ timezoneId: 'Asia/Tokyo', acceptDownloads: true });
  // One long walk through the page (a dozen navigations and downloads): more than the
  // default 30 s on a loaded two-core machine.
  test.describe.configure({ timeout: 90_000 });

  test('explore it: tooltip in local time, ranges, zoom to finer data, rates, log scale, PNG and CSV', async ({ page }) => {
    const errors = watchConsole(page);
    await signUp(page);
    const id = await addTracker(page, ownRepo('history'), 'Leptos');
    seedHistory(id, 'stars', { days: 30, stepMinutes: 30, start: 1000, perDay: 100 });

    await page.getByRole('link', { name: 'Chart of Leptos' }).click();
    await expect(page).toHaveURL(`/trackers/${id}`);
    const chart = await drawnChart(page);
    await expect(chart).toHaveAttribute('data-bucket', '7200');

    // The tooltip: exact value, and the time in the viewer's zone (Tokyo, GMT+9). The
    // mouse works in the viewport: the chart is brought into it first.
    await chart.scrollIntoViewIfNeeded();
    const box = (await chart.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
    const tooltip = chart.getByText(/GMT\+9/);
    await expect(tooltip).toBeVisible();
    await expect(chart).toContainText(/stars: \d,\d{3}/);

    // Zooming with the wheel fetches finer data for the window.
    for (let turn = 0; turn < 6; turn += 1) {
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 3);
      await page.mouse.wheel(0, -400);
    }
    await expect(chart).not.toHaveAttribute('data-bucket', '7200');
    await expect(page.getByTestId('chart-caption')).not.toContainText('sums up 2 h');
    // The export follows the window shown.
    const csvLink = page.getByRole('link', { name: 'Download CSV' });
    const from = new URL((await csvLink.getAttribute('href'))!, 'http://x').searchParams.get('from')!;
    expect(Date.parse(from)).toBeGreaterThan(Date.now() - 29 * 86_400_000);
    const [csv] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('time,stars,origin');
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.length).toBeLessThan(30 * 48);
    for (const line of lines.slice(1)) {
      // Seeded through the polls' writer, with no history loaded: observed.
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,\d+(\.\d+)?,observed$/);
      const time = Date.parse(line.split(',')[0]);
      expect(time).toBeGreaterThanOrEqual(Date.parse(from) - 1000);
    }

    // PNG of the chart.
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download PNG' }).click(),
    ]);
    expect(png.suggestedFilename()).toBe('leptos-stars.png');
    const bytes = readFileSync((await png.path())!);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');

    // Ranges, change per day and log scale, in the URL.
    await page.getByRole('navigation', { name: 'Range' }).getByRole('link', { name: '7 d' }).click();
    await expect(page).toHaveURL(/range=7d/);
    await drawnChart(page);
    await page.getByRole('link', { name: 'Change per day' }).click();
    await expect(page).toHaveURL(/mode=per_day/);
    await page.getByRole('link', { name: 'Log' }).click();
    await expect(page).toHaveURL(/mode=per_day&scale=log/);
    const rates = await drawnChart(page);
    await page.getByText('Chart data as a table').click();
    const rows = await page.locator('.data-table tbody tr').allTextContents();
    expect(await page.getByText('Log scale needs values above zero').count(), rows.join('\n')).toBe(0);
    // About a hundred more stars a day.
    await expect(page.locator('.data-table tbody tr').first().locator('td').nth(1)).toHaveText(/^(9\d|10\d)(\.\d+)?$/);
    await expect(rates).toHaveAttribute('id', /per_day-log$/);

    // Events: when it was added.
    await page.getByRole('navigation', { name: 'Range' }).getByRole('link', { name: '24 h' }).click();
    await expect(page.getByText(/Events in this range \(1\)/)).toBeVisible();
    expect(errors).toEqual([]);
  });
});

test('compare two trackers on one chart, by value or % change, by calendar or launch', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  const first = await addTracker(page, ownRepo('compare-a'), 'Leptos');
  const second = await addTracker(page, ownRepo('compare-b'), 'Axum');
  seedHistory(first, 'stars', { days: 10, stepMinutes: 60, start: 1000, perDay: 100 });
  seedHistory(second, 'stars', { days: 5, stepMinutes: 60, start: 2000, perDay: 300 });

  await page.getByRole('checkbox', { name: 'Compare Leptos' }).check();
  await page.getByRole('checkbox', { name: 'Compare Axum' }).check();
  await page.getByRole('button', { name: 'Compare selected' }).click();
  await expect(page).toHaveURL(/\/compare\?ids=/);
  const chart = page.locator('.compare-chart');
  await expect(chart).toHaveAttribute('data-drawn', 'true');
  await expect(chart).toHaveAttribute('data-lines', '2');
  await expect(chart.locator('canvas').first()).toBeVisible();
  await page.getByText('Compared data as a table').click();
  await expect(page.getByRole('table', { name: 'Leptos (stars)' })).toContainText('5,000');
  await expect(page.getByRole('table', { name: 'Axum (stars)' })).toContainText('5,000');

  await page.getByLabel('Show').selectOption('percent');
  await page.getByLabel('Align by').selectOption('launch');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page).toHaveURL(/view=percent/);
  await expect(page).toHaveURL(/align=launch/);
  await expect(page.locator('.compare-chart')).toHaveAttribute('data-drawn', 'true');
  await page.getByText('Compared data as a table').click();
  await expect(page.getByRole('table', { name: 'Leptos (%)' })).toContainText('day 0.00');
  await expect(page.getByRole('table', { name: 'Axum (%)' })).toContainText('day 0.00');
  expect(errors).toEqual([]);
});

test.describe('on a phone in dark mode', () => {
  test.use({ viewport: { width: 360, height: 740 }, colorScheme: 'dark' });

  test('pages fit the screen and follow the dark system setting', async ({ page }) => {
    const errors = watchConsole(page);
    await signUp(page);
    const id = await addTracker(page, ownRepo('phone'), 'Leptos on a phone');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(15, 17, 21)');
    for (const path of ['/dashboard', `/trackers/${id}`, `/compare?ids=${id}`]) {
      await page.goto(path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    // Everything on the tracker page is reachable from the keyboard.
    await page.goto(`/trackers/${id}`);
    await drawnChart(page);
    await page.keyboard.press('Tab');
    let reachedPng = false;
    for (let step = 0; step < 60 && !reachedPng; step += 1) {
      reachedPng = await page.evaluate(() => document.activeElement?.textContent?.includes('Download PNG') ?? false);
      if (!reachedPng) await page.keyboard.press('Tab');
    }
    expect(reachedPng).toBe(true);
    expect(errors).toEqual([]);
  });
});
