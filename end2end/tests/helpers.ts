import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';

/** Collects console errors and uncaught exceptions of `page`. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url}, on ${page.url()})`);
  });
  page.on('pageerror', (error) => errors.push(`exception: ${error.message}`));
  return errors;
}

/**
 * Waits until the component behind `locator` has hydrated (it sets `data-hydrated`). The first
 * page of a run compiles the wasm: slow on a loaded two-core machine, hence the long wait.
 */
export async function expectHydrated(locator: Locator): Promise<void> {
  await expect(locator).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
}

/** Waits until the wasm has drawn the chart in `figure` (its ECharts canvas), as long as hydration may take. */
export async function expectDrawn(figure: Locator): Promise<void> {
  await expect(figure.locator('canvas')).toHaveCount(1, { timeout: 30_000 });
}

/** Signs up a new user and lands on the dashboard. */
export async function signUp(page: Page): Promise<string> {
  const email = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL('/dashboard');
  await expectHydrated(page.locator('form.add-tracker'));
  return email;
}

/** A GitHub repository link no other test uses (the stand-in knows every `e2e/…`). */
export function ownRepo(name: string): string {
  return `https://github.com/e2e/${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Adds a tracker through the dashboard's form and returns its id. */
export async function addTracker(page: Page, url: string, label: string): Promise<string> {
  await page.getByLabel('Link').fill(url);
  await page.getByLabel('Label (optional)').fill(label);
  await page.getByRole('button', { name: 'Track it' }).click();
  await expect(page.getByRole('status')).toContainText(`Now tracking ${label}.`);
  const href = await page.getByRole('link', { name: `Chart of ${label}` }).getAttribute('href');
  return href!.replace('/trackers/', '');
}

/** A new customer in a browser of their own, with a tracker of `repo` labelled `label`. */
export async function customerTracking(
  browser: Browser,
  repo: string,
  label: string,
): Promise<{ context: BrowserContext; page: Page; email: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = await signUp(page);
  await addTracker(page, repo, label);
  return { context, page, email };
}

/**
 * Gives a tracker's metric a history through `upcount admin import-samples` (the same
 * writer as polling, so the rollups are right): `days` days, one sample every
 * `stepMinutes`, from `start` growing by `perDay` a day.
 */
export function seedHistory(
  tracker: string,
  metric: string,
  { days, stepMinutes, start, perDay }: { days: number; stepMinutes: number; start: number; perDay: number },
): void {
  const statePath = join(__dirname, '..', '.e2e-state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { database_url: string; bin: string };
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const rows: string[] = ['time,value'];
  const steps = Math.floor((days * 24 * 60) / stepMinutes);
  for (let step = steps; step >= 1; step -= 1) {
    const t = now - step * stepMinutes * 60_000;
    const value = Math.round(start + ((steps - step) * stepMinutes * perDay) / 1440);
    rows.push(`${new Date(t).toISOString()},${value}`);
  }
  execFileSync(state.bin, ['admin', 'import-samples', '--tracker', tracker, '--metric', metric], {
    input: rows.join('\n'),
    env: { ...process.env, DATABASE_URL: state.database_url },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** Creates an administrator through `upcount admin create-user --admin`; returns its email. */
export function createAdmin(password: string): string {
  const statePath = join(__dirname, '..', '.e2e-state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { database_url: string; bin: string };
  const email = `admin-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  execFileSync(state.bin, ['admin', 'create-user', '--email', email, '--admin'], {
    input: password,
    env: { ...process.env, DATABASE_URL: state.database_url },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  return email;
}

/** Signs in with `email` and `password` and lands on the dashboard. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL('/dashboard');
}

/** Runs `upcount <args>` against the test server's database. */
export function upcount(args: string[]): void {
  const statePath = join(__dirname, '..', '.e2e-state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { database_url: string; bin: string };
  execFileSync(state.bin, args, {
    env: { ...process.env, DATABASE_URL: state.database_url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Runs one SQL statement on the test server's database and returns its rows, tab-separated. */
export function sql(statement: string): string {
  const statePath = join(__dirname, '..', '.e2e-state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { database_url: string; bin: string };
  return execFileSync('psql', [state.database_url, '-At', '-c', statement], { encoding: 'utf8' }).trim();
}

// The stand-in (standin.mjs) keeps every message the app sends in its SMTP mailbox.
const mailbox = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;

export type Mail = { subject: string; text: string; html: string };

/** Waits for a message to `address` whose subject `matches`, and returns it. */
export async function mailTo(address: string, matches: (subject: string) => boolean): Promise<Mail> {
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        const response = await fetch(`${mailbox}/_mail?to=${encodeURIComponent(address)}`);
        const { messages } = (await response.json()) as { messages: Mail[] };
        found = messages.find((message) => matches(message.subject));
        return found !== undefined;
      },
      { timeout: 30_000, message: `a message to ${address}` },
    )
    .toBe(true);
  return found!;
}
