import { expect, test, type APIRequestContext } from '@playwright/test';

import { addTracker, ownRepo, signUp, watchConsole } from './helpers';

// The upstream stand-in (standin.mjs): it moves a repository's stars, and its SMTP
// server (mailbox.mjs) keeps the email the app sent.
const standin = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;

type Mail = { to: string[]; subject: string; text: string; html: string };

/** The messages sent to `to` once one matches `subject`: that one. */
async function mailTo(request: APIRequestContext, to: string, subject: RegExp): Promise<Mail> {
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        const answer = await request.get(`${standin}/_mail?to=${encodeURIComponent(to)}`);
        const { messages } = (await answer.json()) as { messages: Mail[] };
        found = messages.find((message) => subject.test(message.subject));
        return found !== undefined;
      },
      { message: `an email to ${to} matching ${subject}`, timeout: 30_000 },
    )
    .toBe(true);
  return found!;
}

test('an email alert made on the tracker page fires when the number crosses it, after "Poll now"', async ({
  page,
  request,
}) => {
  const errors = watchConsole(page);
  const email = await signUp(page);

  // The verification email arrived over SMTP; its link confirms the address in one click.
  const welcome = await mailTo(request, email, /Confirm your email address/);
  const confirm = welcome.text.match(/http:\/\/\S+\/verify-email\S*/)?.[0];
  expect(confirm, welcome.text).toBeTruthy();
  await page.goto(confirm!);
  await expect(page.getByRole('status')).toContainText('Your email address is confirmed');

  // A repository with 5,000 stars, tracked.
  const repo = ownRepo('alerts');
  const fullName = repo.replace('https://github.com/', '');
  await page.goto('/dashboard');
  await expect(page.locator('form.add-tracker')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  const tracker = await addTracker(page, repo, 'Alerting repo');

  // An email channel to one's own address, from the Alerts page.
  await page.goto('/alerts');
  await page.getByLabel('Kind').selectOption('email');
  await page.getByLabel('Address or URL').fill(email);
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page.getByRole('status')).toContainText(email);

  // A rule from the tracker page: stars above 5,500, to that channel.
  await page.goto(`/trackers/${tracker}`);
  const form = page.locator('form.new-alert');
  await form.getByLabel('Metric').selectOption('stars');
  await form.getByLabel('Condition').selectOption('above');
  await form.getByLabel('Value', { exact: true }).fill('5500');
  await form.getByLabel(email).check();
  await form.getByRole('button', { name: 'Add alert' }).click();
  await expect(page.getByRole('status')).toContainText('alert');
  const rule = page.locator('.alert-rule', { hasText: 'stars above 5,500' });
  await expect(rule).toBeVisible();

  // Upstream the number crosses it; "Poll now" fetches it.
  const moved = await request.post(`${standin}/_control/github/${fullName}?stars=6000`);
  expect(moved.ok()).toBeTruthy();
  await page.getByRole('button', { name: 'Poll now' }).click();
  await expect(page.getByRole('status')).toContainText(/poll/i);

  // The event on the Alerts page, with its email delivery…
  await expect
    .poll(
      async () => {
        await page.goto('/alerts');
        return page.getByTestId('alert-events').getByRole('row', { name: /Alerting repo/ }).count();
      },
      { message: 'the alert event', timeout: 30_000 },
    )
    .toBe(1);
  const event = page.getByTestId('alert-events').getByRole('row', { name: /Alerting repo/ });
  await expect(event).toContainText('above 5,500');
  await expect(event).toContainText(email);

  // …and the message in the mailbox, linking to the chart.
  const alert = await mailTo(request, email, /Alerting repo/);
  expect(alert.subject).toContain('5,500');
  expect(alert.text).toContain('6,000');
  expect(alert.text).toContain(`/trackers/${tracker}`);
  expect(alert.html).toContain('See the chart');
  expect(errors).toEqual([]);
});
