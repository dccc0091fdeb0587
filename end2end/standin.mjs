// A stand-in for the GitHub, npm and Hacker News APIs on loopback, for the browser tests:
// answers shaped like the real `GET /repos/{owner}/{repo}` (and its star history),
// npm's `/downloads/point/…` and `/downloads/range/…` and `/v0/item/{id}.json`, plus a
// JSON API (`/api/package-stats.json`) and an HTML page (`/page.html`).
// Started by Playwright (playwright.config.ts); the server under test reaches it through
// UPCOUNT_GITHUB_API_URL and UPCOUNT_HACKERNEWS_API_URL (scripts/e2e-server.sh).
// It also runs the SMTP mailbox (mailbox.mjs) and answers two test-only paths:
// `GET /_mail?to=<address>` (the messages delivered there) and
// `POST /_control/github/{owner}/{repo}?stars=N` (what that repository reports next) and
// `POST /_control/youtube/{@handle}/publish?video=ID` (the channel publishes a video).
// YouTube (`/youtube/channels`, `/videos`, `/playlistItems`: any `@e2e-…` handle is a
// channel whose uploads start with one video) and Twitch (`/twitch_auth/oauth2/token`,
// `/twitch/users`, `/twitch/streams`: any `e2e…` login is live) answer as the Data API v3
// and Helix do.
import { createServer } from 'node:http';
import { mailFor, startMailbox } from './mailbox.mjs';

const port = Number(process.env.E2E_STANDIN_PORT ?? 3998);
startMailbox(Number(process.env.E2E_SMTP_PORT ?? 3997));

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

const DAY = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const today = () => Math.floor(Date.now() / DAY) * DAY;

// `GET /repos/{owner}/{repo}/stargazers/history` of `e2e/stars-history-…`: `total` weeks (40) newest first, 3 stars
// a day to today (the week's first day as a Unix time or an ISO date, as the API has sent both).
function starHistory(perPage, page, total = 40) {
  const now = today();
  const sunday = now - new Date(now).getUTCDay() * DAY;
  const weeks = [];
  for (let index = (page - 1) * perPage; index < Math.min(page * perPage, total); index += 1) {
    const start = sunday - index * 7 * DAY;
    const days = [0, 1, 2, 3, 4, 5, 6].map((offset) => (start + offset * DAY <= now ? 3 : 0));
    weeks.push({
      week: index % 2 === 0 ? start / 1000 : isoDay(start),
      total: days.reduce((sum, gain) => sum + gain, 0),
      days,
    });
  }
  return weeks;
}

// npm: every package exists, with 1,000 downloads a day over the last 400 days.
const npmFirstDay = () => today() - 400 * DAY;
function npmRange(name, start, end) {
  const downloads = [];
  for (let day = Date.parse(start); day <= Date.parse(end); day += DAY) {
    downloads.push({ downloads: day >= npmFirstDay() ? 1000 : 0, day: isoDay(day) });
  }
  return { start, end, package: name, downloads };
}
const npmPoint = { 'last-day': 1000, 'last-week': 7000, 'last-month': 30000 };

// A JSON API of the kind people track: package statistics.
const packageStats = {
  package: { name: 'left-pad', 'latest-version': '1.3.0' },
  downloads: { total: 123456789, 'last-week': 4321 },
  maintainers: [{ name: 'a', packages: 12 }],
  deprecated: false,
};

// YouTube: channels by handle, each with its uploads (newest first) and videos by id.
const channels = {};
const videos = {};
const youtubeKey = 'e2e-youtube-key';
let published = 0;
function channelOf(handle) {
  if (!channels[handle]) {
    const id = `UC${Buffer.from(handle).toString('hex').padEnd(22, '0').slice(0, 22)}`;
    channels[handle] = { id, handle, uploads: [] };
    // One video already there: 11 characters, as YouTube's ids.
    published += 1;
    publish(handle, `old${String(published).padStart(8, '0')}`);
  }
  return channels[handle];
}
function publish(handle, videoId) {
  const channel = channels[handle];
  const at = new Date().toISOString();
  videos[videoId] = {
    kind: 'youtube#video', etag: 'e2e', id: videoId,
    snippet: { publishedAt: at, channelId: channel.id, title: `Video ${videoId}`, channelTitle: `Channel ${handle}`, tags: [] },
    statistics: { viewCount: '1000', likeCount: '10', favoriteCount: '0', commentCount: '2' },
  };
  channel.uploads.unshift({
    kind: 'youtube#playlistItem', etag: 'e2e', id: `${channel.id}.${videoId}`,
    snippet: { publishedAt: at, channelId: channel.id, title: `Video ${videoId}`, playlistId: `UU${channel.id.slice(2)}`,
      position: 0, resourceId: { kind: 'youtube#video', videoId } },
    contentDetails: { videoId, videoPublishedAt: at },
  });
}
const list = (kind, items) => ({ kind: `youtube#${kind}ListResponse`, etag: 'e2e', pageInfo: { totalResults: items.length, resultsPerPage: items.length }, items });

// Twitch: every `e2e…` login is a live channel.
const twitchToken = 'e2e-twitch-token';
const twitchUser = (login) => ({ id: '141981764', login, display_name: login, type: '', broadcaster_type: 'partner',
  description: '', profile_image_url: '', offline_image_url: '', view_count: 100, created_at: '2016-12-14T20:32:28Z' });
const startedAt = new Date(Date.now() - 30 * 60_000).toISOString();
const twitchStream = (login) => ({ id: `stream-${login}`, user_id: '141981764', user_login: login, user_name: login,
  game_id: '743', game_name: 'Chess', type: 'live', title: 'Playing chess', tags: ['English', 'Chill'], viewer_count: 321,
  started_at: startedAt, language: 'en', thumbnail_url: '', tag_ids: [], is_mature: false });

