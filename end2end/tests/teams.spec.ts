import { expect, test } from '@playwright/test';
import { addTracker, expectHydrated, mailTo, ownRepo, signUp, upcount, watchConsole } from './helpers';

test('an owner invites a colleague, who joins as a viewer, is promoted and adds a tracker the owner sees', async ({ browser, page }) => {
  const errors = watchConsole(page);
  const owner = await signUp(page);
  // Inviting needs room for a second person: Pro, as support's override sets it.
  upcount(['admin', 'set-plan', '--workspace', owner, '--plan', 'pro']);
  const repo = ownRepo('team');
  await addTracker(page, repo, 'Team repo');

  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page).toHaveURL('/members');
  const colleague = `colleague-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await page.getByLabel('Invite by email').fill(colleague);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByRole('status')).toHaveText(`Invitation sent to ${colleague}.`);
  await expect(page.getByTestId('invitation-row')).toContainText(colleague);

  // The colleague follows the emailed link and signs up through it.
  const mail = await mailTo(colleague, (subject) => subject.includes('invited you to'));
  const link = mail.text.match(/https?:\/\/\S+\/invitations\/[0-9a-f]{64}/)?.[0];
  expect(link).toBeTruthy();
  const theirs = await browser.newContext();
  const them = await theirs.newPage();
  const theirErrors = watchConsole(them);
  await them.goto(new URL(link!).pathname);
  await expect(them.getByTestId('invitation-summary')).toContainText(owner);
  await expect(them.getByLabel('Email')).toHaveValue(colleague);
  await them.getByLabel('Password').fill('correct horse battery');
  await them.getByRole('button', { name: 'Create account and join' }).click();
  await expect(them).toHaveURL('/dashboard');
  await expect(them.getByRole('status')).toContainText('you joined as a viewer');
  // A viewer sees the shared tracker and no form to add one.
  await expect(them.getByRole('link', { name: 'Chart of Team repo' })).toBeVisible();
  await expect(them.getByTestId('read-only-note')).toBeVisible();
  await expect(them.locator('form.add-tracker')).toHaveCount(0);

  // The owner promotes them to editor.
  await page.reload();
  const row = page.getByTestId('member-row').filter({ hasText: colleague });
  await expect(row.locator('.member-role')).toHaveText('Viewer');
  await row.getByLabel(`Role of ${colleague}`).selectOption('editor');
  await row.getByRole('button', { name: 'Change role' }).click();
  await expect(page.getByRole('status')).toHaveText(`${colleague} is now an editor.`);
  await expect(page.getByTestId('audit-trail')).toContainText(`changed ${colleague} from viewer to editor`);

  // Now they add a tracker, and the owner sees it, with who added it.
  await them.goto('/dashboard');
  await expectHydrated(them.locator('form.add-tracker'));
  await addTracker(them, ownRepo('colleague'), 'Colleague repo');
  await page.goto('/dashboard');
  const added = page.locator('tr', { hasText: 'Colleague repo' });
  await expect(added).toContainText(`Added by ${colleague}`);

  expect(errors).toEqual([]);
  expect(theirErrors).toEqual([]);
  await theirs.close();
});
