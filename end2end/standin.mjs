// A stand-in for the GitHub and Hacker News APIs on loopback, for the browser tests:
// answers shaped like the real `GET /repos/{owner}/{repo}` and `/v0/item/{id}.json`, plus
// a JSON API (`/api/package-stats.json`) and an HTML page (`/page.html`).
// Started by Playwright (playwright.config.ts); the server under test reaches it through
// UPCOUNT_GITHUB_API_URL and UPCOUNT_HACKERNEWS_API_URL (scripts/e2e-server.sh).
import { createServer } from 'node:http';

const port = Number(process.env.E2E_STANDIN_PORT ?? 3998);

function repo(fullName, stars) {
  const [owner, name] = fullName.split('/');
  return {
    id: 1296269,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name,
    full_name: fullName,
    private: false,
    owner: { login: owner, id: 1, type: 'Organization', site_admin: false },
    html_url: `https://github.com/${fullName}`,
    description: 'Build fast web applications with Rust.',
    fork: false,
    url: `https://api.github.com/repos/${fullName}`,
    language: 'Rust',
    forks_count: 700,
    stargazers_count: stars,
    watchers_count: stars,
    open_issues_count: 60,
    topics: ['rust', 'web', 'wasm'],
    visibility: 'public',
    created_at: '2022-07-22T17:14:52Z',
    updated_at: '2026-11-20T10:00:00Z',
    pushed_at: '2026-11-20T10:00:00Z',
    forks: 700,
    open_issues: 60,
    watchers: stars,
    subscribers_count: 120,
  };
}

const repos = {
  'leptos-rs/leptos': repo('leptos-rs/leptos', 19000),
  'tokio-rs/axum': repo('tokio-rs/axum', 21000),
};

// A JSON API of the kind people track: package statistics.
const packageStats = {
  package: { name: 'left-pad', 'latest-version': '1.3.0' },
  downloads: { total: 123456789, 'last-week': 4321 },
  maintainers: [{ name: 'a', packages: 12 }],
  deprecated: false,
};

createServer((request, response) => {
  const url = new URL(request.url, `http://127.0.0.1:${port}`);
  const send = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  };
  if (url.pathname === '/healthz') return send(200, { status: 'ok' });
  if (url.pathname === '/api/package-stats.json') return send(200, packageStats);
  if (url.pathname === '/page.html') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return response.end('<!doctype html><title>A page</title><p>Not an API.</p>');
  }
  const github = url.pathname.match(/^\/github\/repos\/([^/]+)\/([^/]+)$/);
  if (github) {
    const fullName = `${github[1]}/${github[2]}`.toLowerCase();
    // Any repository of the `e2e` owner exists, so a test can have a source of its own
    // (sources are shared between workspaces, and tests run in parallel).
    const found = repos[fullName] ?? (github[1] === 'e2e' ? repo(fullName, 5000) : undefined);
    return found
      ? send(200, found)
      : send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/repos/repos#get-a-repository', status: '404' });
  }
  const item = url.pathname.match(/^\/hn\/v0\/item\/(\d+)\.json$/);
  if (item) return send(200, null); // unknown ids are `null`
  send(404, { message: 'Not Found' });
}).listen(port, '127.0.0.1');
