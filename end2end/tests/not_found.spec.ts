import { expect, test } from '@playwright/test';
import { watchConsole } from './helpers';

test('unknown paths get the styled 404 page, which links home', async ({ page }) => {
  const errors = watchConsole(page);
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page).toHaveTitle('Page not found · Upcount');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();

  // Styled: the site's stylesheet applies (the header is laid out as a flex row).
  await expect(page.locator('.site-header')).toHaveCSS('display', 'flex');

  // Hydrated like every page: the link home works client-side.
  await page.getByRole('link', { name: 'Back to the home page' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'Every number on the Internet, charted over time.',
  );

  // Chromium reports the document's own 404 status as a console error; nothing else may.
  expect(errors.filter((error) => !error.includes('status of 404'))).toEqual([]);
});
