import { expect, test } from '@playwright/test';
import { addTracker, signUp, upcount, watchConsole } from './helpers';

const standin = `http://127.0.0.1:${process.env.E2E_STANDIN_PORT ?? 3998}`;

/** An id of 11 characters, as YouTube's video ids, no other test uses. */
function videoId(): string {
  return `v${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 11).padEnd(11, '0');
}

test('watch a YouTube channel: a video it publishes becomes a tracker', async ({ page, request }) => {
  const errors = watchConsole(page);
  const email = await signUp(page);
  // Watches come with a paid plan: Pro, as support's override sets it.
  upcount(['admin', 'set-plan', '--workspace', email, '--plan', 'pro']);
  const handle = `@e2e-${Date.now().toString(36)}`;

  await page.getByRole('link', { name: 'Watches', exact: true }).click();
  await expect(page).toHaveURL('/watches');
  await expect(page.getByText('No watches yet.')).toBeVisible();
  await page.getByLabel('Link').fill(`https://www.youtube.com/${handle}`);
  await page.getByLabel('Track each new one for (days)').fill('30');
  await page.getByRole('button', { name: 'Start watching' }).click();
  await expect(page.getByRole('status')).toContainText(`Watching Channel ${handle} (YouTube channel)`);
  await expect(page.getByRole('heading', { name: `Channel ${handle}`, level: 1 })).toBeVisible();
  // What the channel had already published is its starting point, not tracked.
  await expect(page.getByTestId('watch-history')).toContainText('there before the watch');
  await expect(page.getByText('None yet: what it publishes next appears here.')).toBeVisible();

  // The channel publishes a video; looking now makes it a tracker.
  const video = videoId();
  const published = await request.post(`${standin}/_control/youtube/${encodeURIComponent(handle)}/publish?video=${video}`);
  expect(published.status()).toBe(200);
  await page.getByRole('button', { name: 'Look now' }).click();
  await expect(page.getByRole('status')).toHaveText('Looked now: 1 new, now tracked.');
  const row = page.getByTestId('watch-trackers').getByRole('row', { name: new RegExp(`Video ${video}`) });
  await expect(row).toContainText('1,000 views');
  await row.getByRole('link', { name: `Video ${video}` }).click();
  await expect(page).toHaveURL(/\/trackers\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: `Video ${video}`, level: 1 })).toBeVisible();

  // The watch is listed with what it made.
  await page.getByRole('link', { name: 'Watches', exact: true }).click();
  const listed = page.getByTestId('watches').getByRole('row', { name: new RegExp(`Channel ${handle}`) });
  await expect(listed).toContainText('YouTube channel');
  await expect(listed.getByRole('cell').nth(1)).toHaveText('1');
  expect(errors).toEqual([]);
});

test("a Twitch channel's Streams tab shows its stream as a session", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page);
  const login = `e2e${Date.now()}`;
  const id = await addTracker(page, `https://www.twitch.tv/${login}`, 'Chess streamer');
  await page.goto(`/trackers/${id}`);
  await page.getByRole('navigation', { name: 'Tracker' }).getByRole('link', { name: 'Streams' }).click();
  await expect(page).toHaveURL(`/trackers/${id}/streams`);
  await expect(page.getByRole('heading', { name: 'Streams of Chess streamer', level: 1 })).toBeVisible();
  // Live now: one session, still running, with its game and tags.
  const sessions = page.getByTestId('stream-sessions');
  await expect(sessions).toContainText('Playing chess');
  await expect(sessions).toContainText('Chess');
  await expect(sessions).toContainText('live');
  await expect(page.getByTestId('top-tags')).toContainText('English');
  expect(errors).toEqual([]);
});