createServer((request, response) => {
  const url = new URL(request.url, `http://127.0.0.1:${port}`);
  const send = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  };
  if (url.pathname === '/healthz') return send(200, { status: 'ok' });
  if (url.pathname === '/_mail' && request.method === 'GET') {
    return send(200, { messages: mailFor(url.searchParams.get('to') ?? '') });
  }
  const control = url.pathname.match(/^\/_control\/github\/([^/]+)\/([^/]+)$/);
  if (control && request.method === 'POST') {
    const stars = Number(url.searchParams.get('stars'));
    if (!Number.isInteger(stars) || stars < 0) return send(400, { message: 'stars must be a whole number' });
    const fullName = `${control[1]}/${control[2]}`.toLowerCase();
    repos[fullName] = repo(fullName, stars);
    return send(200, { full_name: fullName, stargazers_count: stars });
  }
  const published = url.pathname.match(/^\/_control\/youtube\/([^/]+)\/publish$/);
  if (published && request.method === 'POST') {
    const handle = decodeURIComponent(published[1]);
    if (!handle.startsWith('@e2e-')) return send(400, { message: 'the handle must start with @e2e-' });
    const video = url.searchParams.get('video') ?? '';
    if (!/^[A-Za-z0-9_-]{11}$/.test(video)) return send(400, { message: 'video must be 11 characters' });
    channelOf(handle);
    publish(handle, video);
    return send(200, { handle, video });
  }
  const youtube = url.pathname.match(/^\/youtube\/(channels|videos|playlistItems)$/);
  if (youtube) {
    if (url.searchParams.get('key') !== youtubeKey) {
      return send(400, { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', errors: [{ reason: 'badRequest' }] } });
    }
    if (youtube[1] === 'channels') {
      const handle = url.searchParams.get('forHandle');
      const byId = Object.values(channels).find((channel) => channel.id === url.searchParams.get('id'));
      const channel = handle?.startsWith('@e2e-') ? channelOf(handle) : byId;
      const items = channel ? [{ kind: 'youtube#channel', etag: 'e2e', id: channel.id,
        snippet: { title: `Channel ${channel.handle}`, customUrl: channel.handle, publishedAt: '2020-01-01T00:00:00Z' },
        statistics: { viewCount: '1000', subscriberCount: '100', hiddenSubscriberCount: false, videoCount: String(channel.uploads.length) },
        contentDetails: { relatedPlaylists: { likes: '', uploads: `UU${channel.id.slice(2)}` } } }] : [];
      return send(200, list('channel', items));
    }
    if (youtube[1] === 'videos') {
      const ids = (url.searchParams.get('id') ?? '').split(',');
      return send(200, list('video', ids.map((id) => videos[id]).filter(Boolean)));
    }
    const playlist = url.searchParams.get('playlistId') ?? '';
    const channel = Object.values(channels).find((candidate) => `UU${candidate.id.slice(2)}` === playlist);
    if (!channel) return send(404, { error: { code: 404, message: 'playlist not found', errors: [{ reason: 'playlistNotFound' }] } });
    return send(200, list('playlistItem', channel.uploads.slice(0, Number(url.searchParams.get('maxResults') ?? 5))));
  }
  if (url.pathname === '/twitch_auth/oauth2/token' && request.method === 'POST') {
    return send(200, { access_token: twitchToken, expires_in: 5011271, token_type: 'bearer' });
  }
  const helix = url.pathname.match(/^\/twitch\/(users|streams)$/);
  if (helix) {
    if (request.headers.authorization !== `Bearer ${twitchToken}`) return send(401, { error: 'Unauthorized', status: 401, message: 'Invalid OAuth token' });
    const logins = url.searchParams.getAll(helix[1] === 'users' ? 'login' : 'user_login').filter((login) => login.startsWith('e2e'));
    const make = helix[1] === 'users' ? twitchUser : twitchStream;
    return send(200, { data: logins.map(make), pagination: {} });
  }
  if (url.pathname === '/api/package-stats.json') return send(200, packageStats);
  if (url.pathname === '/page.html') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return response.end('<!doctype html><title>A page</title><p>Not an API.</p>');
  }
  const history = url.pathname.match(/^\/github\/repos\/([^/]+)\/([^/]+)\/stargazers\/history$/);
  if (history) {
    // Only `e2e/stars-history-…` keeps a history: other tests seed their own. `e2e/stars-slow-…` keeps 180
    // weeks, each page 2.5 s in coming, for a page to watch it load.
    const slow = history[2].startsWith('stars-slow');
    if (!history[2].startsWith('stars-history') && !slow) return send(200, []);
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 30);
    const weeks = starHistory(perPage, Number(url.searchParams.get('page') ?? 1), slow ? 180 : 40);
    if (slow) return setTimeout(() => send(200, weeks), 2_500);
    return send(200, weeks);
  }
  const point = url.pathname.match(/^\/npm\/downloads\/point\/(last-day|last-week|last-month)\/(.+)$/);
  if (point) {
    const name = decodeURIComponent(point[2]);
    const today = isoDay(Date.now() - DAY);
    return send(200, { downloads: npmPoint[point[1]], start: today, end: today, package: name });
  }
  const range = url.pathname.match(/^\/npm\/downloads\/range\/([0-9-]+):([0-9-]+)\/(.+)$/);
  if (range) return send(200, npmRange(decodeURIComponent(range[3]), range[1], range[2]));
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
