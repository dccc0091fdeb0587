import { expect, test } from '@playwright/test';

import { watchConsole } from './helpers';

// The Stripe stand-in's own key (`STANDIN_SECRET_KEY`): it refuses calls without it.
const KEY = 'sk_test_upcount_standin';

test('the Stripe stand-in sends customers back to the site only, never to a javascript: URL', async ({
  page,
  request,
  baseURL,
}) => {
  const errors = watchConsole(page);
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const headers = { Authorization: `Bearer ${KEY}` };

  // Without the key the API answers as Stripe does: 401.
  const anonymous = await request.post('/stripe-standin/v1/customers', { form: { email: 'x@example.com' } });
  expect(anonymous.status()).toBe(401);

  const created = await request.post('/stripe-standin/v1/customers', {
    headers,
    form: { email: 'return-url@example.com' },
  });
  expect(created.ok()).toBeTruthy();
  const customer = (await created.json()).id as string;

  // A portal whose "return" link would run script on the site's origin is refused.
  for (const returnUrl of ['javascript:alert(document.domain)', 'https://evil.example/billing']) {
    const refused = await request.post('/stripe-standin/v1/billing_portal/sessions', {
      headers,
      form: { customer, return_url: returnUrl },
    });
    expect(refused.status()).toBe(400);
    expect((await refused.json()).error.code).toBe('url_invalid');
  }

  // One on the site's own origin works, and its link comes back to the site.
  const portal = await request.post('/stripe-standin/v1/billing_portal/sessions', {
    headers,
    form: { customer, return_url: `${baseURL}/pricing` },
  });
  expect(portal.ok()).toBeTruthy();
  await page.goto((await portal.json()).url as string);
  await page.getByTestId('portal-return').click();
  await expect(page).toHaveURL(`${baseURL}/pricing`);
  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
});
