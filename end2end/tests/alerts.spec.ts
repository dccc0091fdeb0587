import { expect, test, type Page } from '@playwright/test';
import { addTracker, expectHydrated, mailTo, ownRepo, signUp, watchConsole } from './helpers';

// The stand-in (standin.mjs): its control of what a repository reports.
const standin = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;

/** Makes the stand-in report `stars` for the GitHub repository at `link` from now on. */
async function setStars(link: string, stars: number): Promise<void> {
  const [owner, repo] = new URL(link).pathname.slice(1).split('/');
  const response = await fetch(`${standin}/_control/github/${owner}/${repo}?stars=${stars}`, { method: 'POST' });
  expect(response.status).toBe(200);
}

async function confirmEmail(page: Page, email: string): Promise<void> {
  const mail = await mailTo(email, (subject) => subject === 'Confirm your email address for Upcount');
  const link = mail.text.match(/https?:\/\/\S+\/verify-email\?token=\S+/)?.[0];
  expect(link, mail.text).toBeTruthy();
  await page.goto(new URL(link!).pathname + new URL(link!).search);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await expect(page.getByRole('status')).toContainText('confirmed');
}

test('a rule made on the tracker page fires when the number crosses it, on the Alerts page and by email', async ({ page }) => {
  const errors = watchConsole(page);
  const email = await signUp(page);
  await confirmEmail(page, email);

  const repo = ownRepo('alerts');
  await page.goto('/dashboard');
  await expectHydrated(page.locator('form.add-tracker'));
  const tracker = await addTracker(page, repo, 'Alerting');

  // Where alerts go, from the tracker's page: the user's own address.
  await page.goto(`/trackers/${tracker}`);
  const channel = page.locator('form.new-channel');
  await channel.getByLabel('Kind').selectOption('email');
  await channel.getByLabel('Address or URL').fill(email);
  await channel.getByRole('button', { name: 'Add channel' }).click();
  await expect(page.getByRole('status')).toContainText(`Channel added: Email ${email}`);
  await expect(page).toHaveURL(new RegExp(`/trackers/${tracker}#alerts$`));

  // The rule, on the same page: stars above 5,500 (the repository has 5,000).
  const form = page.locator('form.new-alert');
  await form.getByLabel('Metric').selectOption('stars');
  await form.getByLabel('Condition').selectOption('above');
  await form.getByLabel('Value', { exact: true }).fill('5500');
  await form.getByLabel(email).check();
  await form.getByRole('button', { name: 'Add alert' }).click();
  await expect(page.getByRole('status')).toContainText('Alert added: stars above 5,500.');
  await expect(page.locator('li.alert-rule .alert-rule-text')).toHaveText('stars above 5,500');

  // The number crosses it; "Poll now" fetches it at once.
  await setStars(repo, 6000);
  await page.getByRole('button', { name: 'Poll now' }).click();
  await expect(page.getByRole('status')).toContainText('Polling now');

  // The event, with its delivery, on the Alerts page.
  await expect(async () => {
    await page.goto('/alerts');
    await expect(page.getByTestId('alert-events')).toContainText('Alerting', { timeout: 1_000 });
  }).toPass({ timeout: 45_000 });
  const row = page.getByTestId('alert-events').locator('tr', { hasText: 'Alerting' });
  await expect(row).toContainText('6,000');

  // And the message in the mailbox, linking to the chart.
  const alert = await mailTo(email, (subject) => subject.startsWith('Alerting'));
  expect(alert.text).toContain('6,000');
  expect(alert.text).toContain(`/trackers/${tracker}`);
  expect(alert.html).toContain('See the chart');
  expect(errors).toEqual([]);
});
