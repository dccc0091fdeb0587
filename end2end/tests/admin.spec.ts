import { expect, test } from '@playwright/test';

import { createAdmin, customerTracking, expectDrawn, ownRepo, signIn, sql, upcount, watchConsole } from './helpers';

test('an admin finds a user, views as them, suspends them, pauses and resumes their source, re-processes a Stripe event and retries a failed job', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  // A customer with a tracker, signed in in their own browser.
  const repo = ownRepo('watched');
  const { context: customerContext, page: customer, email } = await customerTracking(browser, repo, 'Watched');
  const repoKey = repo.replace('https://github.com/', '');

  // The admin, in another.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const errors = watchConsole(admin);
  const password = 'admin password 1234';
  await signIn(admin, createAdmin(password), password);
  await admin.goto('/admin');
  await expect(admin.getByRole('heading', { name: 'Admin console' })).toBeVisible();

  // Find the customer.
  await admin.getByLabel('Email or id').fill(email);
  await admin.getByRole('button', { name: 'Search' }).click();
  const row = admin.getByTestId(`user-${email}`);
  await expect(row).toContainText(email);

  // View the site as them, read-only, then stop.
  await row.getByRole('button', { name: `View as ${email}` }).click();
  await expect(admin).toHaveURL('/dashboard');
  await expect(admin.getByTestId('view-as-banner')).toContainText(email);
  await expect(admin.getByRole('link', { name: 'Chart of Watched' })).toBeVisible();
  await admin.getByRole('button', { name: 'Stop viewing as them' }).click();
  await expect(admin).toHaveURL('/admin');
  await expect(admin.getByTestId('audit-log')).toContainText('user.view_as');
  await admin.getByLabel('Email or id').fill(email);
  await admin.getByRole('button', { name: 'Search' }).click();

  // Suspend them: their session stops working at once, and signing in again is refused.
  await row.getByRole('button', { name: `Suspend ${email}` }).click();
  await expect(admin.getByRole('status')).toContainText('Suspended');
  await expect(admin.getByTestId('audit-log')).toContainText('user.suspend');
  await customer.goto('/dashboard');
  await expect(customer).toHaveURL(/\/sign-in/);
  await customer.getByLabel('Email').fill(email);
  await customer.getByLabel('Password').fill('correct horse battery');
  await customer.getByRole('button', { name: 'Sign in' }).click();
  await expect(customer.getByRole('alert')).toContainText('This account is suspended');

  // Their source stopped polling.
  await admin.getByLabel('Provider').selectOption('github');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await expect(admin).toHaveURL(/provider=github/);
  const source = admin.locator('[data-testid^="source-"]').filter({ hasText: repoKey });
  await expect(source).toContainText('paused');

  // Their page: the workspace, its tracker, and every sign-in, the refused one too.
  await admin.getByRole('link', { name: email }).click();
  await expect(admin.getByRole('heading', { level: 1 })).toContainText(email);
  await expect(admin.getByTestId('trackers')).toContainText('Watched');
  await expect(admin.getByTestId('plan')).toContainText('Free');
  const signIns = admin.getByTestId('sign-ins');
  await expect(signIns).toContainText('signed up');
  await expect(signIns).toContainText('refused: suspended');
  await expect(signIns).toContainText('Chrome/');
  // Unsuspend them from there: the page comes back with its notice.
  await admin.getByRole('button', { name: `Unsuspend ${email}` }).click();
  await expect(admin.getByRole('status')).toContainText('Unsuspended');
  await expect(admin.getByTestId('user-audit')).toContainText('user.unsuspend');
  await admin.goto('/admin?provider=github');
  const sourceId = (await source.getAttribute('data-testid'))!.replace('source-', '');
  await admin.getByRole('button', { name: `Pause source ${sourceId}` }).click();
  await expect(admin.getByTestId(`source-${sourceId}`)).toContainText('(by admin)');
  await admin.getByRole('button', { name: `Resume source ${sourceId}` }).click();
  await expect(admin.getByTestId(`source-${sourceId}`)).not.toContainText('(by admin)');
  await expect(admin.getByTestId('audit-log')).toContainText('source.resume');

  // A Stripe event: a checkout by the customer leaves three; re-process one.
  await signIn(customer, email, 'correct horse battery');
  await customer.goto('/billing');
  await customer.getByRole('button', { name: 'Upgrade to Pro' }).click();
  await customer.getByRole('button', { name: 'Subscribe' }).click();
  await expect(customer.getByTestId('payment-confirmed')).toBeVisible({ timeout: 30_000 });
  await admin.goto('/admin');
  const event = admin.locator('[data-testid^="event-evt_"]').filter({ hasText: 'invoice.paid' }).first();
  await expect(event).toContainText('processed');
  const eventId = (await event.getAttribute('data-testid'))!.replace('event-', '');
  await admin.getByRole('button', { name: `Re-process ${eventId}` }).click();
  await expect(admin.getByRole('status')).toContainText(`Stripe event ${eventId} will be processed again.`);
  await expect(admin.getByTestId('audit-log')).toContainText('stripe_event.reprocess');
  await expect(async () => {
    await admin.reload();
    await expect(admin.getByTestId(`event-${eventId}`)).toContainText('processed', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  // A job that failed for good: retry it, and it runs. (Our own job, once a worker has
  // finished it, is made to look failed: workers leave finished jobs alone, so nothing
  // races the change.)
  const before = sql(`SELECT coalesce(string_agg(id, ','), '') FROM apalis.jobs WHERE job_type = 'clean_up_sessions'`);
  upcount(['enqueue', 'clean-up-sessions']);
  let jobId = '';
  await expect
    .poll(
      () => {
        jobId = sql(
          `SELECT coalesce(max(id), '') FROM apalis.jobs WHERE job_type = 'clean_up_sessions' AND status = 'Done'
             AND id <> ALL(string_to_array('${before}', ','))`,
        );
        return jobId;
      },
      { timeout: 60_000 },
    )
    .not.toBe('');
  sql(
    `UPDATE apalis.jobs SET status = 'Failed', attempts = max_attempts,
            last_result = '{"Err": "e2e: the database went away"}'
     WHERE id = '${jobId}' AND status = 'Done'`,
  );
  await admin.goto('/admin');
  await expect(admin.getByTestId(`job-${jobId}`)).toContainText('e2e: the database went away');
  await admin.getByRole('button', { name: `Retry job ${jobId}` }).click();
  await expect(admin.getByRole('status')).toContainText(`Job ${jobId} will run again.`);
  await expect(admin.getByTestId('audit-log')).toContainText('job.retry');
  await expect.poll(() => sql(`SELECT status FROM apalis.jobs WHERE id = '${jobId}'`), { timeout: 20_000 }).toBe('Done');

  expect(errors).toEqual([]);
  await customerContext.close();
  await adminContext.close();
});

test('the console and a user page fit a phone: tables scroll inside the page, buttons stay reachable', async ({
  browser,
}) => {
  // Two browsers, a sign-up, a sign-in and two wasm pages: about 25 s on a loaded 2-core
  // machine (seen: 31 s while builds ran beside it), more than the default 30 s allows.
  test.setTimeout(90_000);
  const { context: customerContext, email } = await customerTracking(browser, ownRepo('phone'), 'On a phone');

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const admin = await phone.newPage();
  const errors = watchConsole(admin);
  const password = 'admin password 1234';
  await signIn(admin, createAdmin(password), password);
  const pageWidth = () => admin.evaluate(() => document.documentElement.scrollWidth);
  // What sticks out of the phone's width, or out of its own box, outside a table that
  // scrolls by itself: should be nothing.
  const overflowing = () =>
    admin.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => !el.classList.contains('table-scroll') && !el.parentElement?.closest('.table-scroll'))
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth || el.scrollWidth > el.clientWidth + 1)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} px wide in ${el.clientWidth}`),
    );

  // A week's charts need snapshots: two, as the five-minute job would leave them.
  sql(`INSERT INTO service_snapshots (at, users, workspaces, paying, mrr_cents, polls_last_hour,
                                      errors_last_hour, due, queued_jobs)
       VALUES (now() - interval '10 minutes', 3, 3, 1, 1200, 40, 2, 0, 1),
              (now() - interval '5 minutes', 4, 4, 1, 1200, 44, 1, 3, 0)
       ON CONFLICT (at) DO NOTHING`);
  await admin.goto(`/admin?q=${encodeURIComponent(email)}`);
  await expect(admin.getByRole('heading', { name: 'Admin console' })).toBeVisible();
  await expect(admin.getByTestId(`user-${email}`)).toBeVisible();
  // Four small charts, drawn by the wasm with the ECharts this site serves.
  for (const name of ['Accounts', 'Monthly revenue ($)', 'Polls per hour', 'Backlog']) {
    await expectDrawn(admin.getByRole('img', { name: `${name} over the last week` }));
  }
  expect(await overflowing()).toEqual([]);
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  // The row's buttons are reached by scrolling its table.
  const suspend = admin.getByRole('button', { name: `Suspend ${email}` });
  await suspend.scrollIntoViewIfNeeded();
  await expect(suspend).toBeInViewport();

  await admin.getByRole('link', { name: email }).click();
  await expect(admin.getByRole('heading', { level: 1 })).toContainText(email);
  await expect(admin.getByTestId('trackers')).toContainText('On a phone');
  expect(await overflowing()).toEqual([]);
  expect(await pageWidth()).toBeLessThanOrEqual(390);
  await admin.getByRole('button', { name: `Suspend ${email}` }).tap();
  await expect(admin.getByRole('status')).toContainText('Suspended');
  expect(errors).toEqual([]);
  await customerContext.close();
  await phone.close();
});
