import { defineConfig, devices } from '@playwright/test';

// The built `upcount serve` (scripts/e2e-server.sh) on a fresh database, driven through
// Debian's Chromium: Playwright's own browser downloads are not used.
const port = Number(process.env.E2E_PORT ?? 3999);
const baseURL = `http://127.0.0.1:${port}`;
// The upstream APIs' stand-in (standin.mjs).
const standinPort = Number(process.env.E2E_STANDIN_PORT ?? 3998);
// The stand-in's SMTP mailbox (mailbox.mjs), where the server sends its email.
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? 3997);

export default defineConfig({
  testDir: './tests',
  // Generous: this machine is shared, and a test that hangs still fails within a minute.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: [
    {
      command: 'node standin.mjs',
      url: `http://127.0.0.1:${standinPort}/healthz`,
      reuseExistingServer: false,
      env: { E2E_STANDIN_PORT: String(standinPort), E2E_SMTP_PORT: String(smtpPort) },
    },
    {
      command: 'bash ../scripts/e2e-server.sh',
      url: `${baseURL}/readyz`,
      reuseExistingServer: false,
      timeout: 120_000,
      // The server's logs; set E2E_SERVER_LOG=1 to see them.
      stdout: process.env.E2E_SERVER_LOG ? 'pipe' : 'ignore',
      stderr: 'pipe',
      env: { E2E_PORT: String(port), E2E_STANDIN_PORT: String(standinPort), E2E_SMTP_PORT: String(smtpPort) },
    },
  ],
});
