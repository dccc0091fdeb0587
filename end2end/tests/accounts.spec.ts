import { expect, test, type Page } from '@playwright/test';
import { watchConsole } from './helpers';

const password = 'correct horse battery';

function uniqueEmail(): string {
  return `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

async function signUp(page: Page, email: string) {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL('/dashboard');
}

test('sign up, sign out, sign in with a wrong then the right password', async ({ page, context }) => {
  const errors = watchConsole(page);
  const email = uniqueEmail();

  await page.goto('/');
  await page.getByRole('link', { name: 'Sign up' }).click();
  await expect(page).toHaveURL('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL('/dashboard');
  await expect(page.getByRole('heading', { name: 'Add your first tracker' })).toBeVisible();

  const cookie = (await context.cookies()).find((candidate) => candidate.name === 'upcount_session');
  expect(cookie, 'the session cookie').toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  expect(cookie!.sameSite).toBe('Lax');
  expect(cookie!.secure).toBe(false); // plain http here; Secure when UPCOUNT_PUBLIC_URL is https
  expect(cookie!.path).toBe('/');
  const days = (cookie!.expires * 1000 - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(29.9);
  expect(days).toBeLessThanOrEqual(30);
  // Scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain('upcount_session');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();

  // A signed-in page sends us to sign in, and back there afterwards.
  await page.goto('/account');
  await expect(page).toHaveURL('/sign-in?next=%2Faccount');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not my password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('That email and password do not match an account.');
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await expect(page.getByLabel('Password')).toHaveValue('');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL('/account');
  await expect(page.getByRole('heading', { name: 'Account', exact: true })).toBeVisible();

  expect(errors.filter((error) => !error.includes('status of'))).toEqual([]);
});

test('the account page creates an API token, shows it once, and revokes it', async ({ page, request }) => {
  const errors = watchConsole(page);
  await signUp(page, uniqueEmail());
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(page).toHaveURL('/account');
  await expect(page.getByTestId('api-docs-link')).toHaveAttribute('href', '/docs/api');

  await page.getByLabel('Token name').fill('Grafana');
  await page.getByLabel('Scope').selectOption('read');
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByTestId('new-token');
  await expect(shown).toHaveText(/^upc_[0-9A-Za-z]{43}$/);
  const token = (await shown.textContent())!.trim();
  const row = page.getByRole('row', { name: /Grafana/ });
  await expect(row).toContainText('read-only');
  await expect(row).toContainText(token.slice(0, 9));

  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).scope).toBe('read');
  const write = await request.patch('/api/v1/workspace', {
    headers: { Authorization: `Bearer ${token}` },
    data: { name: 'Renamed' },
  });
  expect(write.status()).toBe(403);

  // Shown once, in the answer to the form: the account page no longer has it.
  await page.goto('/account');
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await expect(page.getByRole('row', { name: /Grafana/ })).toContainText('read-only');

  await page.getByRole('button', { name: 'Revoke Grafana' }).click();
  await expect(page.getByRole('status')).toHaveText('Token revoked. It no longer works.');
  await expect(page.getByRole('row', { name: /Grafana/ })).toHaveCount(0);
  const revoked = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(revoked.status()).toBe(401);
  expect((await revoked.json()).error).toBe('Unknown or revoked API token.');

  expect(errors).toEqual([]);
});

test('signing up and in works without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByText('Use at least 10 characters.')).toBeVisible();

  await page.getByLabel('Email').fill(uniqueEmail());
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL('/dashboard');
  await expect(page.getByRole('heading', { name: 'Add your first tracker' })).toBeVisible();
  await context.close();
});

test('members get a 403 page at /admin', async ({ page }) => {
  await signUp(page, uniqueEmail());
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: "You don't have access to this page" })).toBeVisible();
});
