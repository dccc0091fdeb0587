import { expect, test, type Locator, type Page } from '@playwright/test';

import { addTracker, ownRepo, signUp, watchConsole } from './helpers';

/** Reloads `page` until `locator` contains `text` (webhooks land in the background). */
async function reloadUntil(page: Page, locator: Locator, text: string | RegExp): Promise<void> {
  await expect(async () => {
    await page.reload();
    await expect(locator).toContainText(text, { timeout: 1_000 });
  }).toPass({ timeout: 30_000, intervals: [500, 1_000] });
}

test('a free workspace hits its limit, upgrades through checkout, cancels, and is downgraded at the period end', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signUp(page);

  // The public pricing page lists the plans.
  await page.goto('/pricing');
  await expect(page.locator('[data-plan=pro]')).toContainText('100');
  await page.goto('/dashboard');

  // Five trackers fit the Free plan; the sixth is refused with a way to upgrade.
  for (let n = 1; n <= 5; n += 1) {
    await addTracker(page, ownRepo(`plan${n}`), `Plan ${n}`);
  }
  await page.getByLabel('Link').fill(ownRepo('plan6'));
  await page.getByLabel('Label (optional)').fill('Plan 6');
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The Free plan tracks up to 5' })).toBeVisible();
  await page.getByTestId('upgrade-link').click();
  await expect(page).toHaveURL('/billing');
  await expect(page.getByTestId('current-plan')).toHaveText('Free');
  await expect(page.locator('.usage')).toContainText('5 of 5');

  // Checkout on the Stripe stand-in, then back to "confirming", then Pro.
  await page.getByRole('button', { name: 'Upgrade to Pro' }).click();
  await expect(page).toHaveURL(/\/stripe-standin\/checkout\/cs_test_/);
  await expect(page.getByTestId('checkout-plan')).toHaveText('Upcount Pro');
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await expect(page).toHaveURL(/\/billing\/success\?session_id=cs_test_/);
  await expect(page.getByTestId('payment-confirming').or(page.getByTestId('payment-confirmed'))).toBeVisible();
  await expect(page.getByTestId('payment-confirmed')).toContainText('Pro', { timeout: 30_000 });

  // Pro limits: the sixth tracker fits now.
  await page.goto('/dashboard');
  await addTracker(page, ownRepo('plan6'), 'Plan 6');
  await page.goto('/billing');
  await expect(page.getByTestId('current-plan')).toHaveText('Pro');
  await expect(page.getByTestId('billing-standing')).toContainText('Renews on');

  // The portal: cancel at the period end.
  await page.getByRole('button', { name: 'Manage billing, change or cancel' }).click();
  await expect(page).toHaveURL(/\/stripe-standin\/portal\/bps_/);
  const portal = page.url();
  await expect(page.getByTestId('portal-plan')).toHaveText('Upcount Pro');
  await page.getByRole('button', { name: 'Cancel plan' }).click();
  await expect(page.getByTestId('portal-cancels')).toBeVisible();
  await page.getByTestId('portal-return').click();
  await expect(page).toHaveURL('/billing');
  await reloadUntil(page, page.getByTestId('billing-standing'), 'Cancelled: the plan ends on');
  await expect(page.getByTestId('current-plan')).toHaveText('Pro');

  // The period ends (the stand-in's test clock): Free limits, the newest tracker paused.
  await page.goto(portal);
  await page.getByRole('button', { name: 'Test clock: go to the end of the period' }).click();
  await expect(page.getByTestId('portal-status')).toHaveText('canceled');
  await page.goto('/billing');
  await reloadUntil(page, page.getByTestId('current-plan'), 'Free');
  await expect(page.getByTestId('paused-by-plan')).toContainText('1 trackers are paused');

  // Nothing was deleted: six trackers, the newest paused.
  await page.goto('/dashboard');
  await expect(page.getByRole('link', { name: /^Chart of Plan / })).toHaveCount(6);
  await expect(page.locator('tr, li, article').filter({ hasText: 'Plan 6' }).first()).toContainText(/paused/i);
  expect(errors).toEqual([]);
});
